/**
 * Query by key or message id (admin `queryMsgByKey` / `queryMsgById`): hits from the message index
 * (lib/store/message-index.ts), read from the CommitLog. Any node answers from its own index and
 * log. A hit whose topic was deleted after it was stored is left out; so is one that no longer
 * reads (a damaged copy: reported by the reader, refetched by the log repair).
 */
import { LedgerError } from '../common/errors.js';
import type { MessageIndex } from '../store/message-index.js';
import type { StoredMessage } from '../store/message-codec.js';
import type { DeletionFences } from './deletion-fences.js';
import type { MessageReader } from './message-reader.js';
import { MAX_KEY_CHARS, MAX_MESSAGE_ID_CHARS } from './message-validator.js';
import { checkTopicName } from './name-rules.js';

/** Hits answered at most per query. */
export const MAX_QUERY_MESSAGES = 64;
const DEFAULT_QUERY_MESSAGES = 32;

export interface MessageQueryRequest {
  topic: string;
  key: string;
  messageId: string;
  beginMs: number;
  endMs: number;
  maxMessages: number;
}

export interface QueriedMessage {
  message: StoredMessage;
  queueId: number;
  queueOffset: number;
  storeTimestampMs: number;
}

/** See the file comment. */
export class MessageQuery {
  constructor(private readonly deps: { index: MessageIndex; reader: MessageReader; fences: DeletionFences }) {}

  /**
   * BAD_REQUEST unless exactly one of key and message id is given (a key with its topic);
   * ILLEGAL_MESSAGE_KEY / ILLEGAL_MESSAGE_ID when longer than a message may carry.
   */
  async query(request: MessageQueryRequest): Promise<QueriedMessage[]> {
    if ((request.key === '') === (request.messageId === '')) throw new LedgerError('BAD_REQUEST', 'give either a key (with its topic) or a message id');
    if (request.topic !== '' || request.key !== '') checkTopicName(request.topic);
    // No stored message has a longer one, and the index refuses keys past its size limit.
    if (request.key.length > MAX_KEY_CHARS) throw new LedgerError('ILLEGAL_MESSAGE_KEY', `a key has at most ${MAX_KEY_CHARS} characters`);
    if (request.messageId.length > MAX_MESSAGE_ID_CHARS) throw new LedgerError('ILLEGAL_MESSAGE_ID', `a message id has at most ${MAX_MESSAGE_ID_CHARS} characters`);
    const limit = request.maxMessages === 0 ? DEFAULT_QUERY_MESSAGES : request.maxMessages;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_QUERY_MESSAGES) throw new LedgerError('BAD_REQUEST', `max messages must be 1..${MAX_QUERY_MESSAGES}`);
    const endMs = request.endMs > 0 ? request.endMs : Number.MAX_SAFE_INTEGER;
    if (request.beginMs < 0 || request.beginMs > endMs) throw new LedgerError('BAD_REQUEST', 'the time range must have begin <= end');
    // Read past hits that are left out, within a bound.
    const hits = request.key !== ''
      ? this.deps.index.byKey(request.topic, request.key, request.beginMs, endMs, limit * 4)
      : this.deps.index.byId(request.messageId, limit * 4).filter((hit) => request.topic === '' || hit.topic === request.topic);
    const found: QueriedMessage[] = [];
    for (const hit of hits) {
      if (found.length >= limit) break;
      if (this.deps.fences.deletedAfter('topic', hit.topic, hit.entryIndex)) continue;
      const message = await this.deps.reader.readOrNull(hit.topic, hit.queueId, hit.queueOffset, hit.position, hit.size);
      // The index matches by prefix and may outlive what it points at (a single node's rolled-back tail): check.
      const matches = message !== null && message.topic === hit.topic && (request.key !== '' ? message.keys.includes(request.key) : message.messageId === request.messageId);
      if (message !== null && matches) found.push({ message, queueId: hit.queueId, queueOffset: hit.queueOffset, storeTimestampMs: hit.storeTimestampMs });
    }
    return found;
  }
}
