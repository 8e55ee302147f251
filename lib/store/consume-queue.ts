import fs from 'node:fs';
import { mkdir, open, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { LedgerError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { FatalStoreError } from './fatal-store-error.js';
import { CONSUME_QUEUE_UNIT_SIZE_BYTES as UNIT, ConsumeQueueUnitField, readSafeU64, segmentFileName, parseSegmentFileName, writeSafeU64 } from './record-format.js';

/** What a unit points at: a stored message in the CommitLog and its tag hash. */
export interface ConsumeQueueUnit {
  /** Absolute CommitLog position of the stored message. */
  position: number;
  /** Size of the stored message in bytes. */
  size: number;
  /** tagHash(tag); 0n for no tag. */
  tagHash: bigint;
}

/** A unit with its queue offset. */
export interface ConsumeQueueEntry extends ConsumeQueueUnit {
  offset: number;
}

/** Options of one queue; filled in by ConsumeQueueStore. */
export interface ConsumeQueueOptions {
  /** Directory of this queue: <root>/<topic>/<queueId>. */
  dir: string;
  topic: string;
  queueId: number;
  unitsPerFile: number;
  /** Units appended but not yet written above which {@link ConsumeQueue.writable} waits; `append` throws at 4x. */
  maxPendingUnits: number;
  logger: Logger;
}

const MAX_UNITS_PER_WRITE = 65536;

/**
 * The ConsumeQueue of one (topic, queueId): queue offset → 20-byte unit. Units are appended in
 * CommitLog order (positions never decrease), held in memory and written in order by one background
 * writer; {@link flush} makes them durable. A failed write or fsync is fatal (FatalStoreError from
 * then on). Owned by one ConsumeQueueStore.
 */
export class ConsumeQueue {
  readonly topic: string;
  readonly queueId: number;
  private readonly options: ConsumeQueueOptions;
  /** Start offsets (unit numbers) of the files on disk, ascending. */
  private fileStarts: number[];
  private minOffsetValue: number;
  private count: number;
  private writtenCount: number;
  private syncedCount: number;
  private lastPosition: number;
  private pending: ConsumeQueueEntry[] = [];
  private isWriterRunning = false;
  private readonly handles = new Map<number, FileHandle>();
  private readonly unsyncedFiles = new Set<number>();
  private isDirectoryDirty = false;
  private waiters: Array<{ isReady: () => boolean; resolve: () => void; reject: (error: Error) => void }> = [];
  private flushInFlight: Promise<void> | null = null;
  private fatal: FatalStoreError | null = null;

  private constructor(options: ConsumeQueueOptions, fileStarts: number[], count: number, lastPosition: number) {
    this.options = options;
    this.topic = options.topic;
    this.queueId = options.queueId;
    this.fileStarts = fileStarts;
    this.minOffsetValue = fileStarts[0] ?? count;
    this.count = this.writtenCount = this.syncedCount = count;
    this.lastPosition = lastPosition;
  }

  /**
   * Loads the queue in `options.dir` (startup only: synchronous fs). Cuts a torn last unit and removes
   * files after a short or missing file (logged at warn). Throws LedgerError when a file name is not
   * aligned to `unitsPerFile` (the setting changed) and on I/O errors.
   */
  static load(options: ConsumeQueueOptions): ConsumeQueue {
    const fileBytes = options.unitsPerFile * UNIT;
    const names = fs.existsSync(options.dir) ? fs.readdirSync(options.dir) : [];
    const starts: number[] = [];
    for (const name of names) {
      const byteOffset = parseSegmentFileName(name);
      if (byteOffset === null) continue;
      if (byteOffset % fileBytes !== 0) throw new LedgerError('INTERNAL_SERVER_ERROR', `consume queue file ${path.join(options.dir, name)} is not aligned to ${options.unitsPerFile} units per file`);
      starts.push(byteOffset / UNIT);
    }
    starts.sort((a, b) => a - b);
    let count = 0;
    for (let i = 0; i < starts.length; i += 1) {
      const start = starts[i];
      const file = path.join(options.dir, segmentFileName(start * UNIT));
      const size = fs.statSync(file).size;
      const next = starts[i + 1];
      const whole = Math.min(Math.floor(size / UNIT), options.unitsPerFile);
      const isBroken = next !== undefined && (whole < options.unitsPerFile || next !== start + options.unitsPerFile);
      if (size !== whole * UNIT) {
        fs.truncateSync(file, whole * UNIT);
        options.logger.warn({ file, size, keptBytes: whole * UNIT }, 'consume queue: cut a torn unit');
      }
      count = start + whole;
      if (isBroken) {
        for (const later of starts.slice(i + 1)) fs.unlinkSync(path.join(options.dir, segmentFileName(later * UNIT)));
        options.logger.warn({ file, removedFrom: next }, 'consume queue: file short or gap; removed later files');
        starts.length = i + 1;
      }
    }
    let lastPosition = 0;
    const lastStart = starts.at(-1);
    if (lastStart !== undefined && count > lastStart) {
      const buffer = Buffer.alloc(UNIT);
      const fd = fs.openSync(path.join(options.dir, segmentFileName(lastStart * UNIT)), 'r');
      try {
        fs.readSync(fd, buffer, 0, UNIT, (count - 1 - lastStart) * UNIT);
      } finally {
        fs.closeSync(fd);
      }
      lastPosition = Math.max(0, readSafeU64(buffer, ConsumeQueueUnitField.POSITION));
    }
    return new ConsumeQueue(options, starts, count, lastPosition);
  }

  /** A queue with no files yet (its directory is created on the first write). No fs access. */
  static createEmpty(options: ConsumeQueueOptions): ConsumeQueue {
    return new ConsumeQueue(options, [], 0, 0);
  }

  /** Smallest offset still stored. */
  get minOffset(): number {
    return this.minOffsetValue;
  }

  /** Next offset to assign (= number of units ever appended, as offsets start at 0). */
  get maxOffset(): number {
    return this.count;
  }

  /** Units not yet written to their file. */
  get pendingUnits(): number {
    return this.pending.length;
  }

  /**
   * Appends a unit and returns its queue offset (visible to {@link read} at once; written asynchronously,
   * in order). Precondition: `unit.position` is not below the previous unit's. Throws BAD_REQUEST on
   * invalid fields, PRECONDITION_FAILED on a position regression, TOO_MANY_REQUESTS when 4x
   * `maxPendingUnits` are unwritten (await {@link writable} to avoid it), FatalStoreError after a failure.
   */
  append(unit: ConsumeQueueUnit): number {
    if (this.fatal !== null) throw this.fatal;
    if (!Number.isSafeInteger(unit.position) || unit.position < 0 || !Number.isInteger(unit.size) || unit.size < 0 || unit.size > 0xffffffff || unit.tagHash < 0n || unit.tagHash > 0xffffffffffffffffn) {
      throw new LedgerError('BAD_REQUEST', `invalid consume queue unit ${JSON.stringify({ position: unit.position, size: unit.size, tagHash: String(unit.tagHash) })}`);
    }
    if (unit.position < this.lastPosition) throw new LedgerError('PRECONDITION_FAILED', `unit position ${unit.position} is below the last position ${this.lastPosition}`);
    if (this.pending.length >= 4 * this.options.maxPendingUnits) throw new LedgerError('TOO_MANY_REQUESTS', `consume queue ${this.topic}/${this.queueId} has ${this.pending.length} unwritten units`);
    const offset = this.count;
    this.pending.push({ offset, position: unit.position, size: unit.size, tagHash: unit.tagHash });
    this.count += 1;
    this.lastPosition = unit.position;
    if (!this.isWriterRunning) {
      this.isWriterRunning = true;
      void this.runWriter();
    }
    return offset;
  }

  /** Resolves when fewer than `maxPendingUnits` units wait to be written (the dispatcher's back-pressure). */
  writable(): Promise<void> {
    return this.waitUntil(() => this.pending.length < this.options.maxPendingUnits);
  }

  /**
   * Up to `maxUnits` units from `offset` (written or still pending). Returns [] at or past
   * {@link maxOffset}; throws ILLEGAL_OFFSET below {@link minOffset} or for a non-integer offset.
   */
  async read(offset: number, maxUnits: number): Promise<ConsumeQueueEntry[]> {
    if (!Number.isSafeInteger(offset) || offset < this.minOffsetValue) throw new LedgerError('ILLEGAL_OFFSET', `offset ${offset} is below the min offset ${this.minOffsetValue}`);
    const end = Math.min(this.count, offset + Math.max(0, Math.floor(maxUnits)));
    const entries: ConsumeQueueEntry[] = [];
    let next = offset;
    while (next < end && next < this.writtenCount) {
      const fileStart = this.fileStartOf(next);
      const units = Math.min(end, this.writtenCount, fileStart + this.options.unitsPerFile) - next;
      const bytes = await this.readFile(fileStart, (next - fileStart) * UNIT, units * UNIT);
      for (let i = 0; i < units; i += 1) entries.push(decodeUnit(bytes, i * UNIT, next + i));
      next += units;
    }
    const firstPending = this.pending[0]?.offset ?? this.count;
    for (; next < end; next += 1) entries.push({ ...this.pending[next - firstPending] });
    return entries;
  }

  /** Writes and fsyncs every unit appended before the call; concurrent callers share the fsync. */
  async flush(): Promise<void> {
    if (this.fatal !== null) throw this.fatal;
    const target = this.count;
    while (this.syncedCount < Math.min(target, this.count)) await (this.flushInFlight ?? this.startFlush());
  }

  /**
   * Removes every unit whose CommitLog position is >= `commitLogPosition` (recovery, before re-dispatching
   * from a checkpoint), durably. Waits for pending writes first; the caller must not append concurrently.
   */
  async truncateFromPosition(commitLogPosition: number): Promise<void> {
    if (this.fatal !== null) throw this.fatal;
    await this.waitUntil(() => this.pending.length === 0);
    while (this.flushInFlight !== null) await this.flushInFlight;
    let low = this.minOffsetValue;
    let high = this.count;
    while (low < high) {
      const middle = Math.floor((low + high) / 2);
      const [unit] = await this.read(middle, 1);
      if (unit.position >= commitLogPosition) high = middle;
      else low = middle + 1;
    }
    const cut = low;
    if (cut >= this.count) return;
    const before = cut > this.minOffsetValue ? (await this.read(cut - 1, 1))[0].position : 0;
    const cutFile = this.fileStartOf(cut);
    try {
      for (const start of this.fileStarts.filter((fileStart) => fileStart > cutFile)) {
        await this.closeHandle(start);
        await unlink(this.filePath(start));
      }
      const handle = await this.handleFor(cutFile);
      await handle.truncate((cut - cutFile) * UNIT);
      await handle.datasync();
      await this.syncDirectory();
    } catch (error) {
      throw this.failFatal(this.filePath(cutFile), 'truncate', error);
    }
    this.options.logger.info({ topic: this.topic, queueId: this.queueId, fromOffset: cut, removedUnits: this.count - cut, commitLogPosition }, 'consume queue truncated');
    this.fileStarts = this.fileStarts.filter((fileStart) => fileStart <= cutFile);
    this.count = this.writtenCount = cut;
    this.syncedCount = Math.min(this.syncedCount, cut);
    this.lastPosition = before;
  }

  /** Flushes (unless failed) and closes the files. */
  async close(): Promise<void> {
    if (this.fatal === null) await this.flush();
    for (const start of [...this.handles.keys()]) await this.closeHandle(start);
  }

  private fileStartOf(offset: number): number {
    return offset - (offset % this.options.unitsPerFile);
  }

  private filePath(fileStart: number): string {
    return path.join(this.options.dir, segmentFileName(fileStart * UNIT));
  }

  private async runWriter(): Promise<void> {
    let fileStart = 0;
    try {
      while (this.pending.length > 0 && this.fatal === null) {
        const first = this.pending[0].offset;
        fileStart = this.fileStartOf(first);
        const units = Math.min(this.pending.length, MAX_UNITS_PER_WRITE, fileStart + this.options.unitsPerFile - first);
        const buffer = Buffer.allocUnsafe(units * UNIT);
        for (let i = 0; i < units; i += 1) encodeUnit(buffer, i * UNIT, this.pending[i]);
        const handle = await this.handleFor(fileStart);
        let written = 0;
        while (written < buffer.length) {
          const result = await handle.write(buffer, written, buffer.length - written, (first - fileStart) * UNIT + written);
          written += result.bytesWritten;
        }
        this.pending.splice(0, units);
        this.writtenCount = first + units;
        this.unsyncedFiles.add(fileStart);
        this.settleWaiters();
      }
    } catch (error) {
      this.failFatal(this.filePath(fileStart), 'write', error);
    } finally {
      this.isWriterRunning = false;
    }
  }

  private startFlush(): Promise<void> {
    const run = (async (): Promise<void> => {
      try {
        const covers = this.count;
        await this.waitUntil(() => this.writtenCount >= covers);
        const files = [...this.unsyncedFiles];
        this.unsyncedFiles.clear();
        for (const fileStart of files) {
          try {
            await (await this.handleFor(fileStart)).datasync();
          } catch (error) {
            throw this.failFatal(this.filePath(fileStart), 'fdatasync', error);
          }
        }
        if (this.isDirectoryDirty) await this.syncDirectory();
        const lastFile = this.fileStarts.at(-1);
        for (const fileStart of files) if (fileStart !== lastFile) await this.closeHandle(fileStart);
        this.syncedCount = Math.max(this.syncedCount, covers);
      } finally {
        this.flushInFlight = null;
      }
    })();
    this.flushInFlight = run;
    return run;
  }

  private async handleFor(fileStart: number): Promise<FileHandle> {
    const existing = this.handles.get(fileStart);
    if (existing !== undefined) return existing;
    const exists = this.fileStarts.includes(fileStart);
    if (!exists) await mkdir(this.options.dir, { recursive: true });
    const handle = await open(this.filePath(fileStart), exists ? 'r+' : 'w+');
    this.handles.set(fileStart, handle);
    if (!exists) {
      this.fileStarts.push(fileStart);
      this.fileStarts.sort((a, b) => a - b);
      this.isDirectoryDirty = true;
    }
    return handle;
  }

  private async closeHandle(fileStart: number): Promise<void> {
    const handle = this.handles.get(fileStart);
    this.handles.delete(fileStart);
    await handle?.close();
  }

  /** Reads from the kept handle of the newest file, else opens the file for this read only. */
  private async readFile(fileStart: number, byteOffset: number, length: number): Promise<Buffer> {
    const kept = fileStart === this.fileStarts.at(-1) ? this.handles.get(fileStart) : undefined;
    const handle = kept ?? (await open(this.filePath(fileStart), 'r'));
    try {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, byteOffset);
      if (bytesRead !== length) throw new LedgerError('INTERNAL_SERVER_ERROR', `consume queue file ${this.filePath(fileStart)} is short: ${bytesRead} of ${length} bytes at ${byteOffset}`);
      return buffer;
    } finally {
      if (kept === undefined) await handle.close();
    }
  }

  private async syncDirectory(): Promise<void> {
    const handle = await open(this.options.dir, 'r');
    try {
      await handle.sync();
      this.isDirectoryDirty = false;
    } catch (error) {
      throw this.failFatal(this.options.dir, 'directory fsync', error);
    } finally {
      await handle.close();
    }
  }

  private waitUntil(isReady: () => boolean): Promise<void> {
    if (this.fatal !== null) return Promise.reject(this.fatal);
    if (isReady()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => this.waiters.push({ isReady, resolve, reject }));
  }

  private settleWaiters(): void {
    const ready = this.waiters.filter((waiter) => waiter.isReady());
    this.waiters = this.waiters.filter((waiter) => !ready.includes(waiter));
    for (const waiter of ready) waiter.resolve();
  }

  private failFatal(file: string, operation: string, error: unknown): FatalStoreError {
    if (this.fatal === null) {
      this.fatal = error instanceof FatalStoreError ? error : new FatalStoreError(file, operation, error);
      this.options.logger.fatal({ err: this.fatal, topic: this.topic, queueId: this.queueId }, 'consume queue failed; refusing further writes');
      for (const waiter of this.waiters) waiter.reject(this.fatal);
      this.waiters = [];
    }
    return this.fatal;
  }
}

function encodeUnit(buffer: Buffer, at: number, unit: ConsumeQueueUnit): void {
  writeSafeU64(buffer, unit.position, at + ConsumeQueueUnitField.POSITION);
  buffer.writeUInt32BE(unit.size, at + ConsumeQueueUnitField.SIZE);
  buffer.writeBigUInt64BE(unit.tagHash, at + ConsumeQueueUnitField.TAG_HASH);
}

function decodeUnit(buffer: Buffer, at: number, offset: number): ConsumeQueueEntry {
  return {
    offset,
    position: readSafeU64(buffer, at + ConsumeQueueUnitField.POSITION),
    size: buffer.readUInt32BE(at + ConsumeQueueUnitField.SIZE),
    tagHash: buffer.readBigUInt64BE(at + ConsumeQueueUnitField.TAG_HASH),
  };
}
