/**
 * Issue 6, real processes: admin deleteTopic / updateSubGroup / deleteSubGroup. A deleted topic
 * loses its config, ConsumeQueue files and every group's progress on it, stays deleted across a
 * restart (the CommitLog is replayed), and starts again at offset 0 when created anew. Subscription
 * groups are created, updated and deleted on every broker group; unknown names exit 1.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Closable } from './cluster-helpers.js';
import { adminCli, startCluster, startProducer, startSimpleConsumer, waitFor } from './cluster-helpers.js';
import { ClientContext } from '../lib/client/client-context.js';
import { Producer } from '../lib/client/producer.js';
import { LedgerError } from '../lib/common/errors.js';

type Cluster = Awaited<ReturnType<typeof startCluster>>;

describe('admin deleteTopic, updateSubGroup, deleteSubGroup (real processes)', function () {
  this.timeout(180_000);
  let cluster: Cluster;
  const owned: Closable[] = [];

  before(async () => {
    cluster = await startCluster({ nodes: 1 });
  });

  after(async () => {
    for (const closable of owned.splice(0)) await closable.shutdown().catch(() => undefined);
    await cluster?.dispose();
  });

  async function json<T>(...args: string[]): Promise<T> {
    const result = await adminCli(cluster, ...args, '-o', 'json');
    expect(result.code, `${args.join(' ')}: ${result.stderr}`).to.equal(0);
    return JSON.parse(result.stdout) as T;
  }

  const topicNames = async (): Promise<string[]> => (await json<Array<{ topic: string }>>('topicList')).map((t) => t.topic);
  const maxOffsets = async (topic: string): Promise<number> => (await json<Array<{ maxOffset: number }>>('topicStatus', '-t', topic)).reduce((sum, q) => sum + q.maxOffset, 0);

  it('deletes a topic with its queues and progress; it stays deleted after a restart and starts afresh when created again', async () => {
    const topic = 'DoomedTopic';
    expect((await adminCli(cluster, 'updateTopic', '-t', topic, '-r', '2', '-w', '2')).code).to.equal(0);
    const producer = await startProducer(cluster, topic, owned);
    for (let i = 0; i < 10; i++) await producer.send({ topic, tag: 't', body: Buffer.from(`doomed-${i}`) });
    const consumer = await startSimpleConsumer(cluster, 'doomed-group', topic, owned);
    let acked = 0;
    await waitFor('five acknowledged', async () => {
      for (const message of await consumer.receive(5 - acked, 2_000)) {
        await consumer.ack(message);
        acked += 1;
      }
      return acked >= 5;
    });
    const before = await json<Array<{ offset: number; lag: number }>>('consumerProgress', '-g', 'doomed-group', '-t', topic);
    expect(before.reduce((sum, q) => sum + q.lag, 0)).to.be.lessThan(10);
    const queueDir = join(cluster.nodes[0].dataDir, 'consumequeue', topic);
    expect(existsSync(queueDir)).to.equal(true);

    const deleted = await adminCli(cluster, 'deleteTopic', '-t', topic);
    expect(deleted.code, deleted.stderr).to.equal(0);
    expect(deleted.stdout).to.match(/broker-a: topic DoomedTopic deleted/);
    await waitFor('the topic gone from topicList', async () => !(await topicNames()).includes(topic));
    await waitFor('its ConsumeQueue files removed', () => !existsSync(queueDir));
    const again = await adminCli(cluster, 'deleteTopic', '-t', topic);
    expect(again.code).to.equal(1);
    expect(again.stderr).to.match(/TOPIC_NOT_FOUND: topic DoomedTopic does not exist/);

    // The restart replays the CommitLog from the checkpoints: the topic's messages are there, the delete after them too.
    await cluster.stopNode(cluster.nodes[0].id, 'SIGKILL');
    await cluster.startNode(cluster.nodes[0].id);
    expect(await topicNames()).to.not.include(topic);
    expect(existsSync(queueDir)).to.equal(false);

    expect((await adminCli(cluster, 'updateTopic', '-t', topic, '-r', '2', '-w', '2')).code).to.equal(0);
    expect(await maxOffsets(topic)).to.equal(0);
    for (let i = 0; i < 3; i++) await producer.send({ topic, tag: 't', body: Buffer.from(`reborn-${i}`) });
    expect(await maxOffsets(topic)).to.equal(3);
    // The group's old progress went with the topic: it starts again (lag = all three new messages).
    const after = await json<Array<{ offset: number; lag: number }>>('consumerProgress', '-g', 'doomed-group', '-t', topic);
    expect(after.every((q) => q.offset <= 0)).to.equal(true);
  });

  it('queryMsgByOffset shows the message stored at a queue offset, and NOT_FOUND past the end', async () => {
    const topic = 'QueriedTopic';
    expect((await adminCli(cluster, 'updateTopic', '-t', topic, '-r', '1', '-w', '1')).code).to.equal(0);
    const producer = await startProducer(cluster, topic, owned);
    await producer.send({ topic, tag: 'invoice', keys: ['order-42'], body: Buffer.from('hello from the query test') });
    const table = await adminCli(cluster, 'queryMsgByOffset', '-t', topic, '-b', 'broker-a', '-i', '0', '--offset', '0');
    expect(table.code, table.stderr).to.equal(0);
    expect(table.stdout).to.match(/tag\s+invoice/).and.to.match(/keys\s+order-42/).and.to.match(/body\s+hello from the query test/);
    const shown = await json<{ body: string; queueOffset: number }>('queryMsgByOffset', '-t', topic, '-b', 'broker-a', '-i', '0', '--offset', '0');
    expect(Buffer.from(shown.body, 'base64').toString()).to.equal('hello from the query test');
    const missing = await adminCli(cluster, 'queryMsgByOffset', '-t', topic, '-b', 'broker-a', '-i', '0', '--offset', '5');
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.match(/NOT_FOUND: no message at QueriedTopic broker-a\/0 offset 5 \(queue holds 0\.\.0\)/);
  });

  it('creates, updates and deletes a subscription group', async () => {
    const created = await adminCli(cluster, 'updateSubGroup', '-g', 'billing', '-r', '3');
    expect(created.code, created.stderr).to.equal(0);
    expect(created.stdout).to.match(/broker-a: group billing retryMaxTimes=3/);
    const otherCluster = await adminCli(cluster, 'updateSubGroup', '-g', 'billing', '-c', 'OtherCluster');
    expect(otherCluster.code).to.equal(1);
    expect(otherCluster.stderr).to.match(/no broker group of cluster OtherCluster/);
    expect((await adminCli(cluster, 'updateSubGroup', '-g', 'billing', '-c', 'DefaultCluster', '-r', '3')).code).to.equal(0);
    const kept = await adminCli(cluster, 'updateSubGroup', '-g', 'billing');
    expect(kept.stdout, 'an update without -r keeps the value').to.match(/retryMaxTimes=3/);
    const bad = await adminCli(cluster, 'updateSubGroup', '-g', 'bad group');
    expect(bad.code).to.equal(1);
    expect(bad.stderr).to.match(/broker-a: [A-Z_]+: /);
    const deleted = await adminCli(cluster, 'deleteSubGroup', '-g', 'billing');
    expect(deleted.code, deleted.stderr).to.equal(0);
    const missing = await adminCli(cluster, 'deleteSubGroup', '-g', 'billing');
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.match(/CONSUMER_GROUP_NOT_FOUND: consumer group billing does not exist/);
  });
});

describe('deleteTopic while sends are in flight (real processes, no auto-creation)', function () {
  this.timeout(120_000);
  let cluster: Cluster;

  before(async () => {
    cluster = await startCluster({ nodes: 1, autoCreate: false });
  });

  after(async () => {
    await cluster?.dispose();
  });

  it('drops sends that commit after the delete: a topic created again starts at offset 0', async () => {
    const topic = 'RacedTopic';
    const nameServers = cluster.description.namesrv;
    expect((await adminCli(cluster, 'updateTopic', '-t', topic, '-r', '2', '-w', '2')).code).to.equal(0);
    const producer = new Producer({ nameServers, retries: 0 });
    const admin = new ClientContext({ nameServers });
    const outcomes = { acked: 0, deletedInFlight: 0, notFound: 0, other: [] as string[] };
    let stop = false;
    try {
      const senders = Array.from({ length: 16 }, async () => {
        while (!stop) {
          try {
            await producer.send({ topic, body: 'raced' });
            outcomes.acked += 1;
          } catch (error) {
            const message = error instanceof Error ? error.message : String(error);
            if (/deleted while the send was in flight/.test(message)) outcomes.deletedInFlight += 1;
            else if (error instanceof LedgerError && error.code === 'TOPIC_NOT_FOUND') outcomes.notFound += 1;
            else outcomes.other.push(message);
          }
        }
      });
      await waitFor('sends flowing', () => outcomes.acked >= 200);
      await admin.gateway.deleteTopic('broker-a', { name: topic }, 5_000);
      await new Promise((resolve) => setTimeout(resolve, 300));
      stop = true;
      await Promise.all(senders);
    } finally {
      producer.shutdown();
      admin.close();
    }
    console.log(`      sends: ${outcomes.acked} acknowledged, ${outcomes.deletedInFlight} committed after the delete (dropped), ${outcomes.notFound} refused after it`);
    expect(outcomes.other).to.deep.equal([]);
    expect(outcomes.notFound + outcomes.deletedInFlight).to.be.greaterThan(0);
    expect((await adminCli(cluster, 'updateTopic', '-t', topic, '-r', '2', '-w', '2')).code).to.equal(0);
    const status = JSON.parse((await adminCli(cluster, 'topicStatus', '-t', topic, '-o', 'json')).stdout) as Array<{ maxOffset: number }>;
    expect(status.map((q) => q.maxOffset)).to.deep.equal([0, 0]);
    // A restart replays the log (the late sends included) and decides the same way.
    await cluster.stopNode(cluster.nodes[0].id, 'SIGKILL');
    await cluster.startNode(cluster.nodes[0].id);
    const replayed = JSON.parse((await adminCli(cluster, 'topicStatus', '-t', topic, '-o', 'json')).stdout) as Array<{ maxOffset: number }>;
    expect(replayed.map((q) => q.maxOffset)).to.deep.equal([0, 0]);
  });
});
