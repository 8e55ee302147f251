/**
 * Issue 7, delayed and scheduled messages (real processes, 3-node group): a message with a
 * delivery timestamp (official client) or a delay level / timestamp (our client) is stored at once,
 * replicated, and delivered at its time: never before, and soon after. Waiting messages survive a
 * `kill -9` of the leader and a restart of every node, and each is delivered into its topic once
 * (the timer row goes with the committed copy). Bad delivery times are refused with the statuses
 * the official clients expect.
 */
import { expect } from 'chai';
import type { MessageView } from 'rocketmq-client-nodejs';
import { Producer, PullConsumer } from '../lib/client/index.js';
import type { Closable } from './cluster-helpers.js';
import { adminCli, killLeaderAndRestart, outcomeCode, startCluster, startProducer, startSimpleConsumer, storedCount, waitFor } from './cluster-helpers.js';

type Cluster = Awaited<ReturnType<typeof startCluster>>;

/** When each body arrived, and the deliveries of each body. */
interface Arrivals {
  firstAtMs: Map<string, number>;
  deliveries: Map<string, number>;
}

describe('delayed messages: delivered at their time, never early, across failures (real processes)', function () {
  this.timeout(240_000);
  let cluster: Cluster;
  const owned: Closable[] = [];

  before(async () => {
    cluster = await startCluster({ nodes: 3, brokerOverrides: { defaultQueueCount: 2 } });
  });

  after(async () => {
    for (const closable of owned.splice(0)) await closable.shutdown().catch(() => undefined);
    await cluster?.dispose();
  });

  async function delayTopic(topic: string): Promise<void> {
    const created = await adminCli(cluster, 'updateTopic', '-t', topic, '-r', '2', '-w', '2', '-a', '+message.type=DELAY');
    expect(created.code, created.stderr).to.equal(0);
  }

  /** Receives with an official SimpleConsumer until `count` distinct bodies arrived. */
  async function receiveAll(group: string, topic: string, count: number, timeoutMs: number): Promise<Arrivals> {
    const consumer = await startSimpleConsumer(cluster, group, topic, owned);
    const arrivals: Arrivals = { firstAtMs: new Map(), deliveries: new Map() };
    await waitFor(`${count} delayed messages`, async () => {
      for (const message of await consumer.receive(32, 10_000).catch(() => [] as MessageView[])) {
        const body = message.body.toString();
        if (!arrivals.firstAtMs.has(body)) arrivals.firstAtMs.set(body, Date.now());
        arrivals.deliveries.set(body, (arrivals.deliveries.get(body) ?? 0) + 1);
        await consumer.ack(message).catch(() => undefined);
      }
      return arrivals.firstAtMs.size >= count || undefined;
    }, timeoutMs);
    return arrivals;
  }

  function checkOnTime(arrivals: Arrivals, dueAtMs: ReadonlyMap<string, number>, what: string): number[] {
    const lateness = [...dueAtMs].map(([body, due]) => {
      const at = arrivals.firstAtMs.get(body);
      expect(at, `${body} delivered`).to.not.equal(undefined);
      expect(at, `${body} not before its time`).to.be.at.least(due);
      return (at ?? 0) - due;
    }).sort((a, b) => a - b);
    console.log(`      ${what}: ${lateness.length} messages, lateness ms p50 ${lateness[Math.floor(lateness.length / 2)]} max ${lateness[lateness.length - 1]}`);
    return lateness;
  }

  it('official client: delivery timestamps 3-8 s ahead, the leader killed while they wait; none early, none lost, each stored once', async () => {
    const topic = 'DelayOfficial';
    await delayTopic(topic);
    const producer = await startProducer(cluster, topic, owned);
    const dueAtMs = new Map<string, number>();
    const start = Date.now();
    for (let i = 0; i < 40; i++) {
      const due = start + 3_000 + (i % 10) * 500;
      await producer.send({ topic, body: Buffer.from(`d${i}`), deliveryTimestamp: new Date(due) });
      dueAtMs.set(`d${i}`, due);
    }
    const consuming = receiveAll('delay-official', topic, dueAtMs.size, 60_000);
    // Kill the leader while every message still waits, then bring it back.
    await killLeaderAndRestart(cluster);
    const arrivals = await consuming;
    checkOnTime(arrivals, dueAtMs, 'official, leader killed');
    expect(await storedCount(cluster, topic)).to.equal(dueAtMs.size);
  });

  it('our client: delay level 1 and a delivery timestamp; every node restarted (kill -9) while they wait', async () => {
    const topic = 'DelayOurClient';
    await delayTopic(topic);
    const producer = new Producer({ nameServers: cluster.description.namesrv });
    owned.push({ shutdown: () => Promise.resolve(producer.shutdown()) });
    const dueAtMs = new Map<string, number>();
    for (let i = 0; i < 10; i++) {
      const sentAt = Date.now();
      await producer.sendBatch([{ topic, body: `level-${i}`, delayLevel: 1 }], 0); // 1 s
      dueAtMs.set(`level-${i}`, sentAt + 1_000 - 50); // the broker's clock starts the delay a little after sentAt
    }
    const due = Date.now() + 6_000;
    const batch = Array.from({ length: 10 }, (_, i) => ({ topic, body: `ts-${i}`, deliveryTimestampMs: due }));
    await producer.sendBatch(batch, 0);
    for (const message of batch) dueAtMs.set(message.body, due);
    // Every node killed and started again while the timestamped ones wait.
    for (const id of cluster.nodes.map((n) => n.id)) await cluster.stopNode(id, 'SIGKILL');
    for (const id of cluster.nodes.map((n) => n.id)) await cluster.startNode(id);
    const reader = new PullConsumer({ nameServers: cluster.description.namesrv, group: 'delay-our-reader', consumeFrom: 'FIRST_OFFSET' });
    owned.push(reader);
    await reader.assign(await reader.queuesOf(topic));
    const arrivals: Arrivals = { firstAtMs: new Map(), deliveries: new Map() };
    await waitFor('every delayed message', async () => {
      for (const message of await reader.poll(1_000)) {
        const body = message.body.toString();
        if (!arrivals.firstAtMs.has(body)) arrivals.firstAtMs.set(body, Date.now());
      }
      return arrivals.firstAtMs.size >= dueAtMs.size || undefined;
    }, 60_000);
    checkOnTime(arrivals, dueAtMs, 'our client, every node restarted');
    expect(await storedCount(cluster, topic)).to.equal(dueAtMs.size);
  });

  it('recalls waiting delayed messages (official client and ours): they are never delivered; a second recall is refused', async () => {
    const topic = 'DelayRecall';
    await delayTopic(topic);
    const official = await startProducer(cluster, topic, owned);
    const due = Date.now() + 4_000;
    const kept = await official.send({ topic, body: Buffer.from('kept'), deliveryTimestamp: new Date(due) });
    const recalledOfficial = await official.send({ topic, body: Buffer.from('recalled-official'), deliveryTimestamp: new Date(due) });
    expect(recalledOfficial.recallHandle).to.not.equal('');
    expect((await official.recallMessage(topic, recalledOfficial.recallHandle)).messageId).to.equal(recalledOfficial.messageId);
    const ours = new Producer({ nameServers: cluster.description.namesrv });
    owned.push({ shutdown: () => Promise.resolve(ours.shutdown()) });
    const [recalledOurs] = await ours.sendBatch([{ topic, body: 'recalled-ours', deliveryTimestampMs: due }], 0);
    expect(await ours.recallMessage(topic, recalledOurs.recallHandle ?? '')).to.equal(recalledOurs.messageId);
    expect(await outcomeCode(ours.recallMessage(topic, recalledOurs.recallHandle ?? ''))).to.equal('MESSAGE_NOT_FOUND');
    const arrivals = await receiveAll('delay-recall', topic, 1, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 2_000)); // a recalled one would come at the same time
    expect([...arrivals.firstAtMs.keys()]).to.deep.equal(['kept']);
    expect(await storedCount(cluster, topic)).to.equal(1);
    expect(kept.recallHandle).to.not.equal('');
  });

  it('refuses bad delivery times and delayed messages on a NORMAL topic', async () => {
    const producer = new Producer({ nameServers: cluster.description.namesrv });
    owned.push({ shutdown: () => Promise.resolve(producer.shutdown()) });
    await delayTopic('DelayRules');
    await adminCli(cluster, 'updateTopic', '-t', 'DelayRulesNormal');
    const fortyOneDays = Date.now() + 41 * 24 * 3_600_000;
    expect(await outcomeCode(producer.sendBatch([{ topic: 'DelayRules', body: 'x', deliveryTimestampMs: fortyOneDays }], 0))).to.equal('ILLEGAL_DELIVERY_TIME');
    expect(await outcomeCode(producer.sendBatch([{ topic: 'DelayRules', body: 'x', delayLevel: 99 }], 0))).to.equal('ILLEGAL_DELIVERY_TIME');
    expect(await outcomeCode(producer.sendBatch([{ topic: 'DelayRulesNormal', body: 'x', delayLevel: 2 }], 0))).to.equal('MESSAGE_PROPERTY_CONFLICT_WITH_TYPE');
    // A delivery time already past is stored at once.
    expect(await outcomeCode(producer.sendBatch([{ topic: 'DelayRules', body: 'past', deliveryTimestampMs: Date.now() - 1_000 }], 0))).to.equal('OK');
    expect(await storedCount(cluster, 'DelayRules')).to.equal(1);
  });
});
