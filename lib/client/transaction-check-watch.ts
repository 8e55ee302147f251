/**
 * Listens for transaction checks (WatchTransactionChecks) of some topics on the leader of every
 * broker group, and hands each to `onCheck`: our Producer's transaction checker, or the v2 Proxy,
 * which asks an official client over Telemetry. A stream that ends (the node stopped leading, or
 * died) is opened again on the group's current leader after `retryMs`; `stop()` ends them all.
 * Broker groups are those the NameServers know when the watch starts.
 */
import type { ClientReadableStream } from '@grpc/grpc-js';
import type { Logger } from '../common/logger.js';
import type { TransactionCheck__Output } from '../gen/internal/ledgermq/v1/TransactionCheck.js';
import type { BrokerGateway } from './broker-gateway.js';
import type { RouteSource } from './route-source.js';

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

  /** Starts watching every broker group (returns once their list is known). */
  async start(): Promise<void> {
    for (const group of await this.routes.groups()) this.watch(group.group);
  }

  stop(): void {
    this.stopped = true;
    for (const stream of this.streams) stream.cancel();
    this.streams.clear();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private watch(group: string): void {
    if (this.stopped) return;
    this.gateway.leaderAddress(group).then((address) => {
      if (this.stopped) return;
      const stream = this.gateway.client(address).WatchTransactionChecks({ topics: [...this.topics], clientId: '' });
      this.streams.add(stream);
      let retried = false;
      const again = (): void => {
        this.streams.delete(stream);
        if (retried) return;
        retried = true;
        this.gateway.forgetLeader(group);
        this.later(group);
      };
      stream.on('data', (check: TransactionCheck__Output) => {
        if (check.status) return; // the last message: why the stream ends
        this.onCheck({ brokerGroup: group, check });
      });
      stream.on('error', again);
      stream.on('end', again);
    }, (error: unknown) => {
      this.logger?.debug({ err: error, group }, 'transaction-check watch: no leader yet');
      this.later(group);
    });
  }

  private later(group: string): void {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.watch(group);
    }, this.retryMs);
    timer.unref();
    this.timers.add(timer);
  }
}
