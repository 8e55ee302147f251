/**
 * Transparent batching of single sends (Kafka's record accumulator): sends issued while a batch
 * for the same topic, message group and type is open join it, and the batch goes out as one
 * request (one Raft entry) when it is full (by count or bytes) or when its linger time is up
 * (0: at the end of the current event-loop turn, so only sends issued together wait for each
 * other and a lone send is not delayed). Each send still resolves with its own result.
 *
 * A batch is all-or-nothing at the broker; so that one bad message does not fail the others, a
 * batch refused for a reason that is not retriable is sent again message by message, and each
 * send gets its own outcome.
 */
import { LedgerError } from '../common/errors.js';
import type { Message, SendResult } from './message.js';

export interface SendBatchingOptions {
  /** Messages per batch at most (default 32). */
  maxMessages?: number;
  /** Body bytes per batch at most (default 1 MiB); a larger message goes alone. */
  maxBytes?: number;
  /** How long an open batch waits for more sends (default 0: the end of the current event-loop turn). */
  lingerMs?: number;
}

interface PendingSend {
  message: Message;
  resolve: (result: SendResult) => void;
  reject: (error: unknown) => void;
}

interface OpenBatch {
  sends: PendingSend[];
  bytes: number;
  /** Cancels the linger timer. */
  cancel: () => void;
}

/** See the file comment. */
export class SendBatcher {
  private readonly open = new Map<string, OpenBatch>();
  private readonly maxMessages: number;
  private readonly maxBytes: number;
  private readonly lingerMs: number;

  constructor(
    private readonly sendBatch: (messages: Message[]) => Promise<SendResult[]>,
    options: SendBatchingOptions = {},
  ) {
    this.maxMessages = options.maxMessages ?? 32;
    this.maxBytes = options.maxBytes ?? 1024 * 1024;
    this.lingerMs = options.lingerMs ?? 0;
    if (!Number.isInteger(this.maxMessages) || this.maxMessages < 1) throw new LedgerError('BAD_REQUEST', 'batching.maxMessages must be a positive integer');
    if (!(this.maxBytes > 0)) throw new LedgerError('BAD_REQUEST', 'batching.maxBytes must be positive');
    if (!(this.lingerMs >= 0)) throw new LedgerError('BAD_REQUEST', 'batching.lingerMs must be 0 or more');
  }

  /** Sends `message` in the open batch of its kind; resolves with its own result. */
  send(message: Message): Promise<SendResult> {
    return new Promise<SendResult>((resolve, reject) => {
      const key = batchKey(message);
      const size = bodySize(message);
      let batch = this.open.get(key);
      if (batch && (batch.sends.length >= this.maxMessages || batch.bytes + size > this.maxBytes)) {
        this.flush(key);
        batch = undefined;
      }
      if (!batch) {
        batch = { sends: [], bytes: 0, cancel: this.startLinger(key) };
        this.open.set(key, batch);
      }
      batch.sends.push({ message, resolve, reject });
      batch.bytes += size;
      if (batch.sends.length >= this.maxMessages || batch.bytes >= this.maxBytes) this.flush(key);
    });
  }

  /** Fails every send still waiting in an open batch with `error` (the producer shuts down). */
  failAll(error: unknown): void {
    for (const batch of this.open.values()) {
      batch.cancel();
      for (const send of batch.sends) send.reject(error);
    }
    this.open.clear();
  }

  private flush(key: string): void {
    const batch = this.open.get(key);
    if (!batch) return;
    this.open.delete(key);
    batch.cancel();
    void this.deliver(batch.sends);
  }

  private startLinger(key: string): () => void {
    if (this.lingerMs > 0) {
      const timer = setTimeout(() => this.flush(key), this.lingerMs);
      return () => clearTimeout(timer);
    }
    const immediate = setImmediate(() => this.flush(key));
    return () => clearImmediate(immediate);
  }

  private async deliver(sends: PendingSend[]): Promise<void> {
    try {
      const results = await this.sendBatch(sends.map((s) => s.message));
      sends.forEach((s, i) => s.resolve(results[i]));
    } catch (error) {
      if (sends.length === 1 || (error instanceof LedgerError && error.retriable)) {
        for (const s of sends) s.reject(error);
        return;
      }
      // One bad message must not fail the others: each goes alone and gets its own outcome (one
      // after the other for a FIFO message group, so its order holds).
      if (sends[0].message.messageGroup) {
        for (const s of sends) await this.sendBatch([s.message]).then(([result]) => s.resolve(result), s.reject);
      } else {
        await Promise.all(sends.map((s) => this.sendBatch([s.message]).then(([result]) => s.resolve(result), s.reject)));
      }
    }
  }
}

/** Messages that may share a batch: one topic, one message group, one kind of delivery. */
function batchKey(message: Message): string {
  const delayed = (message.deliveryTimestampMs ?? 0) > 0 || message.delayLevel !== undefined ? 'd' : 'n';
  return `${message.topic}\u0000${message.messageGroup ?? ''}\u0000${delayed}`;
}

function bodySize(message: Message): number {
  return typeof message.body === 'string' ? Buffer.byteLength(message.body) : message.body.length;
}
