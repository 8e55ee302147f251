/**
 * Disk-full watermarks against real processes (issue 8, deliverable 6): a 3-node group whose data
 * dirs live on a 64 MiB tmpfs of their own. A ballast file pushes free space under the producers'
 * watermark: sends are refused with DISK_FULL (our client) / INTERNAL_SERVER_ERROR "DISK_FULL: ..."
 * (official client through the Proxy) while pops, acks and pulls of stored messages go on; under
 * the critical watermark every write is refused and pulls still work; with the ballast gone sends
 * resume, and every acknowledged message reads back byte for byte.
 *
 * Needs root (it mounts a tmpfs). It fails, rather than skips, when not root: CI runs as root.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmdirSync, statfsSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Producer as OfficialProducer } from 'rocketmq-client-nodejs';
import { Producer, PullConsumer } from '../lib/client/index.js';
import { silentLogger } from '../lib/common/logger.js';
import { CommitLog } from '../lib/store/commit-log.js';
import { FatalStoreError } from '../lib/store/fatal-store-error.js';
import { EntryType } from '../lib/store/record-format.js';
import type { LocalCluster } from '../lib/cluster/local-cluster.js';
import { outcomeCode, startCluster, startProducer, startSimpleConsumer, waitFor } from './cluster-helpers.js';
import type { Closable } from './cluster-helpers.js';

const run = promisify(execFile);
const MIB = 1024 * 1024;
const TOPIC = 'DiskTopic';
const BODY_BYTES = 4096;

/** A body that names itself and fills the rest with a pattern derived from its name, so a cut or mixed body cannot match. */
function bodyOf(name: string): string {
  const pattern = `${name}|`.repeat(Math.ceil(BODY_BYTES / (name.length + 1)));
  return `${name}:${pattern}`.slice(0, BODY_BYTES);
}

describe('disk-full watermarks (real processes, tmpfs data dirs)', function () {
  this.timeout(300_000);
  let mountPoint = '';
  let mounted = false;
  let cluster: (LocalCluster & { dispose: () => Promise<void> }) | null = null;
  const owned: Closable[] = [];
  const ours: Array<Producer | PullConsumer> = [];
  const acked = new Set<string>();
  const ballast = (): string => join(mountPoint, 'ballast');

  const freeBytes = (): number => {
    const stats = statfsSync(mountPoint);
    return stats.bavail * stats.bsize;
  };
  /** Grows or shrinks the ballast so that about `targetFree` bytes stay free. */
  const fillTo = (targetFree: number, current: number): number => {
    const size = Math.max(0, current + freeBytes() - targetFree);
    writeFileSync(ballast(), Buffer.alloc(size, 0x5a));
    return size;
  };
  const levels = async (): Promise<string[]> => Promise.all(cluster!.description.groups[0].nodes.map(async (node) => {
    const status = await cluster!.nodeStatus(node.id);
    return (status.disk as { level: string }).level;
  }));
  const nodesAlive = (): boolean => cluster!.description.groups[0].nodes.every((node) => {
    try {
      return node.pid !== null && process.kill(node.pid, 0);
    } catch {
      return false;
    }
  });

  before(async () => {
    if (process.getuid?.() !== 0) {
      throw new Error('test/disk-full.test.ts needs root: it mounts a size-limited tmpfs (mount -t tmpfs -o size=64m) as the nodes\' data dirs; CI runs as root');
    }
    mountPoint = mkdtempSync(join(tmpdir(), 'ledgermq-diskfull-'));
    await run('mount', ['-t', 'tmpfs', '-o', 'size=64m', 'tmpfs', mountPoint]);
    mounted = true;
    // On a 64 MiB filesystem the byte floors decide: producers refused under 12 MiB free, back
    // at 16 MiB; every write refused under 4 MiB, back at 8 MiB.
    cluster = await startCluster({
      nodes: 3,
      dataRoot: mountPoint,
      brokerOverrides: {
        defaultQueueCount: 2, segmentSizeBytes: 4 * MIB, diskCheckIntervalMs: 200,
        diskMinFreeBytes: 12 * MIB, diskResumeFreeBytes: 16 * MIB, diskCriticalFreeBytes: 4 * MIB,
      },
    });
  });

  after(async () => {
    try {
      // A client that fails to shut down must not keep the cluster running or the filesystem mounted.
      for (const client of [...owned, ...ours]) await Promise.resolve().then(() => client.shutdown()).catch(() => undefined);
      await cluster?.dispose();
    } finally {
      // The nodes are stopped; a lazy unmount is the fallback if something still holds the mount.
      if (mounted) await run('umount', [mountPoint]).catch(() => run('umount', ['-l', mountPoint]));
      if (mountPoint) rmdirSync(mountPoint);
    }
  });

  it('refuses sends under the watermarks while reads go on, resumes when space returns, and serves every acknowledged message intact', async () => {
    const c = cluster!;
    const producer = new Producer({ nameServers: c.description.namesrv, retries: 1 });
    ours.push(producer);
    const official: OfficialProducer = await startProducer(c, TOPIC, owned);
    const sendOurs = async (name: string): Promise<void> => {
      await producer.send({ topic: TOPIC, body: bodyOf(name) });
      acked.add(bodyOf(name));
    };
    const sendOfficial = async (name: string): Promise<void> => {
      await official.send({ topic: TOPIC, body: Buffer.from(bodyOf(name)) });
      acked.add(bodyOf(name));
    };
    for (let i = 0; i < 40; i++) await sendOurs(`ours-before-${i}`);
    for (let i = 0; i < 20; i++) await sendOfficial(`official-before-${i}`);
    console.log(`    free after 60 sends: ${(freeBytes() / MIB).toFixed(1)} MiB of 64`);

    // Under the producers' watermark (12 MiB), above the critical one (4 MiB, left at 8 MiB).
    const ballastBytes = fillTo(10 * MIB, 0);
    await waitFor('every node to refuse producers', async () => (await levels()).every((level) => level === 'producers-refused'), 10_000);
    const refusedAtMs = Date.now();
    expect(await outcomeCode(sendOurs('ours-refused'))).to.equal('DISK_FULL');
    const ourRefusalMs = Date.now() - refusedAtMs;
    const officialError = await sendOfficial('official-refused').then(() => null, (error: unknown) => error as { code?: number; message?: string });
    expect(officialError, 'the official producer is refused').to.not.equal(null);
    expect(officialError!.code).to.equal(50001);
    expect(String(officialError!.message)).to.match(/DISK_FULL/);

    // Pop + ack (small internal writes) still work for the official consumer.
    const consumer = await startSimpleConsumer(c, 'disk-pop-group', TOPIC, owned);
    const popped = new Set<string>();
    await waitFor('pops of the stored messages', async () => {
      for (const message of await consumer.receive(32, 5_000)) {
        popped.add(message.body.toString());
        await consumer.ack(message);
      }
      return popped.size >= acked.size;
    }, 60_000);
    expect([...popped].every((body) => acked.has(body))).to.equal(true);
    expect(nodesAlive(), 'every node is still running').to.equal(true);

    const leader = await waitFor('a leader', () => c.leaderId().then((id) => id ?? undefined));
    const leaderHttp = c.description.groups[0].nodes.find((node) => node.id === leader)!.http;
    const metrics = await (await fetch(`http://${leaderHttp}/metrics`)).text();
    expect(metrics).to.match(/^ledgermq_disk_writes_refused\{[^}]*\} 1$/m);
    const refusedCount = Number(/^ledgermq_disk_refused_writes_total\{[^}]*kind="producer"[^}]*\} (\d+)$/m.exec(metrics)?.[1] ?? 0);
    expect(refusedCount).to.be.at.least(2);

    // Under the critical watermark: every write refused; pulls of stored messages go on.
    fillTo(2 * MIB, ballastBytes);
    await waitFor('every node to refuse every write', async () => (await levels()).every((level) => level === 'critical'), 10_000);
    expect(await outcomeCode(sendOurs('ours-critical'))).to.equal('DISK_FULL');
    const puller = new PullConsumer({ nameServers: c.description.namesrv, group: 'disk-pull-group', consumeFrom: 'FIRST_OFFSET', autoCommit: false, pollTimeoutMs: 1_000 });
    ours.push(puller);
    await puller.assign(await puller.queuesOf(TOPIC));
    const pulled = new Set<string>();
    await waitFor('pulls of every stored message', async () => {
      for (const message of await puller.poll(1_000)) pulled.add(message.body.toString());
      return pulled.size >= acked.size;
    }, 60_000);
    // Internal writes too: an offset commit (a META entry) is refused.
    expect(await outcomeCode(puller.commit())).to.equal('DISK_FULL');
    expect(nodesAlive(), 'every node is still running').to.equal(true);

    // Space returns: writes resume on every node.
    unlinkSync(ballast());
    await waitFor('every node to take writes again', async () => (await levels()).every((level) => level === 'ok'), 10_000);
    await puller.commit();
    for (let i = 0; i < 20; i++) await sendOurs(`ours-after-${i}`);
    for (let i = 0; i < 10; i++) await sendOfficial(`official-after-${i}`);

    // Every acknowledged message reads back intact (a new group from the first offset), nothing else.
    const reader = new PullConsumer({ nameServers: c.description.namesrv, group: 'disk-check-group', consumeFrom: 'FIRST_OFFSET', autoCommit: false, pollTimeoutMs: 1_000 });
    ours.push(reader);
    await reader.assign(await reader.queuesOf(TOPIC));
    const read: string[] = [];
    await waitFor('every acknowledged message', async () => {
      read.push(...(await reader.poll(1_000)).map((m) => m.body.toString()));
      return [...acked].every((body) => read.includes(body));
    }, 60_000);
    const foreign = read.filter((body) => !acked.has(body));
    expect(foreign, 'bodies never acknowledged, or damaged').to.deep.equal([]);
    expect(acked.size).to.equal(90);
    await waitFor('every node to apply the same log', async () => {
      const statuses = await Promise.all(c.description.groups[0].nodes.map((node) => c.nodeStatus(node.id)));
      const applied = statuses.map((s) => s.appliedIndex as number);
      return applied.every((index) => index === applied[0] && index === statuses[0].commitIndex);
    }, 30_000);
    expect(nodesAlive(), 'every node is still running').to.equal(true);
    console.log(`    our client refused in ${ourRefusalMs} ms; refused producer writes counted on the leader: ${refusedCount}`);
  });

  it('a CommitLog write that meets ENOSPC is fatal, and recovery cuts the torn record: nothing partial is read back (nodes stay up at 0 bytes free)', async () => {
    const dir = join(mountPoint, 'lone-commitlog');
    mkdirSync(dir);
    const logger = silentLogger();
    const log = await CommitLog.open({ dir, segmentSizeBytes: 64 * MIB, logger });
    const entry = (fill: number, bytes: number): { term: number; type: EntryType; storeTimestampMs: number; body: Buffer } => ({ term: 1, type: EntryType.MESSAGES, storeTimestampMs: 1, body: Buffer.alloc(bytes, fill) });
    await log.append([entry(1, 64 * 1024), entry(2, 64 * 1024)]);
    await log.flush();
    // Leave 100 KiB: the next 1 MiB record is written in part, then ENOSPC.
    fillTo(100 * 1024, 0);
    const failure = await log.append([entry(3, MIB)]).then(() => log.flush()).then(() => null, (error: unknown) => error);
    expect(failure).to.be.instanceOf(FatalStoreError);
    expect(String((failure as Error).cause ?? failure)).to.match(/ENOSPC|no space/i);
    await log.close().catch(() => undefined);

    // With the disk at (nearly) 0 bytes free every node refuses every write and keeps running.
    await waitFor('every node to refuse every write', async () => (await levels()).every((level) => level === 'critical'), 10_000);
    expect(nodesAlive(), 'every node is still running at 0 bytes free').to.equal(true);

    unlinkSync(ballast());
    const reopened = await CommitLog.open({ dir, segmentSizeBytes: 64 * MIB, logger });
    try {
      expect(reopened.lastIndex).to.equal(2);
      expect(reopened.recovery.truncatedAtPosition, 'the torn record was cut').to.not.equal(null);
      for (const [index, fill] of [[1, 1], [2, 2]]) expect((await reopened.read(index)).body.equals(Buffer.alloc(64 * 1024, fill))).to.equal(true);
    } finally {
      await reopened.close();
    }
    await waitFor('every node to take writes again', async () => (await levels()).every((level) => level === 'ok'), 10_000);
    expect(nodesAlive(), 'every node is still running').to.equal(true);
  });
});
