/**
 * A fresh LocalCluster for one benchmark: a new temp folder (under BENCH_TMP or /var/tmp), its own
 * port range, stopped and removed whatever the work does.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { LocalCluster } from '../cluster/local-cluster.js';
import type { LocalClusterOptions } from '../cluster/local-cluster.js';

/** Where benchmark clusters keep their data (BENCH_TMP, else /var/tmp: a real disk, not tmpfs). */
export function benchTempRoot(): string {
  return process.env.BENCH_TMP ?? '/var/tmp';
}

/**
 * Starts a cluster of `options.nodes` (default 3) on `options.basePort` in a new folder, runs
 * `work` with it, then stops every process it started and removes the folder, also when `work`
 * throws. The cluster's data is kept only when BENCH_KEEP_DIRS=1 (its path is printed).
 */
export async function withBenchCluster<T>(options: Omit<LocalClusterOptions, 'dir' | 'nodes'> & { nodes?: number }, work: (cluster: LocalCluster) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(benchTempRoot(), 'ledgermq-bench-'));
  const cluster = new LocalCluster({ nodes: 3, ...options, dir });
  try {
    await cluster.start();
    return await work(cluster);
  } finally {
    await cluster.stop();
    if (process.env.BENCH_KEEP_DIRS === '1') console.log(`bench cluster kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

/** The id of the group's leader, waiting up to `timeoutMs` for the NameServer to know one. */
export async function waitForLeader(cluster: LocalCluster, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const id = await cluster.leaderId().catch(() => null);
    if (id !== null) return id;
    if (Date.now() > deadline) throw new Error(`no leader known within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Waits until every node of `cluster` applied the same log index (followers then serve everything
 * the leader does); throws after `timeoutMs`. Call it when nothing is being written.
 */
export async function waitForEqualApplied(cluster: LocalCluster, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const applied = await Promise.all(cluster.nodes.map(async (node) => Number((await cluster.nodeStatus(node.id)).appliedIndex)));
    if (Math.min(...applied) === Math.max(...applied)) return;
    if (Date.now() > deadline) throw new Error(`followers did not catch up within ${timeoutMs / 1000} s (applied ${applied.join(', ')})`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
