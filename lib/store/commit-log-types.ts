import type { Logger } from '../common/logger.js';
import type { EntryType } from './record-format.js';

/** Test-only fault injection: each hook is asked before the operation; `true` makes it fail. */
export interface CommitLogFaults {
  failWrite?: () => boolean;
  failFsync?: () => boolean;
}

/** Options of {@link CommitLog.open}; defaults are filled in one place ({@link CommitLog.open}). */
export interface CommitLogOptions {
  /** Directory holding the segment files (created if missing). */
  dir: string;
  /** Target segment size; a record larger than it gets a segment of its own. Default 1 GiB. */
  segmentSizeBytes?: number;
  /** Bytes appended but not yet written above which `append` waits. Default 64 MiB. */
  maxPendingBytes?: number;
  /** Bytes of recent written records kept in memory for reads (unwritten ones are always kept). Default 16 MiB. */
  cacheMaxBytes?: number;
  logger: Logger;
  /** Record boundary below which records were verified before (a checkpoint); default 0. */
  recoverFromPosition?: number;
  faults?: CommitLogFaults;
  /**
   * Called with the new durable index each time an fsync raises it, and when a truncation lowers it
   * (test hooks, metrics).
   */
  onDurable?: (durableIndex: number) => void;
}

/** One entry to append. The body is copied; the caller keeps ownership of its buffer. */
export interface AppendEntry {
  term: number;
  type: EntryType;
  storeTimestampMs: number;
  body: Buffer;
  /**
   * The complete record as another replica stored it (replication), already verified by the
   * caller and matching the fields above. Stored as is, not copied: the caller hands it over. Its
   * index must be the one the log assigns, or the append throws PRECONDITION_FAILED.
   */
  record?: Buffer;
}

/** Where an appended entry landed. `position` is the record start; its body starts at `bodyPosition`. */
export interface AppendedEntry {
  index: number;
  term: number;
  position: number;
  bodyPosition: number;
  totalSize: number;
}

/** Counters for tests and metrics. */
export interface CommitLogStats {
  writeCalls: number;
  fsyncCalls: number;
  pendingBytes: number;
}

/** A place in the log: record `index` starts at absolute position `position` (see CommitLog.verifyOnDiskAt). */
export interface LogCursor {
  index: number;
  position: number;
}
