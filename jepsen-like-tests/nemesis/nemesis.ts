/**
 * A nemesis injects one kind of fault. `start` begins a fault and says which nodes it hit;
 * `stop` ends it and heals everything it did (restarts killed nodes, resumes paused ones, heals the
 * network, resets clocks). Both are called by the schedule, one fault at a time, and `stop` is
 * always called before the run's final drain.
 */
import type { LedgerMqDb } from '../db/ledgermq-db.js';

export interface NemesisContext {
  db: LedgerMqDb;
  /** The run folder (nemesis files: clock offsets, watermarks). */
  runDir: string;
  /** A random acknowledged message id so far, or null (disk faults damage a record that holds one). */
  sampleAcknowledged: () => string | null;
  /** Seeded: a run replays with the same seed. */
  random: () => number;
  /** Current leader, or null (asks the nodes). */
  leader: () => Promise<string | null>;
}

export interface FaultStart {
  targets: string[];
  detail?: string;
}

export interface Nemesis {
  readonly name: string;
  /** Extra environment for broker processes, set before the cluster starts (clock, watermark hooks). */
  environment?(runDir: string, nodeId: string): Record<string, string>;
  /** Why this nemesis cannot run here with `nodes` nodes, or null. */
  unsupportedReason?(nodes: number): string | null;
  start(context: NemesisContext): Promise<FaultStart>;
  stop(context: NemesisContext): Promise<void>;
}

/** Picks `count` distinct items with the seeded generator. */
export function pick<T>(random: () => number, items: readonly T[], count: number): T[] {
  const pool = [...items];
  const chosen: T[] = [];
  while (chosen.length < count && pool.length > 0) chosen.push(pool.splice(Math.floor(random() * pool.length), 1)[0]);
  return chosen;
}

/** The leader, or a random node when there is none (so a leader-targeted fault still hits someone). */
export async function leaderOrRandom(context: NemesisContext): Promise<string> {
  return (await context.leader()) ?? pick(context.random, context.db.nodeIds, 1)[0];
}
