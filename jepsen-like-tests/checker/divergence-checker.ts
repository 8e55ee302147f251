/**
 * Divergence: after a run, with every node stopped, the committed logs of all nodes must agree byte
 * for byte up to the smallest commit index (Jepsen found NATS replicas diverging after file
 * corruption on a minority). Reads each node's CommitLog directly.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { silentLogger } from '../../lib/common/logger.js';
import { CommitLog } from '../../lib/store/commit-log.js';
import type { CheckerResult } from '../report/run-summary.js';

/** Each node's commit index as it reported it last, and its data folder. */
export interface NodeLogInput {
  id: string;
  commitIndex: number;
  dataDir: string;
}

/** SHA-256 over records 1..`upTo` of the CommitLog in `dataDir` (the node must be stopped). */
export async function committedDigest(dataDir: string, upTo: number): Promise<string> {
  const log = await CommitLog.open({ dir: join(dataDir, 'commitlog'), logger: silentLogger() });
  try {
    const hash = createHash('sha256');
    for (let index = 1; index <= upTo;) {
      const entries = await log.readRange(index, 4 * 1024 * 1024, upTo);
      if (entries.length === 0) throw new Error(`${dataDir}: record ${index} is missing below commit index ${upTo}`);
      for (const entry of entries) hash.update(entry.record);
      index += entries.length;
    }
    return hash.digest('hex');
  } finally {
    await log.close();
  }
}

export async function checkDivergence(nodes: readonly NodeLogInput[]): Promise<CheckerResult> {
  const upTo = Math.min(...nodes.map((n) => n.commitIndex));
  const digests = await Promise.all(
    nodes.map(async (node) => {
      try {
        return { id: node.id, digest: await committedDigest(node.dataDir, upTo) };
      } catch (error) {
        return { id: node.id, digest: `unreadable: ${(error as Error).message}` };
      }
    }),
  );
  const distinct = new Set(digests.map((d) => d.digest));
  const valid = distinct.size === 1 && !digests[0].digest.startsWith('unreadable');
  return {
    name: 'divergence',
    valid,
    count: valid ? 0 : distinct.size,
    summary: valid ? `${nodes.length} nodes agree on entries 1..${upTo}` : `committed logs differ up to index ${upTo}: ${distinct.size} different contents`,
    examples: digests.map((d) => `${d.id}: ${d.digest.slice(0, 80)}`),
    figures: { comparedUpTo: upTo, ...Object.fromEntries(nodes.map((n) => [`commitIndex_${n.id}`, n.commitIndex])) },
  };
}
