import { CorruptRecordError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { CommitLog, LogCursor } from './commit-log.js';

/** Bytes verified per read (the rate limit sleeps between reads). */
const CHUNK_BYTES = 1024 * 1024;
/** How long to wait before looking again while held or while nothing new is committed. */
const IDLE_POLL_MS = 200;
/** Pause after a read that failed for another reason than damage. */
const ERROR_RETRY_MS = 1_000;
/** Consecutive such failures after which a pass gives up (the next pass starts on schedule). */
const MAX_READ_FAILURES = 5;
/** Largest pause setTimeout can wait. */
const MAX_INTERVAL_MS = 2 ** 31 - 1;

/** Counters the scrubber raises (Prometheus counters in the broker; plain objects in tests). */
export interface ScrubCounters {
  bytes: { inc(value: number): void };
  passes: { inc(): void };
  damaged: { inc(): void };
}

export interface CommitLogScrubberOptions {
  commitLog: CommitLog;
  /**
   * Highest index the scrub may read: committed entries only, which Raft never cuts (a follower's
   * uncommitted tail may be cut and rewritten under a read, which would look like damage).
   */
  limitIndex: () => number;
  /** Whether to hold off (the node is repairing its log: the records under the scrub are moving). */
  isHeld: () => boolean;
  /**
   * Damage confirmed by a second read. Returns true when the node repairs (cuts its log at the
   * damage and refetches the rest), false when it cannot (a single node): the scrub then steps
   * over the record, or ends the pass when the damage is in a header it cannot walk past.
   */
  onDamage: (error: CorruptRecordError) => boolean;
  /** Read rate limit. */
  bytesPerSecond: number;
  /** Pause between the end of one pass and the start of the next (1 s to about 24.8 days); 0: only the pass at start. */
  intervalMs: number;
  logger: Logger;
  counters?: ScrubCounters;
}

/** What `/status` shows of the scrub. */
export interface ScrubStatus {
  running: boolean;
  passes: number;
  nextIndex: number;
  lastPassEndedAtMs: number | null;
  damagedFound: number;
}

/**
 * Background scrub of the CommitLog: reads every committed, durable record from its file and
 * checks its CRC, at a bounded rate, once when started and then every `intervalMs`. Startup
 * recovery only verifies records after the last checkpoint, and reads only check what they touch:
 * without a scrub a byte flipped in a cold record would stay unnoticed until every replica holding
 * that record were damaged. A confirmed damage is handed to `onDamage` (in a group, the Raft
 * node's repair).
 */
export class CommitLogScrubber {
  private readonly options: CommitLogScrubberOptions;
  private nextIndex = 0;
  private passes = 0;
  private damagedFound = 0;
  private lastPassEndedAtMs: number | null = null;
  private stopped = false;
  private wake: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private loop: Promise<void> | null = null;

  constructor(options: CommitLogScrubberOptions) {
    if (!(options.bytesPerSecond > 0)) throw new RangeError(`bytesPerSecond must be > 0, got ${options.bytesPerSecond}`);
    if (!(options.intervalMs === 0 || (options.intervalMs >= 1_000 && options.intervalMs <= MAX_INTERVAL_MS))) {
      throw new RangeError(`scrub interval must be 0 (no repeat) or between 1 s and ${MAX_INTERVAL_MS} ms, got ${options.intervalMs}`);
    }
    this.options = options;
  }

  /** Starts the first pass now. Calling it twice is a no-op. */
  start(): void {
    if (this.loop !== null || this.stopped) return;
    this.loop = this.run().catch((error: unknown) => {
      if (!this.stopped) this.options.logger.error({ err: error }, 'commit log scrub stopped on an unexpected error');
    });
  }

  /** Stops the scrub and waits for the read in progress (call before closing the CommitLog). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.interrupt();
    await this.loop;
  }

  status(): ScrubStatus {
    return { running: this.loop !== null && !this.stopped, passes: this.passes, nextIndex: this.nextIndex, lastPassEndedAtMs: this.lastPassEndedAtMs, damagedFound: this.damagedFound };
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      await this.pass();
      if (this.stopped || this.options.intervalMs === 0) return;
      await this.sleep(this.options.intervalMs);
    }
  }

  /** One pass from the first record to the limit as it stands when the pass reaches it. */
  private async pass(): Promise<void> {
    const { commitLog, logger } = this.options;
    const startedAt = Date.now();
    let records = 0;
    let bytes = 0;
    let damaged = 0;
    let failures = 0;
    let cursor = commitLog.cursorAt(commitLog.firstIndex);
    let generation = commitLog.truncations;
    while (!this.stopped) {
      if (this.options.isHeld()) {
        await this.sleep(IDLE_POLL_MS);
        continue;
      }
      if (commitLog.truncations !== generation || cursor.index < commitLog.firstIndex) {
        // The log was cut: go back to the start of the segment now holding the cursor's index (or
        // to the new end). Records rewritten in earlier segments are left to the next pass.
        generation = commitLog.truncations;
        cursor = commitLog.cursorAt(Math.max(commitLog.firstIndex, Math.min(cursor.index, commitLog.lastIndex + 1)));
      }
      this.nextIndex = cursor.index;
      const limit = Math.min(this.options.limitIndex(), commitLog.durableIndex, commitLog.lastIndex);
      if (cursor.index > limit) break;
      const readStartedAt = Date.now();
      try {
        const verified = await commitLog.verifyOnDiskAt(cursor, limit, CHUNK_BYTES);
        failures = 0;
        records += verified.records;
        bytes += verified.bytes;
        this.options.counters?.bytes.inc(verified.bytes);
        cursor = verified.next;
        this.nextIndex = cursor.index;
        await this.sleep((verified.bytes / this.options.bytesPerSecond) * 1000 - (Date.now() - readStartedAt));
      } catch (error) {
        if (this.stopped) return;
        // A cut (of an uncommitted tail, or a repair) under the read: not damage; start over from the cut.
        if (commitLog.truncations !== generation) continue;
        if (!(error instanceof CorruptRecordError)) {
          failures += 1;
          logger.warn({ err: error, index: cursor.index, failures }, 'scrub read failed');
          if (failures >= MAX_READ_FAILURES) {
            logger.error({ index: cursor.index }, 'scrub pass abandoned after repeated read failures');
            return;
          }
          await this.sleep(ERROR_RETRY_MS);
          continue;
        }
        const confirmed = await this.confirm(error, cursor, limit, generation);
        if (this.stopped) return;
        if (confirmed === null) continue;
        damaged += 1;
        this.damagedFound += 1;
        this.options.counters?.damaged.inc();
        logger.error({ err: confirmed, index: confirmed.index, position: confirmed.position }, 'scrub found a damaged committed record');
        if (this.options.onDamage(confirmed)) {
          await this.sleep(IDLE_POLL_MS);
          continue;
        }
        // Nothing repairs it here: the rest of its segment cannot be walked safely; go on after it.
        cursor = commitLog.cursorAfterSegmentOf(cursor.index);
      }
    }
    if (this.stopped) return;
    this.passes += 1;
    this.lastPassEndedAtMs = Date.now();
    this.options.counters?.passes.inc();
    logger.info({ records, bytes, damaged, durationMs: this.lastPassEndedAtMs - startedAt, toIndex: cursor.index - 1 }, 'commit log scrub pass finished');
  }

  /**
   * Reads the same records again unless the log moved meanwhile: returns the damage to act on
   * (its index filled in with the cursor's when the read could not tell), or null when the second
   * read found them intact or the log was cut or is being repaired.
   */
  private async confirm(first: CorruptRecordError, cursor: LogCursor, limit: number, generation: number): Promise<CorruptRecordError | null> {
    const { commitLog, logger } = this.options;
    if (this.options.isHeld() || commitLog.truncations !== generation) return null;
    try {
      await commitLog.verifyOnDiskAt(cursor, limit, CHUNK_BYTES);
    } catch (again) {
      if (!(again instanceof CorruptRecordError) || this.options.isHeld() || commitLog.truncations !== generation) return null;
      if (again.index !== undefined) return again;
      return new CorruptRecordError(again.segmentFile, again.position, `${again.message} (within the read from index ${cursor.index})`, cursor.index);
    }
    logger.warn({ err: first, index: cursor.index }, 'scrub read records as damaged, then intact: not acting on it');
    return null;
  }

  private sleep(ms: number): Promise<void> {
    if (ms <= 0 || this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(() => this.interrupt(), ms);
      this.timer.unref();
    });
  }

  private interrupt(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}
