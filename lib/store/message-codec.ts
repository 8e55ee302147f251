/**
 * Encoding of stored messages inside the body of a MESSAGES CommitLog record. Big-endian; the byte table
 * is in lib/store/README.md. Body = u16 count, then each message:
 *
 * ```
 * u32 messageSize (this message, including the field)   u32 crc32c over bytes [8, messageSize)
 * u8 version (1)   u8 len + topic   u32 queueId   u8 messageType
 * u64 bornTimestampMs   u64 deliveryTimestampMs (0 = none)
 * u16 len + messageId   u16 len + tag   u16 len + messageGroup   u16 len + bornHost
 * u16 keyCount, each u16 len + key   u16 propertyCount, each u16 len + name, u32 len + value
 * u32 bodyLength + body
 * ```
 * Strings are UTF-8. A message's absolute log position is record position + 40 + its offset in the body.
 */
import { crc32c } from '@node-rs/crc32';
import { LedgerError } from '../common/errors.js';
import type { StatusCodeName } from '../common/status-codes.js';
import { readSafeU64, writeSafeU64 } from './record-format.js';

/** Version byte written into every message. */
export const MESSAGE_FORMAT_VERSION = 1;
/** Byte offset inside a message where the CRC-covered part starts. */
const CRC_START = 8;
const MAX_U8 = 0xff;
const MAX_U16 = 0xffff;
const MAX_U32 = 0xffffffff;

/** One message as stored in the CommitLog. */
export interface StoredMessage {
  topic: string;
  queueId: number;
  body: Buffer;
  tag: string;
  keys: string[];
  properties: Record<string, string>;
  messageId: string;
  bornTimestampMs: number;
  bornHost: string;
  messageGroup: string;
  /** Absolute delivery time of a delayed message; 0 when none. */
  deliveryTimestampMs: number;
  messageType: number;
}

/** Bytes that should hold a stored message fail a check (size, bounds, version or CRC). */
export class CorruptMessageError extends LedgerError {
  constructor(detail: string) {
    super('MESSAGE_CORRUPTED', `corrupt stored message: ${detail}`, { retriable: false });
    this.name = 'CorruptMessageError';
  }
}

interface EncodedStrings {
  topic: Buffer;
  messageId: Buffer;
  tag: Buffer;
  messageGroup: Buffer;
  bornHost: Buffer;
  keys: Buffer[];
  properties: Array<[Buffer, Buffer]>;
}

function utf8(value: string, maxBytes: number, code: StatusCodeName, what: string): Buffer {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > maxBytes) throw new LedgerError(code, `${what} is ${bytes.length} bytes, at most ${maxBytes} allowed`);
  return bytes;
}

function assertInteger(value: number, max: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0 || value > max) throw new LedgerError('BAD_REQUEST', `${what} ${value} is not an integer in [0, ${max}]`);
}

function encodeStrings(message: StoredMessage): EncodedStrings {
  if (message.keys.length > MAX_U16) throw new LedgerError('ILLEGAL_MESSAGE_KEY', `too many keys (${message.keys.length})`);
  const properties = Object.entries(message.properties);
  if (properties.length > MAX_U16) throw new LedgerError('MESSAGE_PROPERTIES_TOO_LARGE', `too many properties (${properties.length})`);
  return {
    topic: utf8(message.topic, MAX_U8, 'ILLEGAL_TOPIC', 'topic'),
    messageId: utf8(message.messageId, MAX_U16, 'ILLEGAL_MESSAGE_ID', 'message id'),
    tag: utf8(message.tag, MAX_U16, 'ILLEGAL_MESSAGE_TAG', 'tag'),
    messageGroup: utf8(message.messageGroup, MAX_U16, 'ILLEGAL_MESSAGE_GROUP', 'message group'),
    bornHost: utf8(message.bornHost, MAX_U16, 'BAD_REQUEST', 'born host'),
    keys: message.keys.map((key) => utf8(key, MAX_U16, 'ILLEGAL_MESSAGE_KEY', 'key')),
    properties: properties.map(([name, value]) => [
      utf8(name, MAX_U16, 'ILLEGAL_MESSAGE_PROPERTY_KEY', 'property name'),
      utf8(value, MAX_U32, 'MESSAGE_PROPERTIES_TOO_LARGE', 'property value'),
    ]),
  };
}

function encodedSize(strings: EncodedStrings, bodyLength: number): number {
  let size = 4 + 4 + 1 + 1 + strings.topic.length + 4 + 1 + 8 + 8;
  size += 2 + strings.messageId.length + 2 + strings.tag.length + 2 + strings.messageGroup.length + 2 + strings.bornHost.length;
  size += 2 + strings.keys.reduce((sum, key) => sum + 2 + key.length, 0);
  size += 2 + strings.properties.reduce((sum, [name, value]) => sum + 2 + name.length + 4 + value.length, 0);
  return size + 4 + bodyLength;
}

/**
 * Encodes a batch into one record body; returns it with each message's offset (relative to the body
 * start) and size. Throws LedgerError (BAD_REQUEST, ILLEGAL_TOPIC, ILLEGAL_MESSAGE_*, MESSAGE_PROPERTIES_TOO_LARGE,
 * PAYLOAD_TOO_LARGE) when a field does not fit the format. Message bodies are copied.
 */
export function encodeMessageBatch(messages: readonly StoredMessage[]): { body: Buffer; messages: Array<{ offset: number; size: number }> } {
  if (messages.length > MAX_U16) throw new LedgerError('BAD_REQUEST', `batch of ${messages.length} messages exceeds ${MAX_U16}`);
  const encoded = messages.map((message) => {
    assertInteger(message.queueId, MAX_U32, 'queueId');
    assertInteger(message.messageType, MAX_U8, 'messageType');
    assertInteger(message.bornTimestampMs, Number.MAX_SAFE_INTEGER, 'bornTimestampMs');
    assertInteger(message.deliveryTimestampMs, Number.MAX_SAFE_INTEGER, 'deliveryTimestampMs');
    const strings = encodeStrings(message);
    const size = encodedSize(strings, message.body.length);
    if (size > MAX_U32) throw new LedgerError('PAYLOAD_TOO_LARGE', `message of ${size} bytes is too large`);
    return { message, strings, size };
  });
  const total = 2 + encoded.reduce((sum, item) => sum + item.size, 0);
  const body = Buffer.allocUnsafe(total);
  body.writeUInt16BE(messages.length, 0);
  let offset = 2;
  const placed: Array<{ offset: number; size: number }> = [];
  for (const { message, strings, size } of encoded) {
    writeMessage(body, offset, message, strings, size);
    placed.push({ offset, size });
    offset += size;
  }
  return { body, messages: placed };
}

function writeMessage(out: Buffer, start: number, message: StoredMessage, strings: EncodedStrings, size: number): void {
  let at = start;
  const u8 = (value: number): void => void (at = out.writeUInt8(value, at));
  const u16 = (value: number): void => void (at = out.writeUInt16BE(value, at));
  const u32 = (value: number): void => void (at = out.writeUInt32BE(value, at));
  const u64 = (value: number): void => {
    writeSafeU64(out, value, at);
    at += 8;
  };
  const raw = (bytes: Buffer): void => void (at += bytes.copy(out, at));
  u32(size);
  u32(0);
  u8(MESSAGE_FORMAT_VERSION);
  u8(strings.topic.length);
  raw(strings.topic);
  u32(message.queueId);
  u8(message.messageType);
  u64(message.bornTimestampMs);
  u64(message.deliveryTimestampMs);
  for (const text of [strings.messageId, strings.tag, strings.messageGroup, strings.bornHost]) {
    u16(text.length);
    raw(text);
  }
  u16(strings.keys.length);
  for (const key of strings.keys) {
    u16(key.length);
    raw(key);
  }
  u16(strings.properties.length);
  for (const [name, value] of strings.properties) {
    u16(name.length);
    raw(name);
    u32(value.length);
    raw(value);
  }
  u32(message.body.length);
  raw(message.body);
  out.writeUInt32BE(crc32c(out.subarray(start + CRC_START, start + size)), start + 4);
}

/** Bounds-checked reader: every read past the end throws CorruptMessageError. */
class MessageReader {
  private at: number;

  constructor(
    private readonly bytes: Buffer,
    start: number,
    private readonly end: number,
  ) {
    this.at = start;
  }

  get position(): number {
    return this.at;
  }

  private take(length: number, what: string): number {
    if (this.at + length > this.end) throw new CorruptMessageError(`${what} (${length} bytes at ${this.at}) passes the end ${this.end}`);
    const at = this.at;
    this.at += length;
    return at;
  }

  u8(what: string): number {
    return this.bytes.readUInt8(this.take(1, what));
  }

  u16(what: string): number {
    return this.bytes.readUInt16BE(this.take(2, what));
  }

  u32(what: string): number {
    return this.bytes.readUInt32BE(this.take(4, what));
  }

  u64(what: string): number {
    const value = readSafeU64(this.bytes, this.take(8, what));
    if (value < 0) throw new CorruptMessageError(`${what} exceeds 2^53`);
    return value;
  }

  bytesOf(length: number, what: string): Buffer {
    const at = this.take(length, what);
    return this.bytes.subarray(at, at + length);
  }

  string(length: number, what: string): string {
    return this.bytesOf(length, what).toString('utf8');
  }
}

/**
 * Decodes exactly one message (`bytes` must hold it and nothing else) after verifying its size field
 * and CRC. The returned body is a copy. Throws CorruptMessageError on any mismatch or malformed field;
 * never anything else, whatever the input.
 */
export function decodeStoredMessage(bytes: Buffer): StoredMessage {
  if (bytes.length < CRC_START) throw new CorruptMessageError(`${bytes.length} bytes cannot hold a message`);
  const size = bytes.readUInt32BE(0);
  if (size !== bytes.length) throw new CorruptMessageError(`size field ${size} does not match ${bytes.length} bytes`);
  const stored = bytes.readUInt32BE(4);
  const actual = crc32c(bytes.subarray(CRC_START));
  if (stored !== actual) throw new CorruptMessageError(`crc mismatch (stored ${stored}, computed ${actual})`);
  const reader = new MessageReader(bytes, CRC_START, bytes.length);
  const version = reader.u8('version');
  if (version !== MESSAGE_FORMAT_VERSION) throw new CorruptMessageError(`unknown version ${version}`);
  const topic = reader.string(reader.u8('topic length'), 'topic');
  const queueId = reader.u32('queueId');
  const messageType = reader.u8('messageType');
  const bornTimestampMs = reader.u64('bornTimestampMs');
  const deliveryTimestampMs = reader.u64('deliveryTimestampMs');
  const messageId = reader.string(reader.u16('messageId length'), 'messageId');
  const tag = reader.string(reader.u16('tag length'), 'tag');
  const messageGroup = reader.string(reader.u16('messageGroup length'), 'messageGroup');
  const bornHost = reader.string(reader.u16('bornHost length'), 'bornHost');
  const keyCount = reader.u16('key count');
  const keys: string[] = [];
  for (let i = 0; i < keyCount; i += 1) keys.push(reader.string(reader.u16('key length'), 'key'));
  const propertyCount = reader.u16('property count');
  const properties: Array<[string, string]> = [];
  for (let i = 0; i < propertyCount; i += 1) {
    const name = reader.string(reader.u16('property name length'), 'property name');
    properties.push([name, reader.string(reader.u32('property value length'), 'property value')]);
  }
  const body = Buffer.from(reader.bytesOf(reader.u32('body length'), 'body'));
  if (reader.position !== bytes.length) throw new CorruptMessageError(`${bytes.length - reader.position} trailing bytes`);
  return { topic, queueId, body, tag, keys, properties: Object.fromEntries(properties), messageId, bornTimestampMs, bornHost, messageGroup, deliveryTimestampMs, messageType };
}

/**
 * Decodes a MESSAGES record body: every message with its offset (relative to the body start) and size,
 * each CRC verified. Throws CorruptMessageError on malformed input (never anything else).
 */
export function decodeMessageBatch(body: Buffer): Array<{ message: StoredMessage; offset: number; size: number }> {
  const reader = new MessageReader(body, 0, body.length);
  const count = reader.u16('message count');
  const decoded: Array<{ message: StoredMessage; offset: number; size: number }> = [];
  for (let i = 0; i < count; i += 1) {
    const offset = reader.position;
    const size = reader.u32('message size');
    if (size < CRC_START) throw new CorruptMessageError(`message ${i} size ${size} is too small`);
    reader.bytesOf(size - 4, `message ${i}`);
    decoded.push({ message: decodeStoredMessage(body.subarray(offset, offset + size)), offset, size });
  }
  if (reader.position !== body.length) throw new CorruptMessageError(`${body.length - reader.position} trailing bytes after ${count} messages`);
  return decoded;
}
