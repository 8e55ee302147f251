import type { Counter } from 'prom-client';
import { CorruptRecordError, LedgerError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { CommitLog } from '../store/commit-log.js';
import { decodeStoredMessage } from '../store/message-codec.js';
import type { StoredMessage } from '../store/message-codec.js';

export interface MessageReaderDeps {
  commitLog: CommitLog;
  logger: Logger;
  corruptReads: Counter;
  /** Told of every damaged record a read found, by CommitLog position (a Raft node repairs its log). */
  onCorruptRead?: (position: number, error: unknown) => void;
}

/** Corrupt positions remembered so each is logged at error level once, not on every poll. */
const MAX_REPORTED_CORRUPT = 1024;

/**
 * Reads stored messages for consumers (pop and pull) from the CommitLog by the position a
 * ConsumeQueue unit gives, verifying each. A message that fails its checks is never served: it is
 * counted, reported to the node (which repairs its log in a group) and logged loudly once.
 */
export class MessageReader {
  private readonly reportedCorrupt = new Set<number>();

  constructor(private readonly deps: MessageReaderDeps) {}

  /** The message, or MESSAGE_CORRUPTED when it fails its checks on this node. */
  async read(topic: string, queueId: number, offset: number, position: number, size: number): Promise<StoredMessage> {
    const message = await this.readOrNull(topic, queueId, offset, position, size);
    if (!message) throw new LedgerError('MESSAGE_CORRUPTED', `message ${topic}/${queueId}@${offset} is corrupt on this node`);
    return message;
  }

  /** The message, or `null` when it fails its checks (reported; its queue should stop there). */
  async readOrNull(topic: string, queueId: number, offset: number, position: number, size: number): Promise<StoredMessage | null> {
    try {
      return decodeStoredMessage(await this.deps.commitLog.readBytes(position, size));
    } catch (error) {
      if (!(error instanceof LedgerError) || (error.code !== 'MESSAGE_CORRUPTED' && !(error instanceof CorruptRecordError))) throw error;
      this.deps.corruptReads.inc();
      this.deps.onCorruptRead?.(position, error);
      const details = { err: error, topic, queueId, queueOffset: offset, commitLogPosition: position, size };
      if (this.reportedCorrupt.has(position)) {
        this.deps.logger.debug(details, 'corrupt message read again');
        return null;
      }
      if (this.reportedCorrupt.size >= MAX_REPORTED_CORRUPT) this.reportedCorrupt.clear();
      this.reportedCorrupt.add(position);
      this.deps.logger.error(
        details,
        `CORRUPT MESSAGE: ${topic}/${queueId} offset ${offset} at CommitLog position ${position} fails its checksum; it will not be served and its queue stops here until repaired (in a Raft group the node refetches its log from the leader)`,
      );
      return null;
    }
  }
}
