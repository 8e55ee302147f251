import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { CorruptRecordError, LedgerError } from '../common/errors.js';
import { FatalStoreError } from './fatal-store-error.js';
import { RECORD_HEADER_SIZE_BYTES, SPARSE_INDEX_INTERVAL, isPlausibleHeader, parseRecordHeader, segmentFileName } from './record-format.js';

/** Bytes read at a time when walking record headers. */
const WALK_CHUNK_BYTES = 64 * 1024;

/**
 * One CommitLog segment file: bookkeeping of what is assigned, written and fsynced, the sparse
 * index (file offset of every {@link SPARSE_INDEX_INTERVAL}-th record) and the lazily opened file handle.
 * Owned by one CommitLog; not safe to share.
 */
export class LogSegment {
  /** Absolute log position of byte 0 of this file. */
  readonly startPosition: number;
  /** File name (20-digit start position). */
  readonly fileName: string;
  /** Full path of the file. */
  readonly filePath: string;
  /** Index of the first record; meaningful once {@link entryCount} > 0 (else the next index to assign). */
  firstIndex: number;
  /** Records assigned to this segment (written or not). */
  entryCount: number;
  /** Bytes assigned to this segment (written or not). */
  sizeBytes: number;
  /** Bytes known to be written to the file. */
  writtenBytes: number;
  /** Bytes known to be fsynced. */
  syncedBytes: number;
  /**
   * File offsets of records `firstIndex + k * SPARSE_INDEX_INTERVAL`; `null` until built (segments
   * recovery did not scan build it lazily on first lookup, and they never change afterwards).
   */
  sparse: number[] | null;
  /**
   * Whether {@link sparse} covers every record. False when a damaged header stopped the walk that
   * built it: it then holds the entries before the damage, so records up to the damaged one can
   * still be found (and the log cut there); lookups past it walk into the damage and throw.
   */
  sparseComplete: boolean;
  /** Whether the file exists on disk (else it is created on first write). */
  existsOnDisk: boolean;
  /** Whether the directory entry of the file is known durable (directory fsynced after creation). */
  directorySynced: boolean;
  private handlePromise: Promise<FileHandle> | null = null;
  private sparseBuild: Promise<number[]> | null = null;

  constructor(dir: string, startPosition: number, firstIndex: number, existsOnDisk: boolean) {
    this.startPosition = startPosition;
    this.fileName = segmentFileName(startPosition);
    this.filePath = path.join(dir, this.fileName);
    this.firstIndex = firstIndex;
    this.entryCount = 0;
    this.sizeBytes = 0;
    this.writtenBytes = 0;
    this.syncedBytes = 0;
    this.sparse = [];
    this.sparseComplete = true;
    this.existsOnDisk = existsOnDisk;
    this.directorySynced = existsOnDisk;
  }

  /** Index of the last record, `firstIndex - 1` when empty. */
  get lastIndex(): number {
    return this.firstIndex + this.entryCount - 1;
  }

  /** Absolute position just past the last assigned byte. */
  get endPosition(): number {
    return this.startPosition + this.sizeBytes;
  }

  /** Records the assignment of one record at file offset `offset`; keeps the sparse index up to date. */
  noteAssigned(index: number, offset: number, totalSize: number): void {
    if (this.entryCount === 0) this.firstIndex = index;
    if (this.sparse !== null && this.sparseComplete && (index - this.firstIndex) % SPARSE_INDEX_INTERVAL === 0) this.sparse.push(offset);
    this.entryCount += 1;
    this.sizeBytes = offset + totalSize;
  }

  /**
   * The file handle (read/write), opened on first use; creates the file when it does not exist yet.
   * Throws FatalStoreError when the file cannot be opened or created.
   */
  handle(): Promise<FileHandle> {
    if (this.handlePromise === null) {
      const flags = this.existsOnDisk ? 'r+' : 'w+';
      this.handlePromise = open(this.filePath, flags).then(
        (handle) => {
          this.existsOnDisk = true;
          return handle;
        },
        (error: unknown) => {
          this.handlePromise = null;
          throw new FatalStoreError(this.filePath, `open(${flags})`, error);
        },
      );
    }
    return this.handlePromise;
  }

  /** Reads exactly `length` bytes at file offset `offset`; a short read means the file lost bytes. */
  async readAt(offset: number, length: number): Promise<Buffer> {
    const handle = await this.handle();
    const buffer = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await handle.read(buffer, done, length - done, offset + done);
      if (bytesRead === 0) throw new CorruptRecordError(this.fileName, this.startPosition + offset, `short read: ${done} of ${length} bytes`);
      done += bytesRead;
    }
    return buffer;
  }

  /**
   * The sparse index, walking the record headers of the file once when it was not built yet. A
   * damaged header ends the walk: the index is then partial ({@link sparseComplete} false). An I/O
   * error is not kept: the next lookup walks again.
   */
  async sparseIndex(): Promise<number[]> {
    if (this.sparse !== null) return this.sparse;
    this.sparseBuild ??= this.walkHeaders(0, this.entryCount, true).then(
      (result) => {
        this.sparse = result.sparse;
        this.sparseComplete = result.walked === this.entryCount;
        return result.sparse;
      },
      (error: unknown) => {
        this.sparseBuild = null;
        throw error;
      },
    );
    return this.sparseBuild;
  }

  /**
   * After a cut that keeps `entryCount` records: drops the sparse entries past them. A partial
   * index that does not reach them all is dropped, to be walked again on the next lookup.
   */
  keepSparseFor(entryCount: number): void {
    if (this.sparse === null) return;
    const slots = Math.ceil(entryCount / SPARSE_INDEX_INTERVAL);
    if (this.sparse.length >= slots) {
      this.sparse.length = slots;
      this.sparseComplete = true;
      return;
    }
    this.sparse = null;
    this.sparseBuild = null;
  }

  /**
   * File offset of record `index` (which must be in this segment and written): nearest sparse entry,
   * then a forward walk over headers counting records (the index fields are not trusted, so a record
   * corrupt in place is still stepped over by its size).
   */
  async offsetOf(index: number): Promise<number> {
    if (index === this.firstIndex) return 0;
    const sparse = await this.sparseIndex();
    const relative = index - this.firstIndex;
    const slot = Math.min(Math.floor(relative / SPARSE_INDEX_INTERVAL), sparse.length - 1);
    const from = sparse[slot];
    if (from === undefined) throw new CorruptRecordError(this.fileName, this.startPosition, `no sparse entry for index ${index}`);
    const walk = await this.walkHeaders(from, relative - slot * SPARSE_INDEX_INTERVAL, false);
    return walk.endOffset;
  }

  /** Index of the written record holding file offset `offset` (the last one starting at or before it). */
  async indexAtOffset(offset: number): Promise<number> {
    let low = this.firstIndex;
    let high = this.firstIndex + this.entryCount - 1;
    while (low < high) {
      const middle = Math.ceil((low + high) / 2);
      if ((await this.offsetOf(middle)) <= offset) low = middle;
      else high = middle - 1;
    }
    return low;
  }

  /**
   * Walks `count` records from `fromOffset` by their header sizes. When building the sparse index
   * a damaged header ends the walk early (`walked` < `count`); otherwise it throws CorruptRecordError.
   */
  private async walkHeaders(fromOffset: number, count: number, buildSparse: boolean): Promise<{ endOffset: number; sparse: number[]; walked: number }> {
    const sparse: number[] = [];
    let offset = fromOffset;
    let chunk: Buffer = Buffer.alloc(0);
    let chunkStart = 0;
    for (let walked = 0; walked < count; walked += 1) {
      if (offset < chunkStart || offset + RECORD_HEADER_SIZE_BYTES > chunkStart + chunk.length) {
        const length = Math.min(WALK_CHUNK_BYTES, this.writtenBytes - offset);
        if (length < RECORD_HEADER_SIZE_BYTES) {
          if (buildSparse) return { endOffset: offset, sparse, walked };
          throw new CorruptRecordError(this.fileName, this.startPosition + offset, 'record header past the written end');
        }
        chunk = await this.readAt(offset, length);
        chunkStart = offset;
      }
      const header = parseRecordHeader(chunk, offset - chunkStart);
      if (!isPlausibleHeader(header)) {
        if (buildSparse) return { endOffset: offset, sparse, walked };
        throw new CorruptRecordError(this.fileName, this.startPosition + offset, 'implausible header while walking');
      }
      if (buildSparse && walked % SPARSE_INDEX_INTERVAL === 0) sparse.push(offset);
      offset += header.totalSize;
    }
    return { endOffset: offset, sparse, walked: count };
  }

  /** Writes `buffers` contiguously at file offset `fileOffset` (writev, repeated until every byte is written). */
  async writeAll(buffers: Buffer[], fileOffset: number): Promise<void> {
    const handle = await this.handle();
    let remaining = buffers;
    let offset = fileOffset;
    while (remaining.length > 0) {
      const { bytesWritten } = await handle.writev(remaining, offset);
      offset += bytesWritten;
      let skip = bytesWritten;
      const rest: Buffer[] = [];
      for (const buffer of remaining) {
        if (skip >= buffer.length) {
          skip -= buffer.length;
        } else {
          rest.push(skip > 0 ? buffer.subarray(skip) : buffer);
          skip = 0;
        }
      }
      remaining = rest;
    }
  }

  /** Closes the file handle if open. */
  async close(): Promise<void> {
    const pending = this.handlePromise;
    this.handlePromise = null;
    if (pending === null) return;
    const handle = await pending;
    await handle.close();
  }
}

/** The segment holding record `index`. Throws LedgerError NOT_FOUND when no segment does. */
export function findSegmentByIndex(segments: readonly LogSegment[], index: number): LogSegment {
  let low = 0;
  let high = segments.length - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const segment = segments[middle];
    if (segment.entryCount > 0 && index < segment.firstIndex) high = middle - 1;
    else if (segment.entryCount === 0 || index > segment.lastIndex) low = middle + 1;
    else return segment;
  }
  throw new LedgerError('NOT_FOUND', `index ${index} is not in the log`);
}

/** The last segment starting at or before `position`. Precondition: `segments` is not empty. */
export function findSegmentByPosition(segments: readonly LogSegment[], position: number): LogSegment {
  let low = 0;
  let high = segments.length - 1;
  while (low < high) {
    const middle = (low + high + 1) >>> 1;
    if (segments[middle].startPosition <= position) low = middle;
    else high = middle - 1;
  }
  return segments[low];
}
