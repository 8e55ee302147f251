/**
 * Acceptance (issues 3 and 4), real processes: a node that finds a damaged record in its log (by a
 * read while it runs, or by the background scrub of cold records) cuts its log there, gives up leadership, takes no part in elections or commits until it has
 * refetched the rest from the new leader, and ends byte-identical to the others. Consumers get
 * every message, the damaged one included (from an intact copy).
 */
import { expect } from 'chai';
import { closeSync, openSync, readFileSync, readSync, readdirSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Producer } from 'rocketmq-client-nodejs';
import { raftStatus, startCluster, startProducer, startSimpleConsumer, waitFor } from './cluster-helpers.js';
import { committedDigest } from '../jepsen-like-tests/checker/divergence-checker.js';

type Cluster = Awaited<ReturnType<typeof startCluster>>;

/** Flips one byte in the middle of `marker` in the CommitLog files of `dataDir`; returns the file changed. */
function flipByteOf(dataDir: string, marker: string): string {
  const dir = join(dataDir, 'commitlog');
  for (const name of readdirSync(dir).sort()) {
    const file = join(dir, name);
    const at = readFileSync(file).indexOf(Buffer.from(marker));
    if (at < 0) continue;
    const fd = openSync(file, 'r+');
    try {
      const byte = Buffer.alloc(1);
      const position = at + Math.floor(marker.length / 2);
      readSync(fd, byte, 0, 1, position);
      byte[0] ^= 0xff;
      writeSync(fd, byte, 0, 1, position);
    } finally {
      closeSync(fd);
    }
    return file;
  }
  throw new Error(`"${marker}" is not in any CommitLog file of ${dataDir}`);
}

describe('Raft node with a record damaged at run time', function () {
  this.timeout(300_000);
  let cluster: Cluster;
  const clients: Array<{ shutdown(): Promise<void> }> = [];

  beforeEach(async () => {
    cluster = await startCluster({ nodes: 3 });
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) await client.shutdown().catch(() => undefined);
    await cluster?.dispose();
  });

  const producer = (topic: string): Promise<Producer> => startProducer(cluster, topic, clients);

  /** Sends `count` unique messages of about `bytes` bytes; returns their bodies. */
  async function sendMany(p: Producer, topic: string, prefix: string, count: number, bytes: number): Promise<string[]> {
    const sent: string[] = [];
    for (let start = 0; start < count; start += 25) {
      const bodies = Array.from({ length: Math.min(25, count - start) }, (_, j) => `${prefix}-${String(start + j).padStart(4, '0')}-${'p'.repeat(bytes)}`);
      await Promise.all(bodies.map((body) => p.send({ topic, tag: 't', body: Buffer.from(body) })));
      sent.push(...bodies);
    }
    return sent;
  }

  /** Consumes until every body of `sent` arrived (acknowledging all). */
  async function consumeAll(topic: string, group: string, sent: readonly string[]): Promise<void> {
    const consumer = await startSimpleConsumer(cluster, group, topic, clients);
    const received = new Set<string>();
    await waitFor('every message, the damaged one included', async () => {
      // A short invisible time: a pop whose answer was lost in the failover hides its messages until it ends.
      for (const message of await consumer.receive(32, 5_000).catch(() => [])) {
        received.add(message.body.toString());
        await consumer.ack(message).catch(() => undefined);
      }
      return received.size >= sent.length;
    }, 120_000);
    expect(sent.filter((body) => !received.has(body))).to.deep.equal([]);
  }

  /** Waits until `damaged` has repaired and caught up with a leader other than itself, then compares every node's committed log. */
  async function expectRepairedAndIdentical(damaged: string): Promise<void> {
    await waitFor(`${damaged} to find the damaged record and repair`, async () => (await raftStatus(cluster, damaged)).repairs >= 1, 30_000);
    await expectCaughtUpAndIdentical(damaged);
  }

  /** Waits until `damaged` has caught up with a leader other than itself, then compares every node's committed log. */
  async function expectCaughtUpAndIdentical(damaged: string): Promise<void> {
    const leader = await waitFor('a leader other than the damaged node', () => cluster.leaderId().then((id) => (id !== null && id !== damaged ? id : undefined)), 30_000);
    const target = (await raftStatus(cluster, leader)).commitIndex;
    await waitFor(`${damaged} to refetch its log up to ${target}`, async () => {
      const now = await raftStatus(cluster, damaged);
      expect(now.catchingUp && now.role === 'leader', 'the damaged node leads while its log is incomplete').to.equal(false);
      // The commit index a repair keeps may run ahead of the refetched log: wait for the log itself.
      // A repair counts itself before it cuts the log: until it is done the old log still shows.
      return now.commitIndex >= target && !now.repairing && !now.catchingUp && now.lastIndex >= target;
    }, 60_000);
    // Every node reaches the leader's commit index as it is now, and the logs are compared up to it.
    const upTo = (await raftStatus(cluster, leader)).commitIndex;
    await waitFor(`every node to commit and hold ${upTo}`, async () => {
      const statuses = await Promise.all(cluster.nodes.map((node) => raftStatus(cluster, node.id)));
      return Math.min(...statuses.map((status) => Math.min(status.commitIndex, status.lastIndex))) >= upTo;
    }, 60_000);
    for (const client of clients.splice(0)) await client.shutdown().catch(() => undefined);
    for (const node of cluster.nodes) await cluster.stopNode(node.id, 'SIGTERM');
    const digests = await Promise.all(cluster.nodes.map((node) => committedDigest(node.dataDir, upTo)));
    console.log(`      committed log digests up to index ${upTo}: ${cluster.nodes.map((node, i) => `${node.id} ${digests[i].slice(0, 16)}`).join(', ')}`);
    expect(new Set(digests).size, 'committed logs differ').to.equal(1);
  }

  it('found by a consumer read on the leader: refetches its log from the new leader and ends byte-identical', async () => {
    const topic = 'DamageTopic';
    const sent = await sendMany(await producer(topic), topic, 'damage', 200, 200);
    const damaged = await waitFor('a leader', () => cluster.leaderId().then((id) => id ?? undefined));
    const file = flipByteOf(cluster.nodes.find((node) => node.id === damaged)!.dataDir, sent[42]);
    console.log(`      flipped a byte of message 42 in ${damaged}'s ${file.split('/').pop()}`);
    await consumeAll(topic, 'damage-group', sent);
    await expectRepairedAndIdentical(damaged);
  });

  it('found by the leader reading entries for a lagging follower: the same repair', async () => {
    const topic = 'LagTopic';
    const p = await producer(topic);
    const sent = await sendMany(p, topic, 'before', 50, 200);
    const damaged = await waitFor('a leader', () => cluster.leaderId().then((id) => id ?? undefined));
    const lagging = cluster.nodes.find((node) => node.id !== damaged)!.id;
    await cluster.stopNode(lagging, 'SIGKILL');
    // More than the CommitLog's 16 MiB read cache, so the leader reads these from its files.
    sent.push(...await sendMany(p, topic, 'while-down', 600, 32 * 1024));
    flipByteOf(cluster.nodes.find((node) => node.id === damaged)!.dataDir, sent[60].slice(0, 40));
    await cluster.startNode(lagging);
    await expectRepairedAndIdentical(damaged);
  });

  // Regression for the jepsen-like matrix runs queue-disk-flip-bytes seed 254418439 and
  // order-disk-flip-bytes seed 270525322: bytes flipped in cold records of stopped nodes were
  // never read again (recovery starts at the checkpoint; consumers read the leader), so the
  // damage stayed and the committed logs diverged.
  it('found by the scrub in a cold record of a follower stopped cleanly: the same repair', async () => {
    await cluster.dispose();
    // Small segments: recovery scans only the last one, so the damaged record is in a cold segment.
    cluster = await startCluster({ nodes: 3, brokerOverrides: { segmentSizeBytes: 16 * 1024 } });
    const topic = 'ColdTopic';
    const sent = await sendMany(await producer(topic), topic, 'cold', 300, 200);
    const leader = await waitFor('a leader', () => cluster.leaderId().then((id) => id ?? undefined));
    const damaged = cluster.nodes.find((node) => node.id !== leader)!;
    await waitFor(`${damaged.id} to commit every message`, async () => (await raftStatus(cluster, damaged.id)).commitIndex >= (await raftStatus(cluster, leader)).commitIndex);
    // A clean stop writes a checkpoint at the log end: recovery at restart verifies nothing.
    await cluster.stopNode(damaged.id, 'SIGTERM');
    flipByteOf(damaged.dataDir, sent[17]);
    await cluster.startNode(damaged.id);
    const recovery = (await cluster.nodeStatus(damaged.id)).recovery as { corruptRecords: unknown[] };
    expect(recovery.corruptRecords, 'recovery did not see it').to.deep.equal([]);
    await expectRepairedAndIdentical(damaged.id);
  });

  // Regression for the jepsen-like matrix run order-disk-flip-bytes seed 403114313 (the node
  // stopped at replay on every start and the cluster could not heal).
  it('found by recovery after a crash, past the checkpoint, with intact records after it: cut before replay, refetched', async () => {
    await cluster.dispose();
    // No checkpoint while the test runs: at restart recovery scans, and replay must apply, every record.
    cluster = await startCluster({ nodes: 3, brokerOverrides: { dispatchCheckpointIntervalMs: 600_000 } });
    const topic = 'CrashTopic';
    const sent = await sendMany(await producer(topic), topic, 'crash', 300, 200);
    const leader = await waitFor('a leader', () => cluster.leaderId().then((id) => id ?? undefined));
    const damaged = cluster.nodes.find((node) => node.id !== leader)!;
    await waitFor(`${damaged.id} to commit every message`, async () => (await raftStatus(cluster, damaged.id)).commitIndex >= (await raftStatus(cluster, leader)).commitIndex);
    await cluster.stopNode(damaged.id, 'SIGKILL');
    flipByteOf(damaged.dataDir, sent[17]);
    // Before the fix the node stopped at replay (exit 70) on every start.
    await cluster.startNode(damaged.id);
    const recovery = (await cluster.nodeStatus(damaged.id)).recovery as { corruptRecords: unknown[] };
    expect(recovery.corruptRecords, 'recovery found the damaged record').to.have.length(1);
    await expectCaughtUpAndIdentical(damaged.id);
  });
});

