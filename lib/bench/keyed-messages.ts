/**
 * The messages of `ledgermq bench query` and what the producer was told about each: message `i`
 * carries the unique key `k<i>`, every `hotEvery`-th also a shared key `hot-<j>` (spread round
 * robin over the hot keys), and a body derived from `i` alone, so an answer can be checked without
 * keeping bodies. {@link storeKeyedMessages} sends a range of them in batches with a bounded window
 * and records each acknowledged message's id, queue and offset compactly (a million fit in ~30 MB).
 */
import { performance } from 'node:perf_hooks';
import { Producer } from '../client/producer.js';
import type { Message, SendResult } from '../client/message.js';
import { formatNumber } from '../common/text-table.js';

/** Bytes of a message id (32 hex characters, as our Producer makes them). */
const ID_BYTES = 16;
const ID_PATTERN = /^[0-9A-F]{32}$/i;

/**
 * Where a message stands: not sent yet, acknowledged (committed on a majority), or unknown (its
 * batch failed after the producer's retries: it may or may not be stored).
 */
export type SendState = 'unsent' | 'acked' | 'unknown';
const STATES: readonly SendState[] = ['unsent', 'acked', 'unknown'];

/** Shape of the key space: see the file comment. */
export interface KeyPlan {
  topic: string;
  /** Messages `0 .. capacity - 1` can be recorded. */
  capacity: number;
  bodyBytes: number;
  /** Every `hotEvery`-th message (0, hotEvery, 2 hotEvery, ...) also carries a hot key. */
  hotEvery: number;
  /** Hot keys (`hot-0 .. hot-<hotKeys - 1>`). */
  hotKeys: number;
}

/** See the file comment. Owns the record of sends; one instance per benchmark run. */
export class KeyedMessages {
  private readonly ids: Buffer;
  private readonly queueIds: Uint16Array;
  private readonly queueOffsets: Float64Array;
  private readonly states: Uint8Array;

  /** @throws RangeError when `plan.bodyBytes` is under 16 (a body must hold its `m<i>;` prefix). */
  constructor(readonly plan: KeyPlan) {
    if (plan.bodyBytes < 16) throw new RangeError('bodies must be at least 16 bytes (they start with m<i>;)');
    this.ids = Buffer.alloc(plan.capacity * ID_BYTES);
    this.queueIds = new Uint16Array(plan.capacity);
    this.queueOffsets = new Float64Array(plan.capacity);
    this.states = new Uint8Array(plan.capacity);
  }

  /** The unique key of message `i`. */
  uniqueKey(i: number): string {
    return `k${i}`;
  }

  /** The hot key message `i` shares, or null. */
  hotKey(i: number): string | null {
    return i % this.plan.hotEvery === 0 ? `hot-${(i / this.plan.hotEvery) % this.plan.hotKeys}` : null;
  }

  /** Messages below `end` carrying hot key `j`, ascending. */
  hotMembers(j: number, end: number): number[] {
    const members: number[] = [];
    for (let i = j * this.plan.hotEvery; i < end; i += this.plan.hotEvery * this.plan.hotKeys) members.push(i);
    return members;
  }

  /** The body of message `i`: `m<i>;` repeated to `bodyBytes`. */
  body(i: number): Buffer {
    return Buffer.alloc(this.plan.bodyBytes, `m${i};`);
  }

  /** The message number a body claims (from its `m<i>;` prefix), or null when it has none. */
  numberOfBody(body: Buffer): number | null {
    const match = /^m(\d+);/.exec(body.subarray(0, 24).toString('latin1'));
    return match ? Number(match[1]) : null;
  }

  /** Message `i` as our Producer sends it. */
  message(i: number): Message {
    const hot = this.hotKey(i);
    return { topic: this.plan.topic, body: this.body(i), keys: hot === null ? [this.uniqueKey(i)] : [this.uniqueKey(i), hot] };
  }

  /** Where message `i` stands (`unsent` until its batch is answered). */
  state(i: number): SendState {
    return STATES[this.states[i]];
  }

  /** The id the broker acknowledged for message `i` (precondition: `state(i)` is `acked`). */
  messageId(i: number): string {
    return this.ids.toString('hex', i * ID_BYTES, (i + 1) * ID_BYTES).toUpperCase();
  }

  /** Queue and offset acknowledged for message `i` (precondition: `state(i)` is `acked`). */
  placement(i: number): { queueId: number; queueOffset: number } {
    return { queueId: this.queueIds[i], queueOffset: this.queueOffsets[i] };
  }

  /** Records the acknowledgement of message `i`; throws on an id our Producer would not make. */
  recordAck(i: number, result: SendResult): void {
    if (!ID_PATTERN.test(result.messageId)) throw new Error(`message ${i} acknowledged with an unexpected id ${result.messageId}`);
    this.ids.write(result.messageId, i * ID_BYTES, ID_BYTES, 'hex');
    this.queueIds[i] = result.queueId;
    this.queueOffsets[i] = result.queueOffset;
    this.states[i] = STATES.indexOf('acked');
  }

  /** Marks message `i` as sent with an unknown outcome. */
  recordUnknown(i: number): void {
    this.states[i] = STATES.indexOf('unknown');
  }
}

/** How {@link storeKeyedMessages} sends. */
export interface StoreOptions {
  nameServers: string[];
  /** Messages `from .. to - 1` of the plan. */
  from: number;
  to: number;
  batchMessages: number;
  /** Batches in flight at once. */
  window: number;
  /** No new batch is started after this many seconds; the ones in flight finish. */
  maxSeconds: number;
  /** A progress line on stderr this often (0: none). */
  progressIntervalMs: number;
  label: string;
}

/** What a store did: every message below `issuedTo` was sent, acknowledged or failed. */
export interface StoreResult {
  acked: number;
  failed: number;
  /** One past the last message sent (less than `to` when the time ran out). */
  issuedTo: number;
  elapsedS: number;
  msgsPerS: number;
  timedOut: boolean;
  /** Message of the last failed batch, if any. */
  lastError: string | null;
}

/**
 * Sends messages `from .. to - 1` of `messages` in order, `batchMessages` per batch (all on one
 * queue, round robin), `window` batches in flight, and records each outcome. Resolves once every
 * batch started has been answered; a failed batch is recorded `unknown`, not thrown.
 */
export async function storeKeyedMessages(messages: KeyedMessages, options: StoreOptions): Promise<StoreResult> {
  if (options.to > messages.plan.capacity) throw new RangeError(`message ${options.to - 1} is past the plan's capacity ${messages.plan.capacity}`);
  const producer = new Producer({ nameServers: options.nameServers, requestTimeoutMs: 10_000 });
  let next = options.from;
  let acked = 0;
  let failed = 0;
  let lastError: string | null = null;
  const start = performance.now();
  const deadline = start + options.maxSeconds * 1000;
  const total = options.to - options.from;
  let lastCount = 0;
  let lastAt = start;
  const progress = options.progressIntervalMs > 0 ? setInterval(() => {
    const now = performance.now();
    const done = acked + failed;
    const rate = ((done - lastCount) * 1000) / (now - lastAt);
    lastCount = done;
    lastAt = now;
    const eta = rate > 0 ? `, about ${formatNumber((total - done) / rate)} s left` : '';
    process.stderr.write(`${options.label}: ${formatNumber(done)} / ${formatNumber(total)} (${formatNumber((100 * done) / total)}%) after ${formatNumber((now - start) / 1000)} s, ${formatNumber(rate)} msgs/s${eta}${failed > 0 ? `, ${formatNumber(failed)} in failed batches` : ''}\n`);
  }, options.progressIntervalMs) : undefined;
  try {
    await Promise.all(Array.from({ length: options.window }, async () => {
      while (next < options.to && performance.now() < deadline) {
        const first = next;
        const end = Math.min(first + options.batchMessages, options.to);
        next = end;
        const batch: Message[] = [];
        for (let i = first; i < end; i++) batch.push(messages.message(i));
        try {
          const results = await producer.sendBatch(batch);
          if (results.length !== batch.length) throw new Error(`a batch of ${batch.length} was acknowledged with ${results.length} results`);
          results.forEach((result, k) => messages.recordAck(first + k, result));
          acked += batch.length;
        } catch (error) {
          for (let i = first; i < end; i++) messages.recordUnknown(i);
          failed += batch.length;
          lastError = error instanceof Error ? error.message : String(error);
        }
      }
    }));
  } finally {
    clearInterval(progress);
    producer.shutdown();
  }
  const elapsedS = (performance.now() - start) / 1000;
  return { acked, failed, issuedTo: next, elapsedS, msgsPerS: (acked + failed) / elapsedS, timedOut: next < options.to, lastError };
}
