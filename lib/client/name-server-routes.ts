/**
 * A {@link RouteSource} for clients and the admin tool: topic routes and broker group leaders
 * asked from NameServers and cached. An entry is fetched again when it is older than the refresh
 * interval (RocketMQ's pollNameServerInterval, 30 s) or after {@link NameServerRoutes.invalidate}
 * (a leader did not answer as leader), but never more often than every `minRefetchMs`, so a
 * failover costs one NameServer round trip, not a storm. Concurrent lookups share one fetch.
 */
import type { GroupSummary, TopicRoute } from '../namesrv/route-table.js';
import { summarizeGroups } from '../namesrv/route-table.js';
import type { NameServerClient } from '../namesrv/name-server-client.js';
import type { RouteSource } from './route-source.js';

export interface NameServerRoutesOptions {
  /** Age after which a cached answer is fetched again (default 30,000 ms). */
  refreshIntervalMs?: number;
  /** Least time between two fetches of one entry after an invalidation (default 200 ms). */
  minRefetchMs?: number;
  /** Most topic routes kept; the oldest is dropped past it (default 10,000). */
  maxTopics?: number;
  clock?: () => number;
}

interface Cached<T> {
  value: Promise<T>;
  fetchedAtMs: number;
  stale: boolean;
  /** The value resolved. */
  ok: boolean;
}

/** See the file comment. */
export class NameServerRoutes implements RouteSource {
  private readonly topics = new Map<string, Cached<TopicRoute>>();
  private clusterGroups: Cached<GroupSummary[]> | null = null;
  private readonly refreshIntervalMs: number;
  private readonly minRefetchMs: number;
  private readonly maxTopics: number;
  private readonly clock: () => number;

  constructor(private readonly names: NameServerClient, options: NameServerRoutesOptions = {}) {
    this.refreshIntervalMs = options.refreshIntervalMs ?? 30_000;
    this.minRefetchMs = options.minRefetchMs ?? 200;
    this.maxTopics = options.maxTopics ?? 10_000;
    this.clock = options.clock ?? Date.now;
  }

  /** The topic's route; throws LedgerError TOPIC_NOT_FOUND as the NameServers answer it. */
  route(topic: string): Promise<TopicRoute> {
    const cached = this.topics.get(topic);
    if (cached && !this.due(cached)) return cached.value;
    const entry = this.fetch(() => this.names.getRoute(topic), cached);
    this.topics.delete(topic);
    this.topics.set(topic, entry);
    if (this.topics.size > this.maxTopics) this.topics.delete(this.topics.keys().next().value as string);
    return entry.value;
  }

  /** Every live broker group with its leader, as one NameServer knows them. */
  groups(): Promise<GroupSummary[]> {
    if (this.clusterGroups && !this.due(this.clusterGroups)) return this.clusterGroups.value;
    this.clusterGroups = this.fetch(async () => summarizeGroups(await this.names.getClusterInfo()), this.clusterGroups ?? undefined);
    return this.clusterGroups.value;
  }

  /** Marks every cached answer stale: the next lookup asks a NameServer again. */
  invalidate(): void {
    for (const entry of this.topics.values()) entry.stale = true;
    if (this.clusterGroups) this.clusterGroups.stale = true;
  }

  /** Whether `entry` should be fetched again now. */
  private due(entry: Cached<unknown>): boolean {
    const age = this.clock() - entry.fetchedAtMs;
    return age >= this.refreshIntervalMs || (entry.stale && age >= this.minRefetchMs);
  }

  /**
   * Starts a fetch. A periodic refresh of a good answer does not make lookups wait: they get the
   * previous answer until the new one arrives. After an invalidation they wait for the new one. A
   * failed fetch is not kept, so the next lookup tries again.
   */
  private fetch<T>(load: () => Promise<T>, previous: Cached<T> | undefined): Cached<T> {
    const loading = load();
    const entry: Cached<T> = { value: loading, fetchedAtMs: this.clock(), stale: false, ok: false };
    const served: Cached<T> = previous?.ok && !previous.stale ? { ...previous, fetchedAtMs: entry.fetchedAtMs } : entry;
    loading.then(
      (value) => {
        served.value = Promise.resolve(value);
        served.ok = true;
      },
      () => {
        served.fetchedAtMs = Number.NEGATIVE_INFINITY;
      },
    );
    return served;
  }
}
