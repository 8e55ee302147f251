/**
 * Listens for transaction checks (WatchTransactionChecks) of some topics on the leader of every
 * broker group, and hands each to `onCheck`: our Producer's transaction checker, or the v2 Proxy,
 * which asks an official client over Telemetry. A stream that ends (the node stopped leading, or
 * died) is opened again on the group's current leader: quickly (200 ms) for about 10 s of
 * attempts in a row, then with exponential backoff from `retryMs`; `stop()` ends them all.
 * Broker groups are those the NameServers know when the watch starts.
 */
import type { ClientReadableStream } from '@grpc/grpc-js';
import type { Logger } from '../common/logger.js';
import type { TransactionCheck__Output } from '../gen/internal/ledgermq/v1/TransactionCheck.js';
import type { BrokerGateway } from './broker-gateway.js';
import type { RouteSource } from './route-source.js';

const MAX_RETRY_MS = 10_000;
/**
 * Pause before a stream is opened again (a leader change ends it: NOT_LEADER, the leader died, no
 * leader known yet). An election takes well under a second; backing off at once, as after a
 * failure, made a watch miss every check of a transaction that failed over twice (seen in CI).
 */
const QUICK_RETRY_MS = 200;
/** Quick retries in a row (about 10 s) before the watch backs off exponentially. */
const MAX_QUICK_RETRIES = 50;
/** A stream that lasted this long was healthy: the next one opens without backoff. */
const HEALTHY_STREAM_MS = 10_000;

/** One check: the half message (with its real topic) and its transaction id, from broker group `brokerGroup`. */
export interface TransactionCheckEvent {
  brokerGroup: string;
  check: TransactionCheck__Output;
}

/** See the file comment. */
export class TransactionCheckWatch {
  private stopped = false;
  private readonly streams = new Set<ClientReadableStream<TransactionCheck__Output>>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly gateway: BrokerGateway,
    private readonly routes: RouteSource,
    private readonly topics: readonly string[],
    private readonly onCheck: (event: TransactionCheckEvent) => void,
    private readonly logger?: Logger,
    private readonly retryMs = 1_000,
  ) {}

  /** Starts watching every broker group, in the background (the NameServers are asked until they answer). */
  start(): void {
    void (async () => {
      for (let failures = 0; !this.stopped; failures++) {
        try {
          for (const group of await this.routes.groups()) this.watch(group.group, 0);
          return;
        } catch (error) {
          this.logger?.debug({ err: error }, 'transaction-check watch: no routes yet');
          await new Promise((resolve) => this.later(() => resolve(undefined), failures));
        }
      }
    })();
  }

  stop(): void {
    this.stopped = true;
    for (const stream of this.streams) stream.cancel();
    this.streams.clear();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private watch(group: string, failures: number, quickRetries = 0): void {
    if (this.stopped) return;
    /** Looks again soon for the first MAX_QUICK_RETRIES times in a row, then backs off. */
    const soon = (): void => {
      if (quickRetries >= MAX_QUICK_RETRIES) this.later(() => this.watch(group, failures + 1, quickRetries), failures);
      else this.later(() => this.watch(group, failures, quickRetries + 1), 0, QUICK_RETRY_MS);
    };
    this.gateway.leaderAddress(group).then((address) => {
      if (this.stopped) return;
      const stream = this.gateway.client(address).WatchTransactionChecks({ topics: [...this.topics] });
      const openedAt = Date.now();
      this.streams.add(stream);
      let retried = false;
      const again = (): void => {
        this.streams.delete(stream);
        if (retried) return;
        retried = true;
        this.gateway.forgetLeader(group);
        // A stream that lasted was healthy: start counting afresh.
        if (Date.now() - openedAt >= HEALTHY_STREAM_MS) this.later(() => this.watch(group, 0, 0), 0, QUICK_RETRY_MS);
        else soon();
      };
      stream.on('data', (check: TransactionCheck__Output) => {
        if (check.status) return; // the last message: why the stream ends
        this.onCheck({ brokerGroup: group, check });
      });
      stream.on('error', again);
      stream.on('end', again);
    }, (error: unknown) => {
      this.logger?.debug({ err: error, group }, 'transaction-check watch: no leader yet');
      soon();
    });
  }

  /**
   * Runs `run` after the backoff for `failures` earlier failures (from `retryMs`, or `baseMs` when
   * given; jittered), unless stopped.
   */
  private later(run: () => void, failures: number, baseMs = this.retryMs): void {
    if (this.stopped) return;
    const base = Math.min(MAX_RETRY_MS, baseMs * 2 ** Math.min(failures, 10));
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.stopped) run();
    }, base * (0.5 + Math.random()));
    timer.unref();
    this.timers.add(timer);
  }
}
