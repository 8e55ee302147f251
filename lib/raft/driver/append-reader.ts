/**
 * Reads of the CommitLog the driver makes outside the Ready loop: the records an append the core
 * emitted names (read when the message leaves; the core keeps no entry bodies), and the config
 * entries of the log's tail at startup.
 */
import type { CommitLog } from '../../store/commit-log.js';
import { EntryType } from '../../store/record-format.js';
import type { AppendRequest } from '../core/types.js';
import type { RecordPayload } from './record-payload.js';

/**
 * The records of `message`, up to `maxBytes` (at least one): `records` null when the log no
 * longer matches the append (cut and rewritten since), so it must not be sent; `short` when fewer
 * records than the append names were read (the leader resumes after the last one sent).
 * Throws what the log throws (a damaged record: the caller repairs).
 */
export async function readAppendRecords(log: CommitLog, message: AppendRequest<RecordPayload>, maxBytes: number): Promise<{ records: Buffer[] | null; short: boolean }> {
  const last = message.prevIndex + message.count;
  if (last > log.lastIndex || message.prevIndex < log.firstIndex - 1) return { records: null, short: false };
  if ((await log.termAt(message.prevIndex)) !== message.prevTerm) return { records: null, short: false };
  const entries = await log.readRange(message.prevIndex + 1, maxBytes, last);
  // The log may have been cut and rewritten while we read: check again that it fits the append.
  if ((await log.termAt(message.prevIndex)) !== message.prevTerm) return { records: null, short: false };
  let previousTerm: number = message.prevTerm;
  for (const entry of entries) {
    if (entry.term < previousTerm || entry.term > message.term) return { records: null, short: false };
    previousTerm = entry.term;
  }
  return { records: entries.map((entry) => entry.record), short: entries.length < message.count && entries.length > 0 };
}

/** Bytes read per step by {@link configEntriesAfter}. */
const SCAN_BYTES = 4 * 1024 * 1024;

/** Indexes of the CONFIG_CHANGE records after `index` (startup: the log tail past what was applied). */
export async function configEntriesAfter(log: CommitLog, index: number): Promise<number[]> {
  const found: number[] = [];
  for (let next = Math.max(index + 1, log.firstIndex); next <= log.lastIndex;) {
    const entries = await log.readRange(next, SCAN_BYTES, log.lastIndex);
    if (entries.length === 0) break;
    for (const entry of entries) if (entry.type === EntryType.CONFIG_CHANGE) found.push(entry.index);
    next = entries[entries.length - 1].index + 1;
  }
  return found;
}
