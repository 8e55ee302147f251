/**
 * Relays transaction checks to the official clients (RecoverOrphanedTransactionCommand on their
 * Telemetry streams). One TransactionCheckWatch per topic for the whole Proxy, shared by every
 * producer session publishing that topic, so the brokers see one check stream per topic and
 * broker group however many producers connect. A check goes to one session of its topic, round
 * robin, skipping sessions whose stream has more than `maxBufferedBytes` unsent (the broker checks
 * again at the next interval). At most `maxTopics` topics are watched.
 */
import type { Logger } from '../common/logger.js';
import type { BrokerGateway } from '../client/broker-gateway.js';
import type { RouteSource } from '../client/route-source.js';
import { TransactionCheckWatch } from '../client/transaction-check-watch.js';
import type { TransactionCheckEvent } from '../client/transaction-check-watch.js';

/** One producer's Telemetry stream: `send` writes a check to it, or answers false when it is backed up. */
export type CheckSink = (event: TransactionCheckEvent) => boolean;

interface WatchedTopic {
  watch: TransactionCheckWatch;
  sinks: Set<CheckSink>;
  turn: number;
}

/** See the file comment. */
export class TransactionCheckRelay {
  private readonly topics = new Map<string, WatchedTopic>();

  constructor(
    private readonly gateway: BrokerGateway,
    private readonly routes: RouteSource,
    private readonly logger: Logger,
    private readonly maxTopics = 10_000,
  ) {}

  /** Registers a producer session for `topics` until the returned function is called. */
  register(topics: readonly string[], sink: CheckSink): () => void {
    const joined: string[] = [];
    for (const topic of new Set(topics)) {
      let watched = this.topics.get(topic);
      if (!watched) {
        if (this.topics.size >= this.maxTopics) {
          this.logger.warn({ topic }, `transaction checks of more than ${this.maxTopics} topics are not relayed`);
          continue;
        }
        const entry: WatchedTopic = { sinks: new Set(), turn: 0, watch: new TransactionCheckWatch(this.gateway, this.routes, [topic], (event) => this.deliver(entry, event), this.logger) };
        watched = entry;
        this.topics.set(topic, entry);
        entry.watch.start();
      }
      watched.sinks.add(sink);
      joined.push(topic);
    }
    return () => {
      for (const topic of joined) {
        const watched = this.topics.get(topic);
        if (!watched) continue;
        watched.sinks.delete(sink);
        if (watched.sinks.size === 0) {
          watched.watch.stop();
          this.topics.delete(topic);
        }
      }
    };
  }

  /** Stops every watch (the Proxy stops). */
  close(): void {
    for (const watched of this.topics.values()) watched.watch.stop();
    this.topics.clear();
  }

  private deliver(watched: WatchedTopic, event: TransactionCheckEvent): void {
    const sinks = [...watched.sinks];
    for (let i = 0; i < sinks.length; i++) {
      if (sinks[(watched.turn + i) % sinks.length](event)) {
        watched.turn = (watched.turn + i + 1) % sinks.length;
        return;
      }
    }
  }
}
