/**
 * Issue 7, FIFO messages (real processes, 3-node group): a FIFO topic keeps each message group in
 * one queue in send order, and a FIFO (consume-orderly) group consumes each message group in order,
 * through the official client (SimpleConsumer, PushConsumer) and our client's orderly push mode,
 * across a `kill -9` of the leader. "In order" with at-least-once delivery: a message may come
 * again, but the first delivery of message n of a group never comes before the first delivery of
 * message n-1, and (pop consumers) not before message n-1 was acknowledged. A message that keeps failing holds its queue until it runs out of attempts, then
 * goes to the DLQ and its queue moves on.
 */
import { expect } from 'chai';
import { ConsumeResult, PushConsumer as OfficialPushConsumer } from 'rocketmq-client-nodejs';
import type { MessageView } from 'rocketmq-client-nodejs';
import { Producer, PushConsumer } from '../lib/client/index.js';
import type { ConsumeResult as OurConsumeResult } from '../lib/client/index.js';
import type { Closable } from './cluster-helpers.js';
import { adminCli, killLeaderAndRestart, outcomeCode, startCluster, startProducer, startSimpleConsumer, storedCount, waitFor } from './cluster-helpers.js';

type Cluster = Awaited<ReturnType<typeof startCluster>>;

const GROUPS = 6;
const PER_GROUP = 40;

/**
 * Records first deliveries per message group ("g<k>:<seq>" bodies) and every order violation: a
 * first delivery of seq n before the first delivery of seq n-1.
 */
class FifoChecker {
  private readonly next = new Map<string, number>();
  private readonly acked = new Map<string, Set<number>>();
  readonly violations: string[] = [];
  deliveries = 0;

  /**
   * A delivery. With `checkAcks`, the first delivery of seq n also requires every earlier message
   * of its group acknowledged (the broker's FIFO rule for pop consumers).
   */
  record(body: string, checkAcks = false): void {
    this.deliveries += 1;
    const [group, seqText] = body.split(':');
    const seq = Number(seqText);
    const expected = this.next.get(group) ?? 0;
    if (seq === expected) {
      this.next.set(group, expected + 1);
      const acked = this.acked.get(group) ?? new Set<number>();
      const unacked = Array.from({ length: seq }, (_, k) => k).filter((k) => !acked.has(k));
      if (checkAcks && unacked.length > 0) this.violations.push(`${group}: ${seq} delivered while ${unacked.slice(0, 3).join(', ')} unacked`);
    } else if (seq > expected) {
      this.violations.push(`${group}: got ${seq} before ${expected}`);
    }
    // seq < expected: a redelivery of a message already seen.
  }

  ack(body: string): void {
    const [group, seqText] = body.split(':');
    this.acked.set(group, (this.acked.get(group) ?? new Set<number>()).add(Number(seqText)));
  }

  /** Every group's messages first-delivered, or an order violation seen (the test then fails on it). */
  complete(groups: number, perGroup: number): boolean {
    if (this.violations.length > 0) return true;
    for (let g = 0; g < groups; g++) if ((this.next.get(`g${g}`) ?? 0) < perGroup) return false;
    return true;
  }

  summary(): string {
    return [...this.next.entries()].map(([g, n]) => `${g}=${n}`).join(' ');
  }
}

describe('FIFO messages: message groups consumed in order, across a leader kill (real processes)', function () {
  this.timeout(240_000);
  let cluster: Cluster;
  const owned: Closable[] = [];

  before(async () => {
    cluster = await startCluster({ nodes: 3, brokerOverrides: { defaultQueueCount: 4, minInvisibleMs: 500 } });
  });

  after(async () => {
    for (const closable of owned.splice(0)) await closable.shutdown().catch(() => undefined);
    await cluster?.dispose();
  });

  async function fifoTopicAndGroup(topic: string, group: string, retryMaxTimes = 16): Promise<void> {
    const created = await adminCli(cluster, 'updateTopic', '-t', topic, '-r', '4', '-w', '4', '-a', '+message.type=FIFO');
    expect(created.code, created.stderr).to.equal(0);
    expect(created.stdout).to.contain('message.type=FIFO');
    const orderly = await adminCli(cluster, 'updateSubGroup', '-g', group, '--consume-orderly', 'true', '-r', String(retryMaxTimes));
    expect(orderly.code, orderly.stderr).to.equal(0);
    expect(orderly.stdout).to.contain('consumeOrderly=true');
  }

  /** Sends every group's messages in order (one send at a time per group, groups in parallel); kills the leader halfway. */
  async function sendGroups(send: (group: string, seq: number) => Promise<void>, onHalfway: () => Promise<void>): Promise<void> {
    let sent = 0;
    const kill = { done: Promise.resolve() };
    await Promise.all(Array.from({ length: GROUPS }, async (_, g) => {
      for (let seq = 0; seq < PER_GROUP; seq++) {
        // A send that fails during the failover is retried: the group's order is the order of acknowledgements.
        await waitFor(`send g${g}:${seq}`, () => send(`g${g}`, seq).then(() => true, () => false), 30_000);
        sent += 1;
        if (sent === (GROUPS * PER_GROUP) / 2) kill.done = onHalfway();
      }
    }));
    await kill.done;
  }

  it('official Producer + SimpleConsumer: every group in order, all delivered, with failed deliveries and a kill -9 of the leader', async () => {
    const topic = 'FifoOfficialSimple';
    const group = 'fifo-official-simple';
    await fifoTopicAndGroup(topic, group);
    const producer = await startProducer(cluster, topic, owned);
    const consumer = await startSimpleConsumer(cluster, group, topic, owned);
    const checker = new FifoChecker();
    let stop = false;
    const failedOnce = new Set<string>();
    const consuming = (async () => {
      while (!stop) {
        const messages = await consumer.receive(16, 1_000).catch(() => [] as MessageView[]);
        for (const message of messages) {
          const body = message.body.toString();
          checker.record(body, true);
          // Every 7th message fails its first delivery (no ack): it comes back after 1 s, and its
          // group's next message must not be handed out meanwhile. The rest of the batch goes unacked too.
          if (Number(body.split(':')[1]) % 7 === 3 && !failedOnce.has(body)) {
            failedOnce.add(body);
            break;
          }
          // An ack whose answer was lost in the failover is repeated: an acked message answers OK again.
          for (let attempt = 0; attempt < 5; attempt++) {
            const acked = await consumer.ack(message).then(() => true, () => false);
            if (acked) {
              checker.ack(body);
              break;
            }
            await new Promise((resolve) => setTimeout(resolve, 300));
          }
        }
      }
    })();
    await sendGroups(async (g, seq) => {
      await producer.send({ topic, body: Buffer.from(`${g}:${seq}`), messageGroup: g });
    }, () => killLeaderAndRestart(cluster).then(() => undefined));
    await waitFor(`every group consumed (${checker.summary()})`, () => checker.complete(GROUPS, PER_GROUP), 120_000);
    stop = true;
    await consuming;
    console.log(`      ${checker.deliveries} deliveries of ${GROUPS * PER_GROUP} messages, ${failedOnce.size} failed once`);
    expect(checker.violations).to.deep.equal([]);
    expect(failedOnce.size).to.be.greaterThan(0);
  });

  it('official PushConsumer (FIFO settings from the group): every group in order after kill -9 of the leader', async () => {
    const topic = 'FifoOfficialPush';
    const group = 'fifo-official-push';
    await fifoTopicAndGroup(topic, group);
    const producer = await startProducer(cluster, topic, owned);
    const checker = new FifoChecker();
    const consumer = new OfficialPushConsumer({
      endpoints: cluster.description.accessPoint, namespace: '', consumerGroup: group, subscriptions: new Map([[topic, '*']]),
      messageListener: {
        consume(message: MessageView) {
          checker.record(message.body.toString());
          return Promise.resolve(ConsumeResult.SUCCESS);
        },
      },
    });
    await consumer.startup();
    owned.push(consumer);
    await sendGroups(async (g, seq) => {
      await producer.send({ topic, body: Buffer.from(`${g}:${seq}`), messageGroup: g });
    }, () => killLeaderAndRestart(cluster).then(() => undefined));
    await waitFor(`every group consumed (${checker.summary()})`, () => checker.complete(GROUPS, PER_GROUP), 120_000);
    console.log(`      ${checker.deliveries} deliveries of ${GROUPS * PER_GROUP} messages`);
    expect(checker.violations).to.deep.equal([]);
  });

  it('our Producer + orderly PushConsumer: every group in one queue and in order after kill -9 of the leader', async () => {
    const topic = 'FifoOurClient';
    const group = 'fifo-our-client';
    await fifoTopicAndGroup(topic, group);
    const producer = new Producer({ nameServers: cluster.description.namesrv });
    owned.push({ shutdown: () => Promise.resolve(producer.shutdown()) });
    const queueOfGroup = new Map<string, Set<number>>();
    const checker = new FifoChecker();
    const consumer = new PushConsumer({
      nameServers: cluster.description.namesrv, group, orderly: true, consumeFrom: 'FIRST_OFFSET',
      listener: (messages) => {
        for (const message of messages) checker.record(message.body.toString());
        return 'SUCCESS';
      },
    });
    await consumer.subscribe(topic).start();
    owned.push(consumer);
    await sendGroups(async (g, seq) => {
      const [result] = await producer.sendBatch([{ topic, body: `${g}:${seq}`, messageGroup: g }], 0);
      queueOfGroup.set(g, (queueOfGroup.get(g) ?? new Set()).add(result.queueId));
    }, () => killLeaderAndRestart(cluster).then(() => undefined));
    await waitFor(`every group consumed (${checker.summary()})`, () => checker.complete(GROUPS, PER_GROUP), 120_000);
    console.log(`      ${checker.deliveries} deliveries of ${GROUPS * PER_GROUP} messages`);
    expect(checker.violations).to.deep.equal([]);
    for (const [g, queues] of queueOfGroup) expect([...queues], `queues of ${g}`).to.have.length(1);
  });

  it('our orderly PushConsumer, two instances with rebalances: a message group is never consumed by two instances at once, and stays in order', async () => {
    const topic = 'FifoRebalance';
    const group = 'fifo-rebalance';
    await fifoTopicAndGroup(topic, group);
    const producer = new Producer({ nameServers: cluster.description.namesrv });
    owned.push({ shutdown: () => Promise.resolve(producer.shutdown()) });
    const checker = new FifoChecker();
    const running = new Map<string, string>();
    const overlaps: string[] = [];
    const instance = (name: string): PushConsumer => new PushConsumer({
      nameServers: cluster.description.namesrv, group, orderly: true, consumeFrom: 'FIRST_OFFSET', commitIntervalMs: 60_000,
      listener: async (messages): Promise<OurConsumeResult> => {
        const messageGroup = messages[0].body.toString().split(':')[0];
        const other = running.get(messageGroup);
        if (other !== undefined) overlaps.push(`${messageGroup} in ${name} while in ${other}`);
        running.set(messageGroup, name);
        await new Promise((resolve) => setTimeout(resolve, 20));
        for (const message of messages) checker.record(message.body.toString());
        running.delete(messageGroup);
        return 'SUCCESS';
      },
    }).subscribe(topic);
    const first = instance('A');
    await first.start();
    owned.push(first);
    const sending = (async () => {
      for (let seq = 0; seq < PER_GROUP; seq++) {
        for (let g = 0; g < GROUPS; g++) await producer.sendBatch([{ topic, body: `g${g}:${seq}`, messageGroup: `g${g}` }], 0);
      }
    })();
    await waitFor('A consuming', () => checker.deliveries > 20);
    const second = instance('B');
    await second.start(); // takes half of the queues from A
    owned.push(second);
    await waitFor('B consuming', () => checker.deliveries > 120, 60_000);
    await first.shutdown(); // B takes every queue
    await sending;
    await waitFor(`every group consumed (${checker.summary()})`, () => checker.complete(GROUPS, PER_GROUP), 120_000);
    console.log(`      ${checker.deliveries} deliveries of ${GROUPS * PER_GROUP} messages across two rebalances`);
    expect(overlaps).to.deep.equal([]);
    expect(checker.violations).to.deep.equal([]);
  });

  it('a message that keeps failing holds its queue until it runs out of attempts, then goes to the DLQ and the queue moves on', async () => {
    const topic = 'FifoPoison';
    const group = 'fifo-poison';
    await fifoTopicAndGroup(topic, group, 2); // 3 deliveries
    const producer = await startProducer(cluster, topic, owned);
    for (let seq = 0; seq < 3; seq++) await producer.send({ topic, body: Buffer.from(`g0:${seq}`), messageGroup: 'g0' });
    const consumer = await startSimpleConsumer(cluster, group, topic, owned);
    const seen: string[] = [];
    await waitFor('g0:1 after g0:0 ran out of attempts', async () => {
      for (const message of await consumer.receive(1, 1_000).catch(() => [] as MessageView[])) {
        const body = message.body.toString();
        seen.push(body);
        if (body !== 'g0:0') await consumer.ack(message);
        // g0:0 is never acked: it comes back after its 1 s invisible time.
      }
      return seen.includes('g0:2') || undefined;
    }, 60_000);
    expect(seen.slice(0, 4)).to.deep.equal(['g0:0', 'g0:0', 'g0:0', 'g0:1']);
    expect(await storedCount(cluster, `%DLQ%${group}`)).to.equal(1);
  });

  it('refuses a FIFO message on a NORMAL topic and a message without group on a FIFO topic (MESSAGE_PROPERTY_CONFLICT_WITH_TYPE)', async () => {
    const producer = new Producer({ nameServers: cluster.description.namesrv });
    owned.push({ shutdown: () => Promise.resolve(producer.shutdown()) });
    await adminCli(cluster, 'updateTopic', '-t', 'NormalOnly');
    expect(await outcomeCode(producer.sendBatch([{ topic: 'NormalOnly', body: 'x', messageGroup: 'g' }], 0))).to.equal('MESSAGE_PROPERTY_CONFLICT_WITH_TYPE');
    expect(await outcomeCode(producer.sendBatch([{ topic: 'FifoOurClient', body: 'x' }], 0))).to.equal('MESSAGE_PROPERTY_CONFLICT_WITH_TYPE');
    expect(await outcomeCode(producer.sendBatch([{ topic: 'NormalOnly', body: 'x' }], 0))).to.equal('OK');
  });
});
