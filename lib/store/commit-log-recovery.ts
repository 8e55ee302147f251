// Recovery runs once at open, before the log serves anything: synchronous fs calls are deliberate here.
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../common/logger.js';
import { LogSegment } from './commit-log-segment.js';
import {
  RECORD_HEADER_SIZE_BYTES,
  isPlausibleHeader,
  parseRecordHeader,
  parseSegmentFileName,
  recordDefect,
} from './record-format.js';

/** What recovery found; exposed as `CommitLog.recovery`. */
export interface RecoveryReport {
  /** Absolute position the verifying scan started at (may be below the requested checkpoint). */
  scannedFromPosition: number;
  /** Where the log was cut, or `null` when nothing was cut. */
  truncatedAtPosition: number | null;
  /** Bytes removed (the cut file's tail plus every later segment). */
  bytesCut: number;
  /** Why the log was cut, or `null`. */
  reason: string | null;
  /** Records kept although their checksum fails (valid records follow them); reads of them throw. */
  corruptRecords: Array<{ segmentFile: string; position: number; index: number }>;
}

/**
 * One report for two recoveries of a log in one start (a node opens its log again after rebuilding
 * damaged ConsumeQueues): the earlier cut is this start's too, and the records still kept corrupt
 * are the later recovery's.
 */
export function combinedRecovery(first: RecoveryReport, second: RecoveryReport): RecoveryReport {
  const cuts = [first.truncatedAtPosition, second.truncatedAtPosition].filter((position): position is number => position !== null);
  return {
    scannedFromPosition: Math.min(first.scannedFromPosition, second.scannedFromPosition),
    truncatedAtPosition: cuts.length === 0 ? null : Math.min(...cuts),
    bytesCut: first.bytesCut + second.bytesCut,
    reason: [first.reason, second.reason].filter((reason) => reason !== null).join('; ') || null,
    corruptRecords: second.corruptRecords,
  };
}

/** The recovered log state. */
export interface RecoveredLog {
  segments: LogSegment[];
  lastTerm: number;
  report: RecoveryReport;
}

const CHUNK_BYTES = 4 * 1024 * 1024;

interface SegmentFile {
  start: number;
  name: string;
  fd: number;
  size: number;
}

/** Sequential reader over one file with a reusable chunk; `null` when the range passes the end of file. */
class ChunkReader {
  private chunk: Buffer = Buffer.alloc(0);
  private chunkStart = 0;

  constructor(private readonly file: SegmentFile) {}

  read(offset: number, length: number): Buffer | null {
    if (offset + length > this.file.size) return null;
    if (offset < this.chunkStart || offset + length > this.chunkStart + this.chunk.length) {
      const size = Math.min(Math.max(CHUNK_BYTES, length), this.file.size - offset);
      this.chunk = Buffer.allocUnsafe(size);
      const bytesRead = fs.readSync(this.file.fd, this.chunk, 0, size, offset);
      this.chunk = this.chunk.subarray(0, bytesRead);
      this.chunkStart = offset;
      if (bytesRead < length) return null;
    }
    return this.chunk.subarray(offset - this.chunkStart, offset - this.chunkStart + length);
  }
}

/** Whether a fully valid record with index `expectedIndex` starts at `offset` of `reader`'s file. */
function isValidRecordAt(reader: ChunkReader, offset: number, expectedIndex: number): boolean {
  const head = reader.read(offset, RECORD_HEADER_SIZE_BYTES);
  if (head === null) return false;
  const header = parseRecordHeader(head);
  if (!isPlausibleHeader(header) || header.index !== expectedIndex) return false;
  const record = reader.read(offset, header.totalSize);
  return record !== null && recordDefect(record, 0, header) === null;
}

/**
 * Opens every segment in `dir`, verifies records from `recoverFromPosition` to the end and cuts a torn
 * or corrupt tail (ftruncate + fsync, later segments unlinked, directory fsynced). A record whose
 * checksum fails but which is followed by a valid record with the next index is kept and reported
 * (corruption in place, not a torn write). Throws only on I/O errors.
 */
export function recoverLog(dir: string, recoverFromPosition: number, logger: Logger): RecoveredLog {
  fs.mkdirSync(dir, { recursive: true });
  const files: SegmentFile[] = [];
  for (const name of fs.readdirSync(dir)) {
    const start = parseSegmentFileName(name);
    if (start === null) continue;
    const fd = fs.openSync(path.join(dir, name), 'r+');
    files.push({ start, name, fd, size: fs.fstatSync(fd).size });
  }
  files.sort((a, b) => a.start - b.start);
  try {
    return new Recovery(dir, files, logger).run(recoverFromPosition);
  } finally {
    for (const file of files) fs.closeSync(file.fd);
  }
}

class Recovery {
  private readonly segments: LogSegment[] = [];
  private readonly report: RecoveryReport = { scannedFromPosition: 0, truncatedAtPosition: null, bytesCut: 0, reason: null, corruptRecords: [] };
  private lastTerm = 0;

  constructor(
    private readonly dir: string,
    private readonly files: SegmentFile[],
    private readonly logger: Logger,
  ) {}

  run(recoverFromPosition: number): RecoveredLog {
    let [fileIndex, offset] = this.scanStart(recoverFromPosition);
    // Back up until the first scanned record is valid: its header must tell the index to expect.
    while (fileIndex > 0 || offset > 0) {
      const file = this.files[fileIndex];
      if (file === undefined) break;
      const head = new ChunkReader(file);
      const header = head.read(offset, RECORD_HEADER_SIZE_BYTES);
      if (header !== null && isValidRecordAt(head, offset, parseRecordHeader(header).index)) break;
      if (offset > 0) offset = 0;
      else fileIndex -= 1;
    }
    const scanFile = this.files[fileIndex];
    this.report.scannedFromPosition = scanFile === undefined ? 0 : scanFile.start + offset;
    let expectedIndex: number | null = null;
    for (let i = 0; i < fileIndex; i += 1) expectedIndex = this.addUnscannedSegment(i);
    for (let i = fileIndex; i < this.files.length; i += 1) {
      const file = this.files[i];
      const previous = this.files[i - 1];
      if (i > fileIndex && previous !== undefined && file.start !== previous.start + previous.size) {
        this.cut(i - 1, previous.size, `gap: segment ${file.name} does not start where ${previous.name} ends`);
        break;
      }
      const result = this.scanFile(i, i === fileIndex ? offset : 0, expectedIndex);
      expectedIndex = result.nextIndex;
      if (result.cut) break;
    }
    return { segments: this.segments, lastTerm: this.lastTerm, report: this.report };
  }

  /** [file index, offset] holding `position`; the last non-empty segment's start when it is past the end. */
  private scanStart(position: number): [number, number] {
    for (let i = 0; i < this.files.length; i += 1) {
      const file = this.files[i];
      if (position >= file.start && position < file.start + file.size) return [i, position - file.start];
    }
    for (let i = this.files.length - 1; i >= 0; i -= 1) if (this.files[i].size > 0) return [i, 0];
    return [0, 0];
  }

  /** Adds a segment below the checkpoint from its first header alone; returns the next index. */
  private addUnscannedSegment(i: number): number {
    const file = this.files[i];
    const next = this.files[i + 1];
    const firstIndex = this.headerAt(file, 0).index;
    const nextFirstIndex = this.headerAt(next, 0).index;
    const segment = new LogSegment(this.dir, file.start, firstIndex, true);
    segment.entryCount = nextFirstIndex - firstIndex;
    segment.sizeBytes = segment.writtenBytes = segment.syncedBytes = file.size;
    segment.sparse = null;
    this.segments.push(segment);
    return nextFirstIndex;
  }

  private headerAt(file: SegmentFile, offset: number): ReturnType<typeof parseRecordHeader> {
    const buffer = Buffer.alloc(RECORD_HEADER_SIZE_BYTES);
    fs.readSync(file.fd, buffer, 0, RECORD_HEADER_SIZE_BYTES, offset);
    return parseRecordHeader(buffer);
  }

  /** Verifies file `i` from `offset`; records before `offset` are trusted and only counted. */
  private scanFile(i: number, offset: number, expectedIndexIn: number | null): { nextIndex: number | null; cut: boolean } {
    const file = this.files[i];
    const reader = new ChunkReader(file);
    let expectedIndex = expectedIndexIn;
    let segment = new LogSegment(this.dir, file.start, expectedIndex ?? 1, true);
    let position = offset;
    if (offset > 0) {
      if (this.countPrefix(file, segment, offset)) {
        expectedIndex = segment.lastIndex + 1;
      } else {
        this.logger.warn({ segmentFile: file.name, offset }, 'recovery checkpoint is not a record boundary; verifying the whole segment');
        segment = new LogSegment(this.dir, file.start, expectedIndex ?? 1, true);
        position = 0;
        this.report.scannedFromPosition = file.start;
      }
    }
    this.segments.push(segment);
    while (position < file.size) {
      const head = reader.read(position, RECORD_HEADER_SIZE_BYTES);
      if (head === null) return this.cutAt(i, segment, position, 'torn header at end of file');
      const header = parseRecordHeader(head);
      if (!isPlausibleHeader(header)) return this.cutAt(i, segment, position, `implausible header (magic 0x${header.magic.toString(16)}, size ${header.totalSize})`);
      const record = reader.read(position, header.totalSize);
      if (record === null) return this.cutAt(i, segment, position, `torn record: ${header.totalSize} bytes do not fit the file`);
      let defect = recordDefect(record, 0, header);
      if (defect === null && expectedIndex !== null && header.index !== expectedIndex) defect = `index ${header.index}, expected ${expectedIndex}`;
      const index = expectedIndex ?? header.index;
      if (defect !== null) {
        if (index < 1 || !this.isFollowedByValid(i, reader, position + header.totalSize, index + 1)) {
          return this.cutAt(i, segment, position, defect);
        }
        this.report.corruptRecords.push({ segmentFile: file.name, position: file.start + position, index });
        this.logger.error({ segmentFile: file.name, position: file.start + position, index, defect }, 'commit log record corrupt in place; kept, reads of it will fail');
      } else {
        this.lastTerm = header.term;
      }
      segment.noteAssigned(index, position, header.totalSize);
      expectedIndex = index + 1;
      position += header.totalSize;
    }
    segment.writtenBytes = segment.syncedBytes = segment.sizeBytes = file.size;
    return { nextIndex: expectedIndex, cut: false };
  }

  /** Counts (header walk, no CRC) the trusted records in [0, end) of the scan-start file and builds its sparse index. */
  private countPrefix(file: SegmentFile, segment: LogSegment, end: number): boolean {
    let position = 0;
    let index = this.headerAt(file, 0).index;
    while (position < end) {
      const header = this.headerAt(file, position);
      if (!isPlausibleHeader(header) || index < 1) return false;
      segment.noteAssigned(index, position, header.totalSize);
      this.lastTerm = header.term;
      index += 1;
      position += header.totalSize;
    }
    return position === end;
  }

  private isFollowedByValid(i: number, reader: ChunkReader, offset: number, nextIndex: number): boolean {
    const file = this.files[i];
    if (offset < file.size) return isValidRecordAt(reader, offset, nextIndex);
    const next = this.files[i + 1];
    return next !== undefined && next.start === file.start + offset && isValidRecordAt(new ChunkReader(next), 0, nextIndex);
  }

  private cutAt(i: number, segment: LogSegment, offset: number, reason: string): { nextIndex: number | null; cut: boolean } {
    segment.sizeBytes = segment.writtenBytes = segment.syncedBytes = offset;
    this.cut(i, offset, reason);
    return { nextIndex: segment.lastIndex + 1, cut: true };
  }

  /** Cuts file `i` at `offset` and removes every later file; all durable before returning. */
  private cut(i: number, offset: number, reason: string): void {
    const file = this.files[i];
    let bytesCut = file.size - offset;
    fs.ftruncateSync(file.fd, offset);
    fs.fsyncSync(file.fd);
    file.size = offset;
    const removed: string[] = [];
    for (const later of this.files.slice(i + 1)) {
      bytesCut += later.size;
      fs.unlinkSync(path.join(this.dir, later.name));
      removed.push(later.name);
    }
    this.files.length = i + 1;
    const dirFd = fs.openSync(this.dir, 'r');
    try {
      fs.fsyncSync(dirFd);
    } finally {
      fs.closeSync(dirFd);
    }
    Object.assign(this.report, { truncatedAtPosition: file.start + offset, bytesCut, reason });
    this.logger.warn({ segmentFile: file.name, position: file.start + offset, bytesCut, reason, removedSegments: removed }, 'commit log tail cut at recovery');
  }
}
