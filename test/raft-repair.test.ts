/**
 * Acceptance (issue 3), real processes: a node whose data directory was deleted rejoins and ends
 * with a committed log byte-identical to the others'; consumer progress acknowledged before a
 * leader failover is not rolled back after it.
 */
import { expect } from 'chai';
import { rmSync } from 'node:fs';
import type { Producer } from 'rocketmq-client-nodejs';
import { raftStatus, startCluster, startProducer, startSimpleConsumer, waitFor } from './cluster-helpers.js';
import { committedDigest } from '../jepsen-like-tests/checker/divergence-checker.js';

type Cluster = Awaited<ReturnType<typeof startCluster>>;


describe('Raft group repair and consumer progress across failover', function () {
  this.timeout(300_000);
  let cluster: Cluster;
  const clients: Array<{ shutdown(): Promise<void> }> = [];

  before(async () => {
    // A low install threshold, so that the wiped node is rebuilt by installs (bulk streams).
    cluster = await startCluster({ nodes: 3, brokerOverrides: { installMinEntries: 64 } });
  });

  after(async () => {
    for (const client of clients.splice(0)) await client.shutdown().catch(() => undefined);
    await cluster?.dispose();
  });

  const producer = (topic: string): Promise<Producer> => startProducer(cluster, topic, clients);

  async function sendMany(p: Producer, topic: string, prefix: string, count: number, padBytes = 0): Promise<void> {
    const pad = 'x'.repeat(padBytes);
    for (let start = 0; start < count; start += 25) {
      await Promise.all(Array.from({ length: Math.min(25, count - start) }, (_, j) => p.send({ topic, tag: 't', body: Buffer.from(`${prefix}-${start + j}${pad}`) })));
    }
  }

  it('does not redeliver messages acknowledged more than a second before the leader was killed', async () => {
    const topic = 'ProgressTopic';
    const p = await producer(topic);
    await sendMany(p, topic, 'progress', 200);
    const consumer = await startSimpleConsumer(cluster, 'progress-group', topic, clients);
    const ackedBefore = new Set<string>();
    await waitFor('100 acknowledged', async () => {
      for (const message of await consumer.receive(16, 20_000)) {
        await consumer.ack(message);
        ackedBefore.add(message.body.toString());
      }
      return ackedBefore.size >= 100;
    }, 60_000);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const leader = await waitFor('a leader', () => cluster.leaderId().then((id) => id ?? undefined));
    await cluster.stopNode(leader, 'SIGKILL');
    await waitFor('a new leader', () => cluster.leaderId().then((id) => (id !== null && id !== leader ? id : undefined)));
    const redelivered: string[] = [];
    const after = new Set<string>();
    await waitFor('the rest of the messages', async () => {
      for (const message of await consumer.receive(16, 20_000)) {
        const body = message.body.toString();
        if (ackedBefore.has(body)) redelivered.push(body);
        after.add(body);
        await consumer.ack(message);
      }
      return ackedBefore.size + after.size >= 200 || redelivered.length > 0;
    }, 60_000);
    expect(redelivered, 'acknowledged before the failover, delivered again after it').to.deep.equal([]);
    await cluster.startNode(leader);
  });

  it('rebuilds a node whose data directory was deleted, ending byte-identical to the others', async () => {
    const topic = 'WipeTopic';
    const p = await producer(topic);
    await sendMany(p, topic, 'before-wipe', 300);
    const leader = await waitFor('a leader', () => cluster.leaderId().then((id) => id ?? undefined));
    const victim = cluster.nodes.find((node) => node.id !== leader)!;
    await cluster.stopNode(victim.id, 'SIGKILL');
    rmSync(victim.dataDir, { recursive: true, force: true });
    // 8 MiB while it is down: more than one append carries (4 MiB), so installs stream the rest.
    await sendMany(p, topic, 'while-wiped', 256, 32 * 1024);
    await cluster.startNode(victim.id);
    await sendMany(p, topic, 'after-wipe', 100);
    const target = (await raftStatus(cluster, leader)).commitIndex;
    await waitFor(`${victim.id} to catch up to ${target}`, async () => {
      const status = await raftStatus(cluster, victim.id);
      return status.commitIndex >= target && !status.catchingUp;
    }, 60_000);
    const rebuilt = await raftStatus(cluster, victim.id);
    console.log(`      ${victim.id} took ${rebuilt.installedEntriesReceived} of ${rebuilt.commitIndex} entries by install`);
    // The first append carries at most 4 MiB, about half of the 256 large entries: installs carry the rest.
    expect(rebuilt.installedEntriesReceived, 'entries the wiped node received by install').to.be.at.least(100);
    const commits = await Promise.all(cluster.nodes.map(async (node) => (await raftStatus(cluster, node.id)).commitIndex));
    const upTo = Math.min(...commits);
    expect(upTo).to.be.at.least(target);
    for (const client of clients.splice(0)) await client.shutdown().catch(() => undefined);
    for (const node of cluster.nodes) await cluster.stopNode(node.id, 'SIGTERM');
    const digests = await Promise.all(cluster.nodes.map((node) => committedDigest(node.dataDir, upTo)));
    console.log(`      committed log digests up to index ${upTo}: ${cluster.nodes.map((node, i) => `${node.id} ${digests[i].slice(0, 16)}`).join(', ')}`);
    expect(new Set(digests).size, 'committed logs differ').to.equal(1);
  });
});
