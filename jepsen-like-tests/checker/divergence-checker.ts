/**
 * Divergence, from the stopped nodes' CommitLogs read directly (Jepsen found NATS replicas
 * diverging after file corruption on a minority):
 * - every node's committed log must be a byte-for-byte prefix of the log of the node with the
 *   highest commit index (so no committed entry is compared on fewer nodes than hold it);
 * - every committed record must pass its checks (a damaged record no node repaired is reported
 *   with its node and index);
 * - every node's commit index must be known (a node that did not answer makes the check fail,
 *   never pass by comparing nothing).
 * It also returns the message bodies of the reference log, for the final-read part of `lost`.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { silentLogger } from '../../lib/common/logger.js';
import { CommitLog } from '../../lib/store/commit-log.js';
import { decodeMessageBatch } from '../../lib/store/message-codec.js';
import { EntryType } from '../../lib/store/record-format.js';
import type { CheckerResult } from '../report/run-summary.js';

/** Each node's commit index as it reported it last (null: it never answered), and its data folder. */
export interface NodeLogInput {
  id: string;
  commitIndex: number | null;
  dataDir: string;
}

/** SHA-256 over records 1..`upTo` of the CommitLog in `dataDir` (the node must be stopped). */
export async function committedDigest(dataDir: string, upTo: number): Promise<string> {
  return (await readCommitted(dataDir, upTo, [upTo], false)).digests.get(upTo) ?? '';
}

interface CommittedRead {
  /** Digest of records 1..k for each asked k. */
  digests: Map<number, string>;
  /** Message bodies (as text) in MESSAGES entries, when asked. */
  bodies: Set<string> | null;
}

/** Reads records 1..`upTo` once, hashing and snapshotting the digest at each index of `marks`. */
async function readCommitted(dataDir: string, upTo: number, marks: readonly number[], collectBodies: boolean): Promise<CommittedRead> {
  const log = await CommitLog.open({ dir: join(dataDir, 'commitlog'), logger: silentLogger() });
  try {
    const hash = createHash('sha256');
    const digests = new Map<number, string>();
    const bodies = collectBodies ? new Set<string>() : null;
    const wanted = new Set(marks);
    if (wanted.has(0)) digests.set(0, hash.copy().digest('hex'));
    for (let index = 1; index <= upTo;) {
      const entries = await log.readRange(index, 4 * 1024 * 1024, upTo);
      if (entries.length === 0) throw new Error(`record ${index} is missing below commit index ${upTo}`);
      for (const entry of entries) {
        hash.update(entry.record);
        if (wanted.has(entry.index)) digests.set(entry.index, hash.copy().digest('hex'));
        if (bodies && entry.type === EntryType.MESSAGES) for (const { message } of decodeMessageBatch(entry.body)) bodies.add(message.body.toString());
      }
      index += entries.length;
    }
    return { digests, bodies };
  } finally {
    await log.close();
  }
}

export interface DivergenceCheck {
  result: CheckerResult;
  /** Bodies of every message in the reference node's committed log, or null when it could not be read. */
  committedBodies: Set<string> | null;
}

export async function checkDivergence(nodes: readonly NodeLogInput[], notes: readonly string[] = []): Promise<DivergenceCheck> {
  const problems: string[] = [...notes];
  const unknown = nodes.filter((n) => n.commitIndex === null);
  for (const node of unknown) problems.push(`${node.id}: commit index unknown (the node did not answer /status at the end)`);
  const known = nodes.filter((n): n is NodeLogInput & { commitIndex: number } => n.commitIndex !== null);
  const figures: Record<string, number | string> = Object.fromEntries(nodes.map((n) => [`commitIndex_${n.id}`, n.commitIndex ?? 'unknown']));
  if (known.length === 0) return { result: result(false, 'no node reported a commit index', problems, figures), committedBodies: null };
  const reference = known.reduce((best, n) => (n.commitIndex > best.commitIndex ? n : best));
  let referenceRead: CommittedRead;
  try {
    referenceRead = await readCommitted(reference.dataDir, reference.commitIndex, known.map((n) => n.commitIndex), true);
  } catch (error) {
    problems.push(`${reference.id} (highest commit index ${reference.commitIndex}): ${(error as Error).message}`);
    return { result: result(false, `the reference log of ${reference.id} is unreadable`, problems, figures), committedBodies: null };
  }
  let diverged = 0;
  for (const node of known.filter((n) => n !== reference)) {
    try {
      const own = await committedDigest(node.dataDir, node.commitIndex);
      if (own !== referenceRead.digests.get(node.commitIndex)) {
        diverged += 1;
        problems.push(`${node.id}: entries 1..${node.commitIndex} differ from ${reference.id}'s`);
      }
    } catch (error) {
      diverged += 1;
      problems.push(`${node.id}: ${(error as Error).message}`);
    }
  }
  figures.reference = reference.id;
  figures.comparedUpTo = Math.min(...known.map((n) => n.commitIndex));
  figures.referenceUpTo = reference.commitIndex;
  const valid = problems.length === 0;
  const summary = valid
    ? `every node's committed log is a byte-for-byte prefix of ${reference.id}'s (entries 1..${reference.commitIndex}; shortest ${figures.comparedUpTo})`
    : `${diverged} nodes differ or hold damaged records${unknown.length > 0 ? `, ${unknown.length} commit indexes unknown` : ''}`;
  return { result: result(valid, summary, problems, figures), committedBodies: referenceRead.bodies };
}

function result(valid: boolean, summary: string, problems: string[], figures: Record<string, number | string>): CheckerResult {
  return { name: 'divergence', valid, count: problems.length, summary, examples: problems.slice(0, 20), figures };
}
