/**
 * Recall handles of delayed messages (v2 SendResultEntry.recall_handle, RecallMessage):
 * `<broker group>:<due time ms>:<message id>`. The broker group routes the recall (the v2 Proxy
 * reads it); the due time and message id find the waiting message in the timer index.
 */
import { LedgerError } from './errors.js';

/** What a recall handle names. */
export interface RecallHandle {
  brokerGroup: string;
  dueMs: number;
  messageId: string;
}

/** The recall handle of a waiting delayed message. */
export function encodeRecallHandle(handle: RecallHandle): string {
  return `${handle.brokerGroup}:${handle.dueMs}:${handle.messageId}`;
}

/** Parses a recall handle; BAD_REQUEST when it is not one. */
export function decodeRecallHandle(text: string): RecallHandle {
  const idCut = text.lastIndexOf(':');
  const dueCut = idCut > 0 ? text.lastIndexOf(':', idCut - 1) : -1;
  const dueMs = Number(text.slice(dueCut + 1, idCut));
  if (dueCut <= 0 || !/^\d{1,15}$/.test(text.slice(dueCut + 1, idCut)) || idCut === text.length - 1) {
    throw new LedgerError('BAD_REQUEST', 'invalid recall handle');
  }
  return { brokerGroup: text.slice(0, dueCut), dueMs, messageId: text.slice(idCut + 1) };
}
