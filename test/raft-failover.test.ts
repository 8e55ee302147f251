/**
 * Acceptance (issue 3): a 3-node Raft group of real processes under the official client. The
 * leader is killed with SIGKILL five times while producers send steadily; the test measures, for
 * each kill, the gap from the kill to the first send that was started after the kill and
 * succeeded, and prints the gaps. Every acknowledged message must be delivered afterwards, and a
 * killed node rejoins and catches up.
 */
import { expect } from 'chai';
import { Producer } from 'rocketmq-client-nodejs';
import { expectAllDelivered, raftStatus, startCluster, waitFor } from './cluster-helpers.js';
import { median } from '../lib/bench/statistics.js';

type Cluster = Awaited<ReturnType<typeof startCluster>>;

const KILLS = 5;
const SENDERS = 4;



describe('Raft group failover with the official client', function () {
  this.timeout(300_000);
  let cluster: Cluster;
  const clients: Array<{ shutdown(): Promise<void> }> = [];

  before(async () => {
    cluster = await startCluster({ nodes: 3 });
  });

  after(async () => {
    for (const client of clients.splice(0)) await client.shutdown().catch(() => undefined);
    await cluster?.dispose();
  });

  it(`elects a new leader after each of ${KILLS} leader kills (median gap < 1 s), loses no acknowledged message, and the killed node catches up`, async () => {
    const topic = 'FailoverTopic';
    const producer = new Producer({ endpoints: cluster.description.accessPoint, namespace: '', topics: [topic] });
    await producer.startup();
    clients.push(producer);

    const acked = new Set<string>();
    /** Times (ms) at which each send started and succeeded. */
    const successes: Array<{ startedMs: number; ackedMs: number }> = [];
    let failures = 0;
    let stop = false;
    let sequence = 0;
    const senders = Array.from({ length: SENDERS }, async () => {
      while (!stop) {
        const body = `failover-${sequence++}`;
        const startedMs = Date.now();
        try {
          await producer.send({ topic, tag: 't', body: Buffer.from(body) });
          acked.add(body);
          successes.push({ startedMs, ackedMs: Date.now() });
        } catch {
          failures += 1;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    });

    const gaps: number[] = [];
    try {
      await waitFor('first acknowledgements', () => acked.size >= 50, 30_000);
      for (let round = 0; round < KILLS; round++) {
        const leader = await waitFor('a leader', () => cluster.leaderId().then((id) => id ?? undefined), 20_000);
        const killedAtMs = Date.now();
        await cluster.stopNode(leader, 'SIGKILL');
        const firstAfter = await waitFor('a successful send started after the kill', () => successes.find((s) => s.startedMs >= killedAtMs), 20_000);
        gaps.push(firstAfter.ackedMs - killedAtMs);
        const newLeader = await waitFor('a new leader', () => cluster.leaderId().then((id) => (id !== null && id !== leader ? id : undefined)), 20_000);
        expect(newLeader).to.not.equal(leader);
        await cluster.startNode(leader);
        // The restarted node catches up: its commit index reaches the leader's.
        const target = (await raftStatus(cluster, newLeader)).commitIndex;
        await waitFor(`node ${leader} to catch up to ${target}`, async () => (await raftStatus(cluster, leader)).commitIndex >= target, 20_000);
        await waitFor('more acknowledgements', () => successes.some((s) => s.startedMs > Date.now() - 200), 20_000);
      }
    } finally {
      stop = true;
      await Promise.all(senders);
    }
    console.log(`      failover gaps (kill -> first successful send started after it), ms: ${gaps.join(', ')}; median ${median(gaps)}; sends acked ${acked.size}, failed ${failures}`);
    expect(median(gaps)).to.be.below(1000);

    await expectAllDelivered(cluster, 'failover-check', topic, acked, clients);
  });
});
