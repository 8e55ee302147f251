import { open, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { LedgerError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { entryFromRecord, readEntries, readEntriesAt, readEntry, readTerm } from './commit-log-reader.js';
import type { LogEntry } from './commit-log-reader.js';
import { recoverLog } from './commit-log-recovery.js';
import type { RecoveryReport } from './commit-log-recovery.js';
import { LogSegment, findSegmentByIndex, findSegmentByPosition } from './commit-log-segment.js';
import type { AppendEntry, AppendedEntry, CommitLogFaults, CommitLogOptions, CommitLogStats, LogCursor } from './commit-log-types.js';
import { FatalStoreError } from './fatal-store-error.js';
import {
  DEFAULT_SEGMENT_SIZE_BYTES,
  MAX_RECORD_SIZE_BYTES,
  RECORD_HEADER_SIZE_BYTES,
  encodeRecord,
  isEntryType,
  parseRecordHeader,
} from './record-format.js';

export type { RecoveryReport } from './commit-log-recovery.js';
export type { LogEntry } from './commit-log-reader.js';
export type { AppendEntry, AppendedEntry, CommitLogFaults, CommitLogOptions, CommitLogStats, LogCursor } from './commit-log-types.js';

interface PendingWrite {
  segment: LogSegment;
  fileOffset: number;
  record: Buffer;
  index: number;
  endPosition: number;
}

interface Waiter<T> {
  resolve: (value: T) => void;
  reject: (error: Error) => void;
}

const MAX_BUFFERS_PER_WRITE = 1024;
const MAX_BYTES_PER_WRITE = 16 * 1024 * 1024;
const CACHE_MAX_ENTRIES = 65536;

/**
 * The CommitLog, which is also the Raft log: records indexed from 1 with their term, in segment files.
 *
 * Ordering: `append` assigns indexes and positions synchronously in call order (unless back-pressure
 * holds the call, in which case held calls are admitted FIFO, still in call order); writes are issued
 * by one writer loop in that order, coalesced with writev. `flush` is group commit. A failed write,
 * fsync or truncate is fatal: it rejects with {@link FatalStoreError} and so does every later
 * append, flush and truncate. Reads keep working on what is on disk.
 */
export class CommitLog {
  /** What recovery found at open. */
  readonly recovery: RecoveryReport;
  private readonly dir: string;
  private readonly logger: Logger;
  private readonly segmentSizeBytes: number;
  private readonly maxPendingBytes: number;
  private readonly cacheMaxBytes: number;
  private readonly faults: CommitLogFaults;
  private readonly onDurable: ((durableIndex: number) => void) | undefined;
  private readonly segments: LogSegment[];
  private lastIndexValue: number;
  private lastTermValue: number;
  private endPositionValue: number;
  private writtenEndPosition: number;
  private durableIndexValue: number;
  private pending: PendingWrite[] = [];
  private pendingBytes = 0;
  private isWriterRunning = false;
  private positionWaiters: Array<Waiter<void> & { endPosition: number }> = [];
  private admissionQueue: Array<Waiter<AppendedEntry[]> & { entries: ReadonlyArray<AppendEntry>; bytes: number }> = [];
  private readonly cache = new Map<number, { record: Buffer; position: number }>();
  private cacheBytes = 0;
  private syncInFlight: Promise<void> | null = null;
  private fatal: FatalStoreError | null = null;
  private isTruncating = false;
  private isClosed = false;
  private writeCalls = 0;
  private fsyncCalls = 0;
  private truncationCount = 0;

  private constructor(options: Required<Omit<CommitLogOptions, 'recoverFromPosition' | 'onDurable'>> & Pick<CommitLogOptions, 'onDurable'>, recovered: ReturnType<typeof recoverLog>) {
    this.onDurable = options.onDurable;
    this.dir = options.dir;
    this.logger = options.logger;
    this.segmentSizeBytes = options.segmentSizeBytes;
    this.maxPendingBytes = options.maxPendingBytes;
    this.cacheMaxBytes = options.cacheMaxBytes;
    this.faults = options.faults;
    this.recovery = recovered.report;
    this.segments = recovered.segments;
    const last = this.segments.at(-1);
    this.lastIndexValue = last === undefined ? 0 : last.lastIndex;
    this.lastTermValue = recovered.lastTerm;
    this.endPositionValue = last === undefined ? 0 : last.endPosition;
    this.writtenEndPosition = this.endPositionValue;
    this.durableIndexValue = this.lastIndexValue;
  }

  /**
   * Opens (creating if needed) the log in `options.dir` and runs recovery synchronously (startup only):
   * verifies records from `recoverFromPosition` on, keeps records corrupt in place (reported in
   * {@link recovery}), cuts a torn or corrupt tail durably. Throws on invalid options or I/O errors.
   */
  static open(options: CommitLogOptions): Promise<CommitLog> {
    try {
      return Promise.resolve(CommitLog.openSync(options));
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  // Startup only: recovery uses synchronous fs calls.
  private static openSync(options: CommitLogOptions): CommitLog {
    const segmentSizeBytes = options.segmentSizeBytes ?? DEFAULT_SEGMENT_SIZE_BYTES;
    const maxPendingBytes = options.maxPendingBytes ?? 64 * 1024 * 1024;
    const cacheMaxBytes = options.cacheMaxBytes ?? 16 * 1024 * 1024;
    const recoverFromPosition = options.recoverFromPosition ?? 0;
    for (const [name, value, min] of [['segmentSizeBytes', segmentSizeBytes, RECORD_HEADER_SIZE_BYTES], ['maxPendingBytes', maxPendingBytes, 1], ['cacheMaxBytes', cacheMaxBytes, 0], ['recoverFromPosition', recoverFromPosition, 0]] as const) {
      if (!Number.isSafeInteger(value) || value < min) throw new LedgerError('BAD_REQUEST', `${name} must be an integer >= ${min}, got ${value}`);
    }
    const recovered = recoverLog(options.dir, recoverFromPosition, options.logger);
    const log = new CommitLog({ dir: options.dir, segmentSizeBytes, maxPendingBytes, cacheMaxBytes, logger: options.logger, faults: options.faults ?? {}, onDurable: options.onDurable }, recovered);
    options.logger.info({ dir: options.dir, firstIndex: log.firstIndex, lastIndex: log.lastIndex, endPosition: log.endPosition, recovery: log.recovery }, 'commit log opened');
    return log;
  }

  /** Index of the first entry; `lastIndex + 1` when the log is empty. */
  get firstIndex(): number {
    const first = this.segments.find((segment) => segment.entryCount > 0);
    return first === undefined ? this.lastIndexValue + 1 : first.firstIndex;
  }

  /** Index of the last assigned entry (written or not); 0 for a new log. */
  get lastIndex(): number {
    return this.lastIndexValue;
  }

  /** Term of the last assigned entry; 0 for a new log. */
  get lastTerm(): number {
    return this.lastTermValue;
  }

  /** Absolute position the next record will be written at. */
  get endPosition(): number {
    return this.endPositionValue;
  }

  /** Highest index known fsynced. */
  get durableIndex(): number {
    return this.durableIndexValue;
  }

  /** Counters (write and fsync calls issued, bytes waiting for the writer). */
  get stats(): CommitLogStats {
    return { writeCalls: this.writeCalls, fsyncCalls: this.fsyncCalls, pendingBytes: this.pendingBytes };
  }

  /**
   * Appends entries as consecutive records and resolves once they are written (not fsynced; see
   * {@link flush}). Terms must not decrease. Throws LedgerError PAYLOAD_TOO_LARGE for a record above
   * {@link MAX_RECORD_SIZE_BYTES}, BAD_REQUEST for invalid fields, PRECONDITION_FAILED for a term
   * regression or during {@link truncateAfter}, FatalStoreError once the log failed.
   */
  async append(entries: ReadonlyArray<AppendEntry>): Promise<AppendedEntry[]> {
    this.assertWritable();
    if (entries.length === 0) return [];
    let bytes = 0;
    for (const entry of entries) {
      const totalSize = RECORD_HEADER_SIZE_BYTES + entry.body.length;
      if (totalSize > MAX_RECORD_SIZE_BYTES) throw new LedgerError('PAYLOAD_TOO_LARGE', `record of ${totalSize} bytes exceeds ${MAX_RECORD_SIZE_BYTES}`);
      if (!isEntryType(entry.type)) throw new LedgerError('BAD_REQUEST', `unknown entry type ${String(entry.type)}`);
      assertU64('term', entry.term);
      assertU64('storeTimestampMs', entry.storeTimestampMs);
      bytes += totalSize;
    }
    let assigned: AppendedEntry[];
    if (this.admissionQueue.length > 0 || (this.pendingBytes > 0 && this.pendingBytes + bytes > this.maxPendingBytes)) {
      assigned = await new Promise<AppendedEntry[]>((resolve, reject) => this.admissionQueue.push({ entries, bytes, resolve, reject }));
    } else {
      assigned = this.assign(entries);
    }
    const last = assigned[assigned.length - 1];
    await this.waitWritten(last.position + last.totalSize);
    return assigned;
  }

  /**
   * Group commit: resolves once every entry appended before the call is fsynced (fdatasync, plus the
   * directory for new segment files); concurrent callers share one fsync. Returns {@link durableIndex}.
   * Rejects with FatalStoreError when a write or fsync failed (now or earlier).
   */
  async flush(): Promise<number> {
    if (this.fatal !== null) throw this.fatal;
    const targetIndex = this.lastIndexValue;
    // A truncateAfter meanwhile may lower lastIndex below the target: never wait for entries that are gone.
    while (this.durableIndexValue < Math.min(targetIndex, this.lastIndexValue)) {
      await (this.syncInFlight ?? this.startSync());
    }
    return this.durableIndexValue;
  }

  /**
   * Reads entry `index`, verifying its CRC. Throws LedgerError NOT_FOUND outside
   * [{@link firstIndex}, {@link lastIndex}], CorruptRecordError (logged) when the record fails its checks.
   */
  async read(index: number): Promise<LogEntry> {
    this.assertReadable(index);
    const cached = this.cache.get(index);
    if (cached !== undefined) return entryFromRecord(cached.record, cached.position);
    return readEntry(findSegmentByIndex(this.segments, index), index, this.logger);
  }

  /**
   * Reads consecutive entries from `fromIndex` up to `toIndex` (default and cap: {@link lastIndex})
   * while their total size stays within `maxBytes`, always at least one entry when `fromIndex` is in
   * range. Returns [] when `fromIndex` is past the end; throws NOT_FOUND below {@link firstIndex} and
   * CorruptRecordError on a failed record.
   */
  async readRange(fromIndex: number, maxBytes: number, toIndex?: number): Promise<LogEntry[]> {
    const lastWanted = Math.min(toIndex ?? this.lastIndexValue, this.lastIndexValue);
    if (fromIndex > lastWanted) return [];
    this.assertReadable(fromIndex);
    const entries: LogEntry[] = [];
    let usedBytes = 0;
    let index = fromIndex;
    while (index <= lastWanted && (entries.length === 0 || usedBytes < maxBytes)) {
      const cached = this.cache.get(index);
      if (cached !== undefined) {
        if (entries.length > 0 && usedBytes + cached.record.length > maxBytes) break;
        entries.push(entryFromRecord(cached.record, cached.position));
        usedBytes += cached.record.length;
        index += 1;
        continue;
      }
      const read = await readEntries(findSegmentByIndex(this.segments, index), index, lastWanted, maxBytes - usedBytes, entries.length === 0, this.logger);
      if (read.length === 0) break;
      for (const entry of read) usedBytes += RECORD_HEADER_SIZE_BYTES + entry.body.length;
      entries.push(...read);
      index += read.length;
    }
    return entries;
  }

  /**
   * `length` raw bytes at absolute log position `position` (e.g. one stored message). Waits for bytes
   * appended but not yet written. Throws BAD_REQUEST when the range is outside the log or spans segments.
   */
  async readBytes(position: number, length: number): Promise<Buffer> {
    const first = this.segments[0];
    if (!Number.isSafeInteger(position) || !Number.isSafeInteger(length) || length < 0 || first === undefined || position < first.startPosition || position + length > this.endPositionValue) {
      throw new LedgerError('BAD_REQUEST', `byte range [${position}, +${length}) is outside the log`);
    }
    await this.waitWritten(position + length);
    const segment = findSegmentByPosition(this.segments, position);
    if (position + length > segment.endPosition) throw new LedgerError('BAD_REQUEST', `byte range [${position}, +${length}) spans segments`);
    return segment.readAt(position - segment.startPosition, length);
  }

  /**
   * Reads record `index` from its file (never from the cache) and checks it: throws
   * CorruptRecordError when the stored copy is damaged, NOT_FOUND outside the durable log.
   */
  async verifyOnDisk(index: number): Promise<void> {
    this.assertReadable(index);
    if (index > this.durableIndexValue) throw new LedgerError('NOT_FOUND', `entry ${index} is not durable yet`);
    await readEntry(findSegmentByIndex(this.segments, index), index, this.logger);
  }

  /** How many times the log was cut ({@link truncateAfter}): a {@link LogCursor} taken before a cut may be stale. */
  get truncations(): number {
    return this.truncationCount;
  }

  /**
   * A cursor at the start of the segment holding `index`, or at the log end when `index` is
   * `lastIndex + 1`. Reads nothing. Throws NOT_FOUND for other indexes outside the log.
   */
  cursorAt(index: number): LogCursor {
    if (index === this.lastIndexValue + 1) return { index, position: this.endPositionValue };
    this.assertReadable(index);
    const segment = findSegmentByIndex(this.segments, index);
    return { index: segment.firstIndex, position: segment.startPosition };
  }

  /** A cursor at the first record after the segment holding `index` (a scrub stepping over damage it cannot repair). */
  cursorAfterSegmentOf(index: number): LogCursor {
    this.assertReadable(index);
    const segment = findSegmentByIndex(this.segments, index);
    return { index: segment.lastIndex + 1, position: segment.endPosition };
  }

  /**
   * Sequential check of durable records from disk (never the cache), for a scrub: from the record
   * `cursor` names, up to `toIndex` (capped at {@link durableIndex}), about `budgetBytes` in one read,
   * at least one record, never past the end of a segment. Walks no headers: a damaged header is
   * reported at the index the cursor expects. Returns the records and bytes checked and the cursor
   * after them. Throws CorruptRecordError for a damaged record, NOT_FOUND when the cursor is past
   * the durable log, PRECONDITION_FAILED when it points outside its segment (taken before a cut).
   */
  async verifyOnDiskAt(cursor: LogCursor, toIndex: number, budgetBytes: number): Promise<{ records: number; bytes: number; next: LogCursor }> {
    this.assertReadable(cursor.index);
    if (cursor.index > this.durableIndexValue) throw new LedgerError('NOT_FOUND', `entry ${cursor.index} is not durable yet`);
    const segment = findSegmentByIndex(this.segments, cursor.index);
    // A cursor at the end of the previous segment moves to the start of this one.
    const offset = cursor.index === segment.firstIndex ? 0 : cursor.position - segment.startPosition;
    if (offset < 0 || offset >= segment.writtenBytes || (offset === 0 && cursor.index !== segment.firstIndex)) {
      throw new LedgerError('PRECONDITION_FAILED', `cursor ${cursor.index}@${cursor.position} is not in its segment ${segment.fileName}`);
    }
    const entries = await readEntriesAt(segment, offset, cursor.index, Math.min(toIndex, this.durableIndexValue), budgetBytes, true, this.logger);
    let bytes = 0;
    for (const entry of entries) bytes += entry.record.length;
    const last = entries[entries.length - 1];
    return { records: entries.length, bytes, next: { index: last.index + 1, position: last.position + last.record.length } };
  }

  /** First index of the segment holding absolute position `position` (a cut there walks no headers). */
  firstIndexOfSegmentAt(position: number): number {
    return findSegmentByPosition(this.segments, position).firstIndex;
  }

  /** Index of the entry holding absolute log position `position`. Throws BAD_REQUEST outside the log. */
  async indexAtPosition(position: number): Promise<number> {
    const first = this.segments[0];
    if (!Number.isSafeInteger(position) || first === undefined || position < first.startPosition || position >= this.endPositionValue) {
      throw new LedgerError('BAD_REQUEST', `position ${position} is outside the log`);
    }
    const segment = findSegmentByPosition(this.segments, position);
    return segment.indexAtOffset(position - segment.startPosition);
  }

  /** Term of entry `index`; 0 for index 0. Throws NOT_FOUND outside the log, CorruptRecordError on a bad header. */
  async termAt(index: number): Promise<number> {
    if (index === 0) return 0;
    if (index === this.lastIndexValue) return this.lastTermValue;
    this.assertReadable(index);
    const cached = this.cache.get(index);
    if (cached !== undefined) return parseRecordHeader(cached.record).term;
    return readTerm(findSegmentByIndex(this.segments, index), index, this.logger);
  }

  /**
   * Drops every entry after `index` durably (ftruncate + fsync, later segments unlinked, directory
   * fsynced); a no-op when `index >= lastIndex`. Raft conflict resolution on a follower: the caller must
   * not append concurrently (such appends throw PRECONDITION_FAILED). Throws PRECONDITION_FAILED when
   * `index < firstIndex - 1`; a failure while cutting is fatal (FatalStoreError).
   */
  async truncateAfter(index: number): Promise<void> {
    this.assertWritable();
    assertU64('index', index);
    if (index >= this.lastIndexValue) return;
    if (index < this.firstIndex - 1) throw new LedgerError('PRECONDITION_FAILED', `cannot truncate after ${index}: first index is ${this.firstIndex}`);
    this.isTruncating = true;
    try {
      // Entries admitted from the back-pressure queue while we wait extend the end: drain them all.
      while (this.writtenEndPosition < this.endPositionValue) await this.waitWritten(this.endPositionValue);
      while (this.syncInFlight !== null) await this.syncInFlight;
      const segmentIndex = this.segments.indexOf(findSegmentByIndex(this.segments, index + 1));
      const segment = this.segments[segmentIndex];
      // A cut at a segment's start needs no lookup (a damaged header may hide later offsets).
      const offset = index + 1 === segment.firstIndex ? 0 : await segment.offsetOf(index + 1);
      const newLastTerm = index >= this.firstIndex ? await this.termAt(index) : 0;
      // Counted before the bytes go: a read racing with the cut can tell it saw a moving log.
      this.truncationCount += 1;
      await this.cut(segmentIndex, offset, index);
      this.lastTermValue = newLastTerm;
    } finally {
      this.isTruncating = false;
    }
  }

  /** Flushes (unless the log failed) and closes every file. Later calls throw. */
  async close(): Promise<void> {
    if (this.isClosed) return;
    if (this.fatal === null) await this.flush();
    this.isClosed = true;
    for (const segment of this.segments) await segment.close();
  }

  private assign(entries: ReadonlyArray<AppendEntry>): AppendedEntry[] {
    let term = this.lastTermValue;
    for (const entry of entries) {
      if (entry.term < term) throw new LedgerError('PRECONDITION_FAILED', `term ${entry.term} is below the log's last term ${term}`);
      term = entry.term;
    }
    entries.forEach((entry, i) => {
      if (entry.record === undefined) return;
      const header = parseRecordHeader(entry.record);
      const expected = this.lastIndexValue + 1 + i;
      if (header.index !== expected || header.term !== entry.term || header.totalSize !== entry.record.length) {
        throw new LedgerError('PRECONDITION_FAILED', `replicated record ${header.index}/${header.term} does not fit at index ${expected}`);
      }
    });
    const assigned: AppendedEntry[] = [];
    for (const entry of entries) {
      const index = this.lastIndexValue + 1;
      const totalSize = RECORD_HEADER_SIZE_BYTES + entry.body.length;
      let segment = this.segments.at(-1);
      if (segment === undefined || (segment.sizeBytes > 0 && segment.sizeBytes + totalSize > this.segmentSizeBytes)) {
        segment = new LogSegment(this.dir, this.endPositionValue, index, false);
        this.segments.push(segment);
      }
      const fileOffset = segment.sizeBytes;
      const record = entry.record ?? encodeRecord({ term: entry.term, index, entryType: entry.type, storeTimestampMs: entry.storeTimestampMs, body: entry.body });
      segment.noteAssigned(index, fileOffset, totalSize);
      const position = segment.startPosition + fileOffset;
      this.pending.push({ segment, fileOffset, record, index, endPosition: position + totalSize });
      this.pendingBytes += totalSize;
      this.cache.set(index, { record, position });
      this.cacheBytes += totalSize;
      this.lastIndexValue = index;
      this.lastTermValue = entry.term;
      this.endPositionValue = position + totalSize;
      assigned.push({ index, term: entry.term, position, bodyPosition: position + RECORD_HEADER_SIZE_BYTES, totalSize });
    }
    if (!this.isWriterRunning) {
      this.isWriterRunning = true;
      void this.runWriter();
    }
    return assigned;
  }

  /** The single writer: drains `pending` in order, one writev per run of records of one segment. Never rejects. */
  private async runWriter(): Promise<void> {
    let segment: LogSegment | null = null;
    try {
      while (this.pending.length > 0 && this.fatal === null) {
        const first = this.pending[0];
        segment = first.segment;
        let count = 0;
        let bytes = 0;
        while (count < this.pending.length && count < MAX_BUFFERS_PER_WRITE && bytes < MAX_BYTES_PER_WRITE && this.pending[count].segment === segment) {
          bytes += this.pending[count].record.length;
          count += 1;
        }
        const batch = this.pending.slice(0, count);
        if (this.faults.failWrite?.() === true) throw new Error('injected write failure');
        await segment.writeAll(batch.map((write) => write.record), first.fileOffset);
        this.writeCalls += 1;
        this.pending.splice(0, count);
        this.pendingBytes -= bytes;
        const last = batch[count - 1];
        segment.writtenBytes = last.endPosition - segment.startPosition;
        this.writtenEndPosition = last.endPosition;
        this.settleWaiters();
      }
    } catch (error) {
      this.failFatal(segment?.filePath ?? this.dir, 'write', error);
    } finally {
      this.isWriterRunning = false;
    }
  }

  private settleWaiters(): void {
    const stillWaiting = this.positionWaiters.filter((waiter) => waiter.endPosition > this.writtenEndPosition);
    const ready = this.positionWaiters.filter((waiter) => waiter.endPosition <= this.writtenEndPosition);
    this.positionWaiters = stillWaiting;
    for (const waiter of ready) waiter.resolve();
    while (this.admissionQueue.length > 0) {
      const next = this.admissionQueue[0];
      if (this.pendingBytes > 0 && this.pendingBytes + next.bytes > this.maxPendingBytes) break;
      this.admissionQueue.shift();
      try {
        next.resolve(this.assign(next.entries));
      } catch (error) {
        next.reject(error instanceof Error ? error : new Error(String(error)));
      }
    }
    this.evictCache();
  }

  private evictCache(): void {
    for (const [index, cached] of this.cache) {
      if (this.cacheBytes <= this.cacheMaxBytes && this.cache.size <= CACHE_MAX_ENTRIES) break;
      if (cached.position + cached.record.length > this.writtenEndPosition) break;
      this.cache.delete(index);
      this.cacheBytes -= cached.record.length;
    }
  }

  private waitWritten(endPosition: number): Promise<void> {
    if (this.fatal !== null) return Promise.reject(this.fatal);
    if (endPosition <= this.writtenEndPosition) return Promise.resolve();
    return new Promise<void>((resolve, reject) => this.positionWaiters.push({ endPosition, resolve, reject }));
  }

  private startSync(): Promise<void> {
    const sync = (async (): Promise<void> => {
      try {
        const coversIndex = this.lastIndexValue;
        await this.waitWritten(this.endPositionValue);
        const dirty = this.segments.filter((segment) => segment.writtenBytes > segment.syncedBytes).map((segment) => ({ segment, bytes: segment.writtenBytes }));
        const newFiles = this.segments.filter((segment) => segment.existsOnDisk && !segment.directorySynced);
        for (const { segment, bytes } of dirty) {
          try {
            if (this.faults.failFsync?.() === true) throw new Error('injected fsync failure');
            await (await segment.handle()).datasync();
          } catch (error) {
            throw this.failFatal(segment.filePath, 'fdatasync', error);
          }
          this.fsyncCalls += 1;
          segment.syncedBytes = Math.max(segment.syncedBytes, bytes);
        }
        if (newFiles.length > 0) {
          await this.syncDirectory();
          for (const segment of newFiles) segment.directorySynced = true;
        }
        if (coversIndex > this.durableIndexValue) {
          this.durableIndexValue = coversIndex;
          this.onDurable?.(coversIndex);
        }
      } finally {
        this.syncInFlight = null;
      }
    })();
    this.syncInFlight = sync;
    return sync;
  }

  private async syncDirectory(): Promise<void> {
    let handle: FileHandle | null = null;
    try {
      handle = await open(this.dir, 'r');
      await handle.sync();
    } catch (error) {
      throw this.failFatal(this.dir, 'directory fsync', error);
    } finally {
      await handle?.close();
    }
  }

  /** Cuts the log so that `lastIndex` becomes `index` at file offset `offset` of segment number `segmentIndex`. */
  private async cut(segmentIndex: number, offset: number, index: number): Promise<void> {
    const segment = this.segments[segmentIndex];
    try {
      for (const later of this.segments.slice(segmentIndex + 1)) {
        await later.close();
        if (later.existsOnDisk) await unlink(later.filePath);
      }
      const handle = await segment.handle();
      await handle.truncate(offset);
      if (this.faults.failFsync?.() === true) throw new Error('injected fsync failure');
      await handle.datasync();
      await this.syncDirectory();
    } catch (error) {
      throw this.failFatal(segment.filePath, 'truncate', error);
    }
    this.segments.length = segmentIndex + 1;
    segment.entryCount = index + 1 - segment.firstIndex;
    segment.sizeBytes = segment.writtenBytes = segment.syncedBytes = offset;
    segment.keepSparseFor(segment.entryCount);
    this.lastIndexValue = index;
    this.endPositionValue = this.writtenEndPosition = segment.startPosition + offset;
    if (index < this.durableIndexValue) {
      this.durableIndexValue = index;
      this.onDurable?.(index);
    }
    for (const [cachedIndex, cached] of this.cache) {
      if (cachedIndex <= index) continue;
      this.cache.delete(cachedIndex);
      this.cacheBytes -= cached.record.length;
    }
    this.logger.warn({ segmentFile: segment.fileName, position: this.endPositionValue, lastIndex: index }, 'commit log truncated after index');
  }

  private failFatal(file: string, operation: string, error: unknown): FatalStoreError {
    if (this.fatal !== null) return this.fatal;
    const fatal = error instanceof FatalStoreError ? error : new FatalStoreError(file, operation, error);
    this.fatal = fatal;
    this.logger.fatal({ err: fatal, file, operation }, 'commit log failed; refusing further writes');
    for (const waiter of this.positionWaiters) waiter.reject(fatal);
    for (const waiter of this.admissionQueue) waiter.reject(fatal);
    this.positionWaiters = [];
    this.admissionQueue = [];
    return fatal;
  }

  private assertReadable(index: number): void {
    if (this.isClosed) throw new LedgerError('INTERNAL_ERROR', 'commit log is closed');
    if (!Number.isSafeInteger(index) || index < this.firstIndex || index > this.lastIndexValue) {
      throw new LedgerError('NOT_FOUND', `index ${index} is outside [${this.firstIndex}, ${this.lastIndexValue}]`);
    }
  }

  private assertWritable(): void {
    if (this.fatal !== null) throw this.fatal;
    if (this.isClosed) throw new LedgerError('INTERNAL_ERROR', 'commit log is closed');
    if (this.isTruncating) throw new LedgerError('PRECONDITION_FAILED', 'commit log is being truncated');
  }
}

function assertU64(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new LedgerError('BAD_REQUEST', `${name} must be a non-negative safe integer, got ${value}`);
}
