/**
 * The leader's side of installs: for each `install` the core asks for (a peer found in sync but far
 * behind), streams the peer the committed entries after the install's start point, read from the
 * CommitLog in chunks, until the stream reaches the commit index (the rest follows by appends; a
 * peer still far behind gets another install). The core's progress for the peer stays in `install`
 * until {@link RaftCore.endInstall} is called here, when the stream ends either way.
 */
import type { Logger } from '../../common/logger.js';
import type { CommitLog } from '../../store/commit-log.js';
import type { RaftCore } from '../core/raft-core.js';
import type { InstallRequest, LogIndex, NodeId, Term } from '../core/types.js';
import type { InstallChunkSource, InstallOutcome, InstallStartPoint } from './install-stream.js';
import type { RecordPayload } from './record-payload.js';

export interface InstallSchedulerOptions {
  selfId: NodeId;
  core: () => RaftCore<RecordPayload>;
  commitLog: CommitLog;
  /** The commit index published by the driver (durable here). */
  committed: () => number;
  /** Whether the driver still runs (not closed, not failed). */
  running: () => boolean;
  send: (peer: NodeId, start: InstallStartPoint, chunks: AsyncIterable<InstallChunkSource>) => Promise<InstallOutcome>;
  /** Called when an install ended, after the core was told (the driver handles the next Ready). */
  onEnded: () => void;
  /** Called when reading entry `index` (and on) for an install failed (a damaged record, for example). */
  onReadError: (error: unknown, index: number) => void;
  /** Bytes of records per chunk (at least one record). */
  chunkBytes: number;
  logger: Logger;
}

/** Counters for /status and tests. */
export interface InstallStats {
  installsSent: number;
  installedEntriesSent: number;
}

/** See the file comment. */
export class InstallScheduler {
  /** Installs running: peer -> the term they were started in. */
  private readonly active = new Map<NodeId, Term>();
  readonly stats: InstallStats = { installsSent: 0, installedEntriesSent: 0 };

  constructor(private readonly options: InstallSchedulerOptions) {}

  /**
   * Carries out `install`. The core asks once per peer and term until told the install ended; a
   * stream still running from an earlier term stops at its next chunk (it checks the term).
   */
  start(install: InstallRequest): void {
    if (this.active.get(install.to) === install.term) return;
    void this.run(install.to, install.prevIndex, install.prevTerm, install.term);
  }

  private async run(peer: NodeId, prevIndex: LogIndex, prevTerm: Term, term: Term): Promise<void> {
    const { logger } = this.options;
    this.active.set(peer, term);
    this.stats.installsSent += 1;
    logger.info({ peer, after: prevIndex, commitIndex: this.options.committed() }, 'streaming committed entries to a far-behind peer');
    try {
      const outcome = await this.options.send(peer, { from: this.options.selfId, to: peer, term, prevIndex, prevTerm }, this.chunks(prevIndex, term));
      if (outcome.refused) logger.info({ peer, matchIndex: outcome.matchIndex, detail: outcome.detail }, 'peer refused the install; probing it instead');
      else logger.info({ peer, matchIndex: outcome.matchIndex }, 'install done');
    } catch (error) {
      logger.warn({ err: error, peer }, 'install failed');
    } finally {
      if (this.active.get(peer) === term) this.active.delete(peer);
      const core = this.options.core();
      if (this.options.running() && core.role === 'leader' && core.currentTerm === term) {
        core.endInstall(peer);
        this.options.onEnded();
      }
    }
  }

  /** Committed records after `prevIndex`, chunk by chunk, while this node leads in `term`. */
  private async *chunks(prevIndex: LogIndex, term: Term): AsyncGenerator<InstallChunkSource> {
    let next = prevIndex + 1;
    for (;;) {
      const core = this.options.core();
      if (!this.options.running() || core.role !== 'leader' || core.currentTerm !== term) return;
      const commit = this.options.committed();
      if (next > commit) return;
      let entries;
      try {
        entries = await this.options.commitLog.readRange(next, this.options.chunkBytes, commit);
      } catch (error) {
        this.options.onReadError(error, next);
        throw error;
      }
      if (entries.length === 0) return;
      this.stats.installedEntriesSent += entries.length;
      yield { records: Buffer.concat(entries.map((entry) => entry.record)), commit };
      next += entries.length;
    }
  }
}
