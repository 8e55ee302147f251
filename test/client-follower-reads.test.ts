/**
 * Issue 5 acceptance, real processes: a PushConsumer that starts 100,000 messages behind is moved
 * to a follower by the leader's suggestion, receives the same messages in the same order as a
 * consumer that reads only from the leader, and the nodes' metrics show the follower served them.
 */
import { expect } from 'chai';
import { Producer, PushConsumer } from '../lib/client/index.js';
import type { Message, ReceivedMessage } from '../lib/client/index.js';
import { pullServed } from '../lib/bench/node-metrics.js';
import type { ServedByRole } from '../lib/bench/node-metrics.js';
import { startCluster, waitFor } from './cluster-helpers.js';

type Cluster = Awaited<ReturnType<typeof startCluster>>;

const TOPIC = 'FollowerReadTopic';
const BACKLOG = 100_000;
const BATCH = 500;

describe('our client: follower reads for a consumer far behind (real processes)', function () {
  this.timeout(300_000);
  let cluster: Cluster;
  let producer: Producer;
  const consumers: PushConsumer[] = [];

  before(async () => {
    // A read more than 256 KiB behind the log end goes to a follower (default: 40% of memory).
    cluster = await startCluster({ nodes: 3, brokerOverrides: { followerReadLagBytes: 256 * 1024, defaultQueueCount: 2 } });
    producer = new Producer({ nameServers: cluster.description.namesrv });
  });

  after(async () => {
    for (const consumer of consumers.splice(0)) await consumer.shutdown().catch(() => undefined);
    producer?.shutdown();
    await cluster?.dispose();
  });

  /** `ledgermq_pull_messages_served_total` per node and role. */
  async function servedByNode(): Promise<Map<string, ServedByRole>> {
    const served = new Map<string, ServedByRole>();
    for (const node of cluster.nodes) served.set(node.id, await pullServed(node.http));
    return served;
  }

  /** Consumes the whole backlog in one group; returns, per queue, the bodies in delivery order. */
  async function consumeAll(group: string, followerReads: boolean): Promise<{ byQueue: Map<number, string[]>; consumer: PushConsumer }> {
    const byQueue = new Map<number, string[]>();
    let received = 0;
    const consumer = new PushConsumer({
      nameServers: cluster.description.namesrv,
      group,
      consumeFrom: 'FIRST_OFFSET',
      orderly: true,
      consumeBatchSize: 32,
      pullBatchSize: 256,
      pollTimeoutMs: 2_000,
      followerReads,
      listener: (messages: ReceivedMessage[]) => {
        for (const message of messages) {
          const list = byQueue.get(message.queueId) ?? [];
          byQueue.set(message.queueId, list);
          list.push(`${message.queueOffset}:${message.body.toString()}`);
        }
        received += messages.length;
        return 'SUCCESS';
      },
    }).subscribe(TOPIC);
    consumers.push(consumer);
    await consumer.start();
    await waitFor(`${group} to receive the backlog`, () => received >= BACKLOG || undefined, 180_000);
    return { byQueue, consumer };
  }

  it('moves a consumer 100,000 messages behind to a follower, with the same messages in the same order as from the leader', async () => {
    // The backlog, in batches (each batch lands on one queue, in order).
    const sentByQueue = new Map<number, string[]>();
    let next = 0;
    const senders = Array.from({ length: 4 }, async () => {
      while (next < BACKLOG) {
        const first = next;
        next += BATCH;
        const batch: Message[] = Array.from({ length: BATCH }, (_, i) => ({ topic: TOPIC, tag: 'fr', body: `m-${String(first + i).padStart(6, '0')}-${'x'.repeat(64)}` }));
        const results = await producer.sendBatch(batch);
        results.forEach((result, i) => {
          const list = sentByQueue.get(result.queueId) ?? [];
          sentByQueue.set(result.queueId, list);
          list[result.queueOffset] = `${result.queueOffset}:${batch[i].body as string}`;
        });
      }
    });
    await Promise.all(senders);
    expect([...sentByQueue.values()].reduce((sum, list) => sum + list.length, 0)).to.equal(BACKLOG);
    // Followers hold (and have applied) the whole backlog before the consumers start.
    await waitFor('followers to apply everything', async () => {
      const applied = await Promise.all(cluster.nodes.map(async (n) => (await cluster.nodeStatus(n.id)).appliedIndex as number));
      return Math.min(...applied) === Math.max(...applied);
    });
    const leaderId = (await cluster.leaderId())!;
    const leaderAddress = cluster.nodes.find((n) => n.id === leaderId)!.broker;

    const before = await servedByNode();
    const viaFollower = await consumeAll('fr-follower-group', true);
    const afterFollowerGroup = await servedByNode();
    const viaLeader = await consumeAll('fr-leader-group', false);
    const afterLeaderGroup = await servedByNode();

    // Same messages, in the same order per queue, from both consumers and as sent.
    for (const [queueId, sent] of sentByQueue) {
      expect(viaFollower.byQueue.get(queueId), `queue ${queueId} via follower`).to.deep.equal(sent);
      expect(viaLeader.byQueue.get(queueId), `queue ${queueId} via leader`).to.deep.equal(sent);
    }

    // The follower-reading consumer got most of the backlog from followers, by the client's count ...
    const fromFollowers = [...viaFollower.consumer.servedBy].filter(([source]) => source !== 'leader').reduce((sum, [, n]) => sum + n, 0);
    expect(fromFollowers, 'served by followers (client count)').to.be.above(BACKLOG * 0.9);
    for (const source of viaFollower.consumer.servedBy.keys()) expect(source).to.not.equal(leaderAddress);
    expect(viaLeader.consumer.servedBy.get('leader')).to.equal(BACKLOG);
    expect(viaLeader.consumer.servedBy.size).to.equal(1);

    // ... and by the nodes' own metrics: followers served the first group, the leader the second.
    const delta = (from: typeof before, to: typeof before, role: 'leader' | 'follower', nodes: string[]): number =>
      nodes.reduce((sum, id) => sum + to.get(id)![role] - from.get(id)![role], 0);
    const followerIds = cluster.nodes.map((n) => n.id).filter((id) => id !== leaderId);
    expect(delta(before, afterFollowerGroup, 'follower', followerIds), 'follower-served (metrics)').to.equal(fromFollowers);
    expect(delta(before, afterFollowerGroup, 'leader', [leaderId]), 'leader-served (metrics)').to.equal(BACKLOG - fromFollowers);
    expect(delta(afterFollowerGroup, afterLeaderGroup, 'leader', [leaderId])).to.equal(BACKLOG);
    expect(delta(afterFollowerGroup, afterLeaderGroup, 'follower', followerIds)).to.equal(0);
  });
});
