/**
 * What a Raft entry carries when the CommitLog is the Raft log: the fields of one CommitLog record
 * besides its term and index. The core never looks inside; the driver turns it into a record.
 */
import { EntryType } from '../../store/record-format.js';
import type { AppendEntry } from '../../store/commit-log.js';
import type { Entry, EntryKind } from '../core/types.js';

export interface RecordPayload {
  type: EntryType;
  storeTimestampMs: number;
  body: Buffer;
  /** Set on entries received from the leader: the verified record, stored byte for byte. */
  record?: Buffer;
}

/** The core's entry kind for a record type. */
export function kindOf(type: EntryType): EntryKind {
  if (type === EntryType.NOOP) return 'noop';
  if (type === EntryType.CONFIG_CHANGE) return 'config';
  return 'data';
}

const EMPTY = Buffer.alloc(0);

/**
 * The CommitLog append for a core entry. A new leader's no-op has no payload: it becomes a NOOP
 * record stamped `nowMs`.
 */
export function toAppendEntry(entry: Entry<RecordPayload>, nowMs: number): AppendEntry {
  const payload = entry.data;
  if (payload === null) return { term: entry.term, type: EntryType.NOOP, storeTimestampMs: nowMs, body: EMPTY };
  return { term: entry.term, type: payload.type, storeTimestampMs: payload.storeTimestampMs, body: payload.body, record: payload.record };
}
