/**
 * Receipt handles: the opaque string a consumer gets with each popped message and returns to ack
 * it or change its visibility. It names the broker group, queue, offset and delivery (handleSeq),
 * and carries a CRC32C over those fields plus the consumer group and topic, so a garbage handle or
 * one issued to another group is refused with INVALID_RECEIPT_HANDLE.
 *
 * Format: `h1.<brokerGroup>.<queueId>.<offset>.<handleSeq>.<invisibleUntilMs>.<crc hex>`.
 */
import { crc32c } from '@node-rs/crc32';
import { LedgerError } from '../common/errors.js';

export interface ReceiptHandle {
  brokerGroup: string;
  queueId: number;
  offset: number;
  handleSeq: number;
  invisibleUntilMs: number;
}

const VERSION = 'h1';
const NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

function checksum(fields: string, group: string, topic: string): string {
  return crc32c(Buffer.from(`${fields}\u0000${group}\u0000${topic}`)).toString(16).padStart(8, '0');
}

/** Encodes a handle bound to `group` and `topic`. */
export function encodeReceiptHandle(handle: ReceiptHandle, group: string, topic: string): string {
  const fields = [VERSION, handle.brokerGroup, handle.queueId, handle.offset, handle.handleSeq, handle.invisibleUntilMs].join('.');
  return `${fields}.${checksum(fields, group, topic)}`;
}

/** Reads the broker group of a handle without verifying it (routing only); `null` if unreadable. */
export function peekBrokerGroup(text: string): string | null {
  const parts = text.split('.');
  return parts.length === 7 && parts[0] === VERSION && NAME_PATTERN.test(parts[1]) ? parts[1] : null;
}

/**
 * Decodes and verifies a handle for `group` and `topic`. Throws LedgerError('INVALID_RECEIPT_HANDLE')
 * when it is malformed or was not issued for this group and topic.
 */
export function decodeReceiptHandle(text: string, group: string, topic: string): ReceiptHandle {
  const invalid = (why: string): LedgerError => new LedgerError('INVALID_RECEIPT_HANDLE', `invalid receipt handle: ${why}`);
  if (typeof text !== 'string' || text.length === 0 || text.length > 256) throw invalid('empty or too long');
  const parts = text.split('.');
  if (parts.length !== 7 || parts[0] !== VERSION) throw invalid('unknown format');
  const [, brokerGroup, queueId, offset, handleSeq, invisibleUntilMs, crc] = parts;
  if (!NAME_PATTERN.test(brokerGroup)) throw invalid('bad broker group');
  const numbers = [queueId, offset, handleSeq, invisibleUntilMs].map((part) => (/^\d{1,16}$/.test(part) ? Number(part) : NaN));
  if (numbers.some((n) => !Number.isSafeInteger(n))) throw invalid('bad numeric field');
  const fields = parts.slice(0, 6).join('.');
  if (checksum(fields, group, topic) !== crc) throw invalid('not issued for this consumer group and topic');
  return { brokerGroup, queueId: numbers[0], offset: numbers[1], handleSeq: numbers[2], invisibleUntilMs: numbers[3] };
}
