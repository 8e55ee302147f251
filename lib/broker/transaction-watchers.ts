/**
 * The open WatchTransactionChecks streams of this leader: producers (our client) and Proxies (for
 * the official clients' Telemetry sessions) that answer transaction checks of some topics. A check
 * goes to one watcher of its topic, round robin. Bounded: at most `maxWatchers` streams, and a
 * watcher whose stream has more than `maxBufferedBytes` unsent is skipped (the check comes again at
 * the next interval), so a slow producer never makes the broker buffer without limit.
 */
import type { ServerWritableStream } from '@grpc/grpc-js';
import { LedgerError, toWireStatus } from '../common/errors.js';
import type { TransactionCheck } from '../gen/internal/ledgermq/v1/TransactionCheck.js';
import type { WatchTransactionChecksRequest__Output } from '../gen/internal/ledgermq/v1/WatchTransactionChecksRequest.js';

type WatchCall = ServerWritableStream<WatchTransactionChecksRequest__Output, TransactionCheck>;

interface Watcher {
  call: WatchCall;
  topics: ReadonlySet<string>;
}

/** See the file comment. */
export class TransactionWatchers {
  private readonly watchers = new Set<Watcher>();
  private turn = 0;

  constructor(private readonly maxWatchers = 10_000, private readonly maxBufferedBytes = 4 * 1024 * 1024) {}

  /** Registers a stream until it ends; TOO_MANY_REQUESTS past the bound. */
  add(call: WatchCall, topics: readonly string[]): void {
    if (this.watchers.size >= this.maxWatchers) throw new LedgerError('TOO_MANY_REQUESTS', `at most ${this.maxWatchers} transaction-check streams per node`);
    const watcher: Watcher = { call, topics: new Set(topics) };
    this.watchers.add(watcher);
    const remove = (): void => {
      this.watchers.delete(watcher);
    };
    call.on('cancelled', remove);
    call.on('close', remove);
    call.on('error', remove);
    call.on('finish', remove);
  }

  /** Sends `check` to one watcher of `topic`; false when none could take it. */
  publish(topic: string, check: TransactionCheck): boolean {
    const candidates = [...this.watchers].filter((w) => w.topics.has(topic) && w.call.writableLength <= this.maxBufferedBytes);
    if (candidates.length === 0) return false;
    const watcher = candidates[this.turn++ % candidates.length];
    watcher.call.write(check);
    return true;
  }

  /** Ends every stream with `error` (this node stopped leading, or stops). */
  endAll(error: LedgerError): void {
    for (const watcher of [...this.watchers]) {
      this.watchers.delete(watcher);
      try {
        watcher.call.write({ status: toWireStatus(error) });
        watcher.call.end();
      } catch {
        // The stream is gone already.
      }
    }
  }

  get size(): number {
    return this.watchers.size;
  }
}
