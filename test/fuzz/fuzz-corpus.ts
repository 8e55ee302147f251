/**
 * The corpus of cases the fuzz suite found (test/fuzz-corpus/*.json), replayed by test/fuzz.test.ts
 * on every `npm test`. Kinds: `raft-core` (a seed of lib/fuzz/raft-core-fuzz.ts), `recovery` (a
 * seed of the CommitLog recovery fuzz), `grpc` (a request exactly as sent; with `everyTarget`,
 * sent to every node) and `queue-damage` (ConsumeQueue bit flips on a stopped follower, the first
 * damage round of the cluster run).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RequestPlan } from '../../lib/fuzz/request-plan.js';
import type { QueueBitFlip } from './damage-rounds.js';

export type CorpusCase =
  | { kind: 'raft-core'; seed: number; messages: number; found: string; fix: string; file: string }
  | { kind: 'recovery'; seed: number; cases: number; found: string; fix: string; file: string }
  | { kind: 'grpc'; plan: RequestPlan; everyTarget?: boolean; found: string; fix: string; file: string }
  | { kind: 'queue-damage'; flips: QueueBitFlip[]; found: string; fix: string; file: string };

/** The corpus folder (source tree, next to the compiled test's source). */
export function corpusDir(): string {
  // dist/test/fuzz -> test/fuzz-corpus in the package root
  return join(dirname(fileURLToPath(import.meta.url)), '../../../test/fuzz-corpus');
}

/** Every corpus case, by file name order. */
export function loadCorpus(dir = corpusDir()): CorpusCase[] {
  return readdirSync(dir).filter((name) => name.endsWith('.json')).sort().map((name) => ({ ...(JSON.parse(readFileSync(join(dir, name), 'utf8')) as Omit<CorpusCase, 'file'>), file: name }) as CorpusCase);
}

/** The gRPC cases as plans to fire (one per node for `everyTarget`, among `nodes` nodes). */
export function grpcReplays(corpus: readonly CorpusCase[], nodes: number): RequestPlan[] {
  const plans: RequestPlan[] = [];
  for (const entry of corpus) {
    if (entry.kind !== 'grpc') continue;
    if (entry.everyTarget) for (let target = 0; target < nodes; target += 1) plans.push({ ...entry.plan, target });
    else plans.push(entry.plan);
  }
  return plans;
}

/** The ConsumeQueue flips of every `queue-damage` case. */
export function queueFlips(corpus: readonly CorpusCase[]): QueueBitFlip[] {
  return corpus.flatMap((entry) => (entry.kind === 'queue-damage' ? entry.flips : []));
}
