/**
 * The message index (RocketMQ's IndexFile, kept in LMDB): every dispatched message by its keys and
 * by its message id, with its queue position, CommitLog location and store time. Built by the
 * state machine in dispatch order on every node, so followers answer queries too, and rebuilt
 * after a crash by the replay from the dispatch checkpoint (writes are ordered before the
 * checkpoint that covers them; rewriting an entry is harmless).
 *
 * LMDB db `msgindex`, string keys (ordered), msgpack values:
 *
 * | key | value |
 * |---|---|
 * | `k` NUL topic NUL key NUL storeTimestampMs (15 digits) NUL position (16 digits) | IndexedMessage |
 * | `i` NUL messageId NUL position (16 digits) | IndexedMessage |
 *
 * A key longer than 256 characters is not indexed (ids are 32 characters). Query cost is one range
 * scan: by key within a time range, by id; both answer in well under a millisecond per hit.
 */
import type { Database } from 'lmdb';

/** Where one indexed message is. */
export interface IndexedMessage {
  topic: string;
  queueId: number;
  queueOffset: number;
  /** CommitLog position and size of the stored message. */
  position: number;
  size: number;
  storeTimestampMs: number;
  /** Raft log index of the entry that stored it (deletion fences are checked against it). */
  entryIndex: number;
}

/** One message to index, with its keys and id. */
export interface MessageToIndex extends IndexedMessage {
  messageId: string;
  keys: readonly string[];
}

const MAX_INDEXED_KEY_LENGTH = 256;
const pad = (value: number, digits: number): string => String(value).padStart(digits, '0');
const NUL = '\u0000';
/** Sorts after every character a name or key can hold. */
const HIGH = '\uffff';

/** See the file comment. */
export class MessageIndex {
  constructor(private readonly db: Database<IndexedMessage, string>) {}

  /**
   * Queues index writes for `messages` (committed with the next LMDB write batch, in call order).
   * A failed write goes to `onError` (the node must stop: its index would miss entries).
   */
  add(messages: readonly MessageToIndex[], onError: (error: unknown) => void): void {
    for (const message of messages) {
      const { messageId, keys, ...value } = message;
      const at = pad(message.position, 16);
      if (messageId && messageId.length <= MAX_INDEXED_KEY_LENGTH) this.db.put(`i${NUL}${messageId}${NUL}${at}`, value).catch(onError);
      for (const key of new Set(keys)) {
        if (key.length === 0 || key.length > MAX_INDEXED_KEY_LENGTH) continue;
        this.db.put(`k${NUL}${message.topic}${NUL}${key}${NUL}${pad(message.storeTimestampMs, 15)}${NUL}${at}`, value).catch(onError);
      }
    }
  }

  /** Messages of `topic` carrying `key`, stored in [beginMs, endMs], oldest first, at most `limit`. */
  byKey(topic: string, key: string, beginMs: number, endMs: number, limit: number): IndexedMessage[] {
    const prefix = `k${NUL}${topic}${NUL}${key}${NUL}`;
    const range = this.db.getRange({ start: `${prefix}${pad(Math.max(0, beginMs), 15)}`, end: `${prefix}${pad(Math.min(endMs, 999_999_999_999_999), 15)}${NUL}${HIGH}`, limit });
    return [...range].map((entry) => entry.value);
  }

  /** Copies of the message with `messageId` (a retried send may be stored twice), at most `limit`. */
  byId(messageId: string, limit: number): IndexedMessage[] {
    const prefix = `i${NUL}${messageId}${NUL}`;
    return [...this.db.getRange({ start: prefix, end: `${prefix}${HIGH}`, limit })].map((entry) => entry.value);
  }
}
