/**
 * Builds a {@link RaftCore} from what a node has on disk: the CommitLog (last index and term runs),
 * the durable term and vote, and the catch-up marker. Used at startup and when a node rebuilds its
 * core after repairing a damaged log.
 */
import type { Logger } from '../../common/logger.js';
import type { CommitLog } from '../../store/commit-log.js';
import { findTermRuns } from '../../store/term-runs.js';
import { RaftCore } from '../core/raft-core.js';
import { asIndex, asTerm } from '../core/types.js';
import type { Membership, NodeId } from '../core/types.js';
import type { RecordPayload } from './record-payload.js';

/** The core's settings as the driver holds them. */
export interface CoreSettings {
  electionTicks: number;
  heartbeatTicks: number;
  maxInflightAppends: number;
  maxEntriesPerAppend: number;
  installMinEntries: number;
}

export interface CoreBootInput {
  id: NodeId;
  membership: Membership;
  commitLog: CommitLog;
  hardState: { term: number; vote: string | null };
  /** An index known committed (capped at the log's last index). */
  knownCommitted: number;
  catchUp: { untilIndex: number | null } | null;
  settings: CoreSettings;
  random: () => number;
  logger: Logger;
}

/** See the file comment. */
export async function bootCore(input: CoreBootInput): Promise<RaftCore<RecordPayload>> {
  const { commitLog: log, hardState, catchUp, settings } = input;
  const termRuns = await findTermRuns(log);
  if (catchUp !== null) input.logger.warn({ untilIndex: catchUp.untilIndex }, 'this node may lack committed entries: it will not vote until it has caught up with the leader');
  return new RaftCore<RecordPayload>(
    {
      id: input.id,
      electionTicks: settings.electionTicks,
      heartbeatTicks: settings.heartbeatTicks,
      preVote: true,
      checkQuorum: true,
      maxInflightAppends: settings.maxInflightAppends,
      maxEntriesPerAppend: settings.maxEntriesPerAppend,
      installMinEntries: settings.installMinEntries,
      random: input.random,
    },
    {
      hardState: { term: asTerm(hardState.term), vote: hardState.vote, commit: asIndex(Math.min(input.knownCommitted, log.lastIndex)) },
      membership: { voters: [...input.membership.voters], learners: [...input.membership.learners] },
      log: { lastIndex: asIndex(log.lastIndex), termRuns: termRuns.map((run) => ({ start: asIndex(run.start), term: asTerm(run.term) })), firstIndex: asIndex(log.firstIndex) },
      catchUp: catchUp === null ? undefined : { untilIndex: catchUp.untilIndex === null ? null : asIndex(catchUp.untilIndex) },
    },
  );
}

/**
 * The catch-up target from this start's finding and the persisted marker: the higher index, so a
 * marker never goes down (null, "the leader's commit index at first contact", only when neither
 * names an index).
 */
export function mergeCatchUp(found: { untilIndex: number | null } | null, persisted: { untilIndex: number | null } | null): { untilIndex: number | null } | null {
  if (found === null) return persisted;
  if (persisted === null) return found;
  if (found.untilIndex === null) return persisted.untilIndex === null ? found : persisted;
  if (persisted.untilIndex === null) return found;
  return { untilIndex: Math.max(found.untilIndex, persisted.untilIndex) };
}
