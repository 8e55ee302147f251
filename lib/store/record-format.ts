/**
 * On-disk layout of a CommitLog record, declared once. Every multi-byte integer is big-endian.
 * lib/store/README.md documents the same layout as a byte table; change both together.
 *
 * ```
 * offset size field
 *      0    4 magic            u32 = 0x4C4D5131 ("LMQ1")
 *      4    4 totalSize        u32, header + body bytes
 *      8    4 crc32c           u32 over bytes [12, totalSize)
 *     12    8 term             u64
 *     20    8 index            u64
 *     28    1 entryType        u8 (EntryType)
 *     29    1 flags            u8 (0, reserved)
 *     30    2 reserved         u16 (0)
 *     32    8 storeTimestampMs u64
 *     40    . body
 * ```
 */
import { crc32c } from '@node-rs/crc32';

/** "LMQ1": the first four bytes of every record. */
export const RECORD_MAGIC = 0x4c4d5131;
/** Size of the fixed record header; the body starts at this offset. */
export const RECORD_HEADER_SIZE_BYTES = 40;
/** Largest record (header + body) the log accepts or trusts at recovery. */
export const MAX_RECORD_SIZE_BYTES = 64 * 1024 * 1024;

/** Byte offsets of the header fields inside a record. */
export const RecordField = {
  MAGIC: 0,
  TOTAL_SIZE: 4,
  CRC: 8,
  /** The CRC covers [CRC_START, totalSize). */
  CRC_START: 12,
  TERM: 12,
  INDEX: 20,
  ENTRY_TYPE: 28,
  FLAGS: 29,
  RESERVED: 30,
  STORE_TIMESTAMP_MS: 32,
} as const;

/** Kind of a log entry; stored in the record header. */
export const EntryType = { NOOP: 0, MESSAGES: 1, META: 2, CONFIG_CHANGE: 3 } as const;
/** One of the {@link EntryType} values. */
export type EntryType = (typeof EntryType)[keyof typeof EntryType];

const ENTRY_TYPE_VALUES: ReadonlySet<number> = new Set(Object.values(EntryType));

/** Whether `value` is a known {@link EntryType}. */
export function isEntryType(value: number): value is EntryType {
  return ENTRY_TYPE_VALUES.has(value);
}

/** Segment files are named by their start byte position, zero-padded to this many digits. */
export const SEGMENT_NAME_DIGITS = 20;
/** Default segment size; a record never spans segments, so a segment may end short of it. */
export const DEFAULT_SEGMENT_SIZE_BYTES = 1024 * 1024 * 1024;
/** A sparse index entry is kept every this many records of a segment. */
export const SPARSE_INDEX_INTERVAL = 256;

const SEGMENT_NAME_PATTERN = /^\d{20}$/;

/** The file name of the segment starting at `startPosition` (20 digits, zero padded). */
export function segmentFileName(startPosition: number): string {
  return String(startPosition).padStart(SEGMENT_NAME_DIGITS, '0');
}

/** The start position encoded in a segment file name, or `null` when the name is not one. */
export function parseSegmentFileName(name: string): number | null {
  if (!SEGMENT_NAME_PATTERN.test(name)) return null;
  const value = Number(name);
  return Number.isSafeInteger(value) ? value : null;
}

/** Decoded header of one record. */
export interface RecordHeader {
  magic: number;
  totalSize: number;
  crc: number;
  term: number;
  index: number;
  entryType: number;
  storeTimestampMs: number;
}

/** Reads a u64 that must fit in a JS number; returns -1 when it does not (never trusted). */
export function readSafeU64(buffer: Buffer, offset: number): number {
  const high = buffer.readUInt32BE(offset);
  const low = buffer.readUInt32BE(offset + 4);
  if (high > 0x1fffff) return -1;
  return high * 0x1_0000_0000 + low;
}

/** Writes a non-negative safe integer as u64. Precondition: `Number.isSafeInteger(value) && value >= 0`. */
export function writeSafeU64(buffer: Buffer, value: number, offset: number): void {
  buffer.writeUInt32BE(Math.floor(value / 0x1_0000_0000), offset);
  buffer.writeUInt32BE(value >>> 0, offset + 4);
}

/** Parses the 40-byte header at `offset`. Precondition: `buffer.length >= offset + 40`. Never throws on garbage. */
export function parseRecordHeader(buffer: Buffer, offset = 0): RecordHeader {
  return {
    magic: buffer.readUInt32BE(offset + RecordField.MAGIC),
    totalSize: buffer.readUInt32BE(offset + RecordField.TOTAL_SIZE),
    crc: buffer.readUInt32BE(offset + RecordField.CRC),
    term: readSafeU64(buffer, offset + RecordField.TERM),
    index: readSafeU64(buffer, offset + RecordField.INDEX),
    entryType: buffer.readUInt8(offset + RecordField.ENTRY_TYPE),
    storeTimestampMs: readSafeU64(buffer, offset + RecordField.STORE_TIMESTAMP_MS),
  };
}

/** Whether a header could start a record: magic matches and the size is within bounds. */
export function isPlausibleHeader(header: RecordHeader): boolean {
  return header.magic === RECORD_MAGIC && header.totalSize >= RECORD_HEADER_SIZE_BYTES && header.totalSize <= MAX_RECORD_SIZE_BYTES;
}

/**
 * Why the record at `buffer[offset, offset + header.totalSize)` is invalid, or `null` when magic, size,
 * CRC, u64 ranges and entry type all check out. Precondition: the whole record is inside `buffer`.
 */
export function recordDefect(buffer: Buffer, offset: number, header: RecordHeader): string | null {
  if (header.magic !== RECORD_MAGIC) return `bad magic 0x${header.magic.toString(16)}`;
  if (header.totalSize < RECORD_HEADER_SIZE_BYTES || header.totalSize > MAX_RECORD_SIZE_BYTES) return `size ${header.totalSize} out of bounds`;
  const actual = crc32c(buffer.subarray(offset + RecordField.CRC_START, offset + header.totalSize));
  if (actual !== header.crc) return `crc mismatch (stored ${header.crc}, computed ${actual})`;
  if (header.term < 0 || header.index < 1 || header.storeTimestampMs < 0) return 'u64 field out of range';
  if (!isEntryType(header.entryType)) return `unknown entry type ${header.entryType}`;
  return null;
}

/** Fields of a record to encode. */
export interface RecordFields {
  term: number;
  index: number;
  entryType: EntryType;
  storeTimestampMs: number;
  body: Buffer;
}

/** Encodes one record (header + copy of the body) with its CRC. Caller validated sizes and u64 ranges. */
export function encodeRecord(fields: RecordFields): Buffer {
  const totalSize = RECORD_HEADER_SIZE_BYTES + fields.body.length;
  const record = Buffer.allocUnsafe(totalSize);
  record.writeUInt32BE(RECORD_MAGIC, RecordField.MAGIC);
  record.writeUInt32BE(totalSize, RecordField.TOTAL_SIZE);
  writeSafeU64(record, fields.term, RecordField.TERM);
  writeSafeU64(record, fields.index, RecordField.INDEX);
  record.writeUInt8(fields.entryType, RecordField.ENTRY_TYPE);
  record.writeUInt8(0, RecordField.FLAGS);
  record.writeUInt16BE(0, RecordField.RESERVED);
  writeSafeU64(record, fields.storeTimestampMs, RecordField.STORE_TIMESTAMP_MS);
  fields.body.copy(record, RECORD_HEADER_SIZE_BYTES);
  record.writeUInt32BE(crc32c(record.subarray(RecordField.CRC_START)), RecordField.CRC);
  return record;
}

/*
 * ConsumeQueue layout: fixed 20-byte units, big-endian, in fixed-size files under
 * <root>/<topic>/<queueId>/ named by the 20-digit zero-padded byte offset of their first unit.
 *
 * offset size field
 *      0    8 commitLogPosition u64 (absolute position of the stored message)
 *      8    4 size              u32 (bytes of the stored message)
 *     12    8 tagHash           u64 (tagHash(tag); 0 = no tag)
 */

/** Size of one ConsumeQueue unit. */
export const CONSUME_QUEUE_UNIT_SIZE_BYTES = 20;
/** Default units per ConsumeQueue file (6,000,000 bytes). */
export const DEFAULT_CONSUME_QUEUE_UNITS_PER_FILE = 300_000;

/** Byte offsets of the fields inside a ConsumeQueue unit. */
export const ConsumeQueueUnitField = { POSITION: 0, SIZE: 8, TAG_HASH: 12 } as const;
