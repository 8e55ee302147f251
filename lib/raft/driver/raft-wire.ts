/**
 * Conversion between the core's messages and `ledgermq.raft.v1.RaftMessage`. Decoding checks every
 * field and every shipped CommitLog record (magic, size, CRC32C, index and term in sequence), so a
 * malformed or damaged message is refused here and never reaches the core or the log.
 */
import type { RaftMessage } from '../../gen/raft/ledgermq/raft/v1/RaftMessage.js';
import type { RaftMessage__Output } from '../../gen/raft/ledgermq/raft/v1/RaftMessage.js';
import { RECORD_HEADER_SIZE_BYTES, parseRecordHeader, recordDefect } from '../../store/record-format.js';
import type { EntryType } from '../../store/record-format.js';
import { asIndex, asTerm } from '../core/types.js';
import type { Entry, Message } from '../core/types.js';
import { kindOf } from './record-payload.js';
import type { RecordPayload } from './record-payload.js';

/** Encodes `message`; an append's entries travel as the `records` the driver loaded for it. */
export function encodeRaftMessage(message: Message<RecordPayload>, records: readonly Buffer[] = []): RaftMessage {
  const base = { from: message.from, to: message.to, term: message.term };
  switch (message.type) {
    case 'vote':
      return { ...base, vote: { preVote: message.preVote, transfer: message.transfer, lastIndex: message.lastIndex, lastTerm: message.lastTerm } };
    case 'voteResponse':
      return { ...base, voteResponse: { preVote: message.preVote, granted: message.granted } };
    case 'append':
      return { ...base, append: { prevIndex: message.prevIndex, prevTerm: message.prevTerm, commit: message.commit, records: [...records] } };
    case 'appendResponse':
      return {
        ...base,
        appendResponse: {
          success: message.success, matchIndex: message.matchIndex, rejectedPrevIndex: message.rejectedPrevIndex, hintIndex: message.hintIndex, hintTerm: message.hintTerm, catchingUp: message.catchingUp === true,
        },
      };
    case 'heartbeat':
      return { ...base, heartbeat: { commit: message.commit } };
    case 'heartbeatResponse':
      return { ...base, heartbeatResponse: { missingEntries: message.missingEntries === true } };
    case 'timeoutNow':
      return { ...base, timeoutNow: {} };
    case 'install':
      throw new Error('an install is carried out by the driver, not sent as a message');
  }
}

/** Why a received message was refused. */
export class MalformedRaftMessage extends Error {}

function u64(value: number, field: string): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new MalformedRaftMessage(`${field} is not a valid u64: ${value}`);
  return value;
}

/** Decodes a received message. Throws {@link MalformedRaftMessage} for anything invalid. */
export function decodeRaftMessage(wire: RaftMessage__Output): Message<RecordPayload> {
  if (!wire.from || !wire.to) throw new MalformedRaftMessage('from and to are required');
  const base = { from: wire.from, to: wire.to, term: asTerm(u64(wire.term, 'term')) };
  switch (wire.body) {
    case 'vote': {
      const body = wire.vote!;
      return { ...base, type: 'vote', preVote: body.preVote, transfer: body.transfer, lastIndex: asIndex(u64(body.lastIndex, 'lastIndex')), lastTerm: asTerm(u64(body.lastTerm, 'lastTerm')) };
    }
    case 'voteResponse':
      return { ...base, type: 'voteResponse', preVote: wire.voteResponse!.preVote, granted: wire.voteResponse!.granted };
    case 'append': {
      const body = wire.append!;
      const prevIndex = u64(body.prevIndex, 'prevIndex');
      const prevTerm = u64(body.prevTerm, 'prevTerm');
      const entries = decodeRecords(body.records, prevIndex, prevTerm, base.term);
      return {
        ...base, type: 'append', prevIndex: asIndex(prevIndex), prevTerm: asTerm(prevTerm), commit: asIndex(u64(body.commit, 'commit')), count: entries.length, entries,
      };
    }
    case 'appendResponse': {
      const body = wire.appendResponse!;
      return {
        ...base,
        ...(body.catchingUp ? { catchingUp: true } : {}),
        type: 'appendResponse',
        success: body.success,
        matchIndex: asIndex(u64(body.matchIndex, 'matchIndex')),
        rejectedPrevIndex: asIndex(u64(body.rejectedPrevIndex, 'rejectedPrevIndex')),
        hintIndex: asIndex(u64(body.hintIndex, 'hintIndex')),
        hintTerm: asTerm(u64(body.hintTerm, 'hintTerm')),
      };
    }
    case 'heartbeat':
      return { ...base, type: 'heartbeat', commit: asIndex(u64(wire.heartbeat!.commit, 'commit')) };
    case 'heartbeatResponse':
      return { ...base, type: 'heartbeatResponse', ...(wire.heartbeatResponse!.missingEntries ? { missingEntries: true } : {}) };
    case 'timeoutNow':
      return { ...base, type: 'timeoutNow' };
    default:
      throw new MalformedRaftMessage('message has no body');
  }
}

/**
 * Splits an install chunk's bytes into its records by their size fields (each record is then
 * verified like an append's). Throws {@link MalformedRaftMessage} when the bytes do not end on a
 * record boundary.
 */
export function splitRecords(bytes: Buffer): Buffer[] {
  const records: Buffer[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    if (bytes.length - offset < RECORD_HEADER_SIZE_BYTES) throw new MalformedRaftMessage(`${bytes.length - offset} trailing bytes, shorter than a record header`);
    const size = parseRecordHeader(bytes, offset).totalSize;
    if (size < RECORD_HEADER_SIZE_BYTES || offset + size > bytes.length) throw new MalformedRaftMessage(`record at ${offset} says ${size} bytes, ${bytes.length - offset} left`);
    records.push(bytes.subarray(offset, offset + size));
    offset += size;
  }
  return records;
}

/** Verifies shipped records: each complete and intact, indexes consecutive from `prevIndex + 1`, terms non-decreasing from `prevTerm` and at most `term`. */
function decodeRecords(records: readonly Buffer[], prevIndex: number, prevTerm: number, term: number): Array<Entry<RecordPayload>> {
  const entries: Array<Entry<RecordPayload>> = [];
  let lastTerm = prevTerm;
  records.forEach((record, i) => {
    if (record.length < RECORD_HEADER_SIZE_BYTES) throw new MalformedRaftMessage(`record ${i} is ${record.length} bytes, shorter than a header`);
    const header = parseRecordHeader(record);
    if (header.totalSize !== record.length) throw new MalformedRaftMessage(`record ${i} says ${header.totalSize} bytes but has ${record.length}`);
    const defect = recordDefect(record, 0, header);
    if (defect !== null) throw new MalformedRaftMessage(`record ${i}: ${defect}`);
    if (header.index !== prevIndex + 1 + i) throw new MalformedRaftMessage(`record ${i} has index ${header.index}, expected ${prevIndex + 1 + i}`);
    if (header.term < lastTerm || header.term > term) throw new MalformedRaftMessage(`record ${i} has term ${header.term} out of order (message term ${term})`);
    lastTerm = header.term;
    const type = header.entryType as EntryType;
    entries.push({
      index: asIndex(header.index),
      term: asTerm(header.term),
      kind: kindOf(type),
      data: { type, storeTimestampMs: header.storeTimestampMs, body: record.subarray(RECORD_HEADER_SIZE_BYTES), record },
    });
  });
  return entries;
}
