/**
 * Messages fetched from one queue and not yet consumed (RocketMQ's ProcessQueue). It bounds what
 * a consumer buffers per queue (flow control by count and bytes) and knows how far the queue may
 * be committed: up to the lowest offset still buffered or being consumed, so a crash redelivers
 * anything unfinished and loses nothing.
 */
import type { ReceivedMessage } from './message.js';

export class ProcessQueue {
  private readonly messages = new Map<number, ReceivedMessage>();
  private bytes = 0;
  /** Where fetching continues: every offset below it was fetched (or filtered out). */
  private fetchedUpTo: number;
  /** Set when the queue was taken away (rebalance) or the consumer stops: its fetch loop ends. */
  dropped = false;
  private readonly dropping = new AbortController();
  /** Reset version the position derives from (see PullMessagesRequest.reset_version). */
  resetVersion: number;
  private readonly spaceWaiters: Array<() => void> = [];

  constructor(startOffset: number, resetVersion: number) {
    this.fetchedUpTo = startOffset;
    this.resetVersion = resetVersion;
  }

  get count(): number {
    return this.messages.size;
  }

  get bufferedBytes(): number {
    return this.bytes;
  }

  /** The offset the next fetch starts at. */
  get nextOffset(): number {
    return this.fetchedUpTo;
  }

  /** Adds fetched messages and moves the fetch position to `nextOffset` (past filtered-out ones too). */
  add(messages: readonly ReceivedMessage[], nextOffset: number): void {
    for (const message of messages) {
      if (message.queueOffset < this.fetchedUpTo || this.messages.has(message.queueOffset)) continue;
      this.messages.set(message.queueOffset, message);
      this.bytes += message.body.length;
    }
    if (nextOffset > this.fetchedUpTo) this.fetchedUpTo = nextOffset;
  }

  /** Marks messages consumed; wakes a fetch loop waiting for room. */
  remove(offsets: readonly number[]): void {
    for (const offset of offsets) {
      const message = this.messages.get(offset);
      if (!message) continue;
      this.messages.delete(offset);
      this.bytes -= message.body.length;
    }
    for (const wake of this.spaceWaiters.splice(0)) wake();
  }

  /** Forgets everything buffered and restarts at `offset` (an offset reset or an illegal offset). */
  restartAt(offset: number, resetVersion: number): void {
    this.messages.clear();
    this.bytes = 0;
    this.fetchedUpTo = offset;
    this.resetVersion = resetVersion;
    for (const wake of this.spaceWaiters.splice(0)) wake();
  }

  /** The offset this queue may be committed to: the lowest one not consumed yet. */
  committableOffset(): number {
    let lowest = this.fetchedUpTo;
    for (const offset of this.messages.keys()) if (offset < lowest) lowest = offset;
    return lowest;
  }

  /** Whether the buffer is over either limit (fetching pauses). */
  isFull(maxCount: number, maxBytes: number): boolean {
    return this.messages.size >= maxCount || this.bytes >= maxBytes;
  }

  /** Resolves when a message is removed, the queue restarts or is dropped, or after `timeoutMs`. */
  waitForSpace(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      const waiters = this.spaceWaiters;
      function done(): void {
        clearTimeout(timer);
        const at = waiters.indexOf(done);
        if (at >= 0) waiters.splice(at, 1);
        resolve();
      }
      waiters.push(done);
    });
  }

  /** Aborts when the queue is dropped: a pull in flight for it is given up. */
  get dropSignal(): AbortSignal {
    return this.dropping.signal;
  }

  /** Drops the queue: its fetch loop ends (a pull in flight is cancelled), waiters wake. */
  drop(): void {
    this.dropped = true;
    this.dropping.abort();
    for (const wake of this.spaceWaiters.splice(0)) wake();
  }

  /** Buffered messages in offset order (oldest first), at most `limit`, that are not `excluded`. */
  oldest(limit: number, excluded: ReadonlySet<number>): ReceivedMessage[] {
    // Messages are added in increasing offset order, so the map iterates oldest first.
    const picked: ReceivedMessage[] = [];
    for (const [offset, message] of this.messages) {
      if (picked.length >= limit) break;
      if (!excluded.has(offset)) picked.push(message);
    }
    return picked;
  }
}
