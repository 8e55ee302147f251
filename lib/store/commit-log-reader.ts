import { CorruptRecordError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { LogSegment } from './commit-log-segment.js';
import { RECORD_HEADER_SIZE_BYTES, isPlausibleHeader, parseRecordHeader, recordDefect } from './record-format.js';
import type { EntryType, RecordHeader } from './record-format.js';

/** One entry read back from the CommitLog. `body` may share memory with the log's cache: never mutate it. */
export interface LogEntry {
  term: number;
  index: number;
  type: EntryType;
  storeTimestampMs: number;
  body: Buffer;
  position: number;
  /** The whole record (header and body), as stored: what replication ships. */
  record: Buffer;
}

/** The entry held by a record the log encoded itself (no CRC check). */
export function entryFromRecord(record: Buffer, position: number): LogEntry {
  return toEntry(parseRecordHeader(record), record, position);
}

function toEntry(header: RecordHeader, record: Buffer, position: number): LogEntry {
  return { term: header.term, index: header.index, type: header.entryType as EntryType, storeTimestampMs: header.storeTimestampMs, body: record.subarray(RECORD_HEADER_SIZE_BYTES, header.totalSize), position, record: record.subarray(0, header.totalSize) };
}

/** Logs and builds the error for a record that fails its checks. */
function corrupt(segment: LogSegment, offset: number, index: number, detail: string, logger: Logger): CorruptRecordError {
  const position = segment.startPosition + offset;
  logger.error({ segmentFile: segment.fileName, position, index, detail }, 'corrupt commit log record');
  return new CorruptRecordError(segment.fileName, position, `index ${index}: ${detail}`, index);
}

function verified(segment: LogSegment, offset: number, index: number, record: Buffer, header: RecordHeader, logger: Logger): LogEntry {
  let defect = recordDefect(record, 0, header);
  if (defect === null && header.index !== index) defect = `index ${header.index}, expected ${index}`;
  if (defect !== null) throw corrupt(segment, offset, index, defect, logger);
  return toEntry(header, record, segment.startPosition + offset);
}

/** Reads and verifies written record `index` of `segment`. Throws CorruptRecordError (logged). */
export async function readEntry(segment: LogSegment, index: number, logger: Logger): Promise<LogEntry> {
  const offset = await segment.offsetOf(index);
  const header = parseRecordHeader(await segment.readAt(offset, RECORD_HEADER_SIZE_BYTES));
  if (!isPlausibleHeader(header)) throw corrupt(segment, offset, index, 'implausible header', logger);
  const record = await segment.readAt(offset, header.totalSize);
  return verified(segment, offset, index, record, header, logger);
}

/** Term in the header of written record `index` of `segment`. Throws CorruptRecordError on an implausible header. */
export async function readTerm(segment: LogSegment, index: number, logger: Logger): Promise<number> {
  const offset = await segment.offsetOf(index);
  const header = parseRecordHeader(await segment.readAt(offset, RECORD_HEADER_SIZE_BYTES));
  if (!isPlausibleHeader(header) || header.term < 0) throw corrupt(segment, offset, index, 'implausible header', logger);
  return header.term;
}

/**
 * Reads consecutive written records of `segment` from `index` to at most `lastIndex`, with one read
 * of up to `budgetBytes`, verifying each. Returns at least one entry when `mustReturnOne` (a record
 * larger than the budget is then read on its own), else only entries within the budget.
 */
export async function readEntries(segment: LogSegment, index: number, lastIndex: number, budgetBytes: number, mustReturnOne: boolean, logger: Logger): Promise<LogEntry[]> {
  return readEntriesAt(segment, await segment.offsetOf(index), index, lastIndex, budgetBytes, mustReturnOne, logger);
}

/**
 * {@link readEntries} from a known file offset: `offset` must be where record `index` starts (a
 * record there with another index fails as corrupt). Walks no headers before it.
 */
export async function readEntriesAt(segment: LogSegment, startOffset: number, index: number, lastIndex: number, budgetBytes: number, mustReturnOne: boolean, logger: Logger): Promise<LogEntry[]> {
  let offset = startOffset;
  const chunk = await segment.readAt(offset, Math.min(Math.max(budgetBytes, RECORD_HEADER_SIZE_BYTES), segment.writtenBytes - offset));
  const entries: LogEntry[] = [];
  let chunkOffset = 0;
  for (let next = index; next <= Math.min(lastIndex, segment.lastIndex) && chunkOffset + RECORD_HEADER_SIZE_BYTES <= chunk.length; next += 1) {
    const header = parseRecordHeader(chunk, chunkOffset);
    if (!isPlausibleHeader(header)) throw corrupt(segment, offset, next, 'implausible header', logger);
    const fitsChunk = chunkOffset + header.totalSize <= chunk.length;
    if (!fitsChunk && (entries.length > 0 || !mustReturnOne)) break;
    if (offset + header.totalSize > segment.writtenBytes) throw corrupt(segment, offset, next, `size ${header.totalSize} runs past the written end`, logger);
    const record = fitsChunk ? chunk.subarray(chunkOffset, chunkOffset + header.totalSize) : await segment.readAt(offset, header.totalSize);
    entries.push(verified(segment, offset, next, record, header, logger));
    if (!fitsChunk) break;
    chunkOffset += header.totalSize;
    offset += header.totalSize;
  }
  if (entries.length === 0 && mustReturnOne) throw corrupt(segment, offset, index, 'no record readable', logger);
  return entries;
}
