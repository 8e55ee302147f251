/**
 * Live consumers of each group, as this node learns them from client heartbeats (RocketMQ's
 * ConsumerManager). In memory only: clients heartbeat to their broker groups' leaders every second
 * or so, so a new leader relearns every live client within one expiry. Until then it reports its
 * lists as not `settled`, and clients keep their queue assignment instead of rebalancing on a
 * partial list. A client silent for `expiryMs` is dropped; one that shuts down unregisters at once.
 */
import { LedgerError } from '../common/errors.js';
import { checkGroupName } from './name-rules.js';

export type ConsumeMode = 'CLUSTERING' | 'BROADCASTING';

export interface ConsumerSubscription {
  topic: string;
  filterType: string;
  filterExpression: string;
}

export interface QueueRef {
  topic: string;
  queueId: number;
}

/** One client's membership of one group. */
export interface ConsumerConnection {
  clientId: string;
  mode: ConsumeMode;
  subscriptions: ConsumerSubscription[];
  /** Queues of this broker group the client says it owns. */
  owned: QueueRef[];
  lastHeartbeatMs: number;
}

/** One group's heartbeat from a client. */
export interface GroupHeartbeat {
  group: string;
  mode: ConsumeMode;
  subscriptions: ConsumerSubscription[];
  owned: QueueRef[];
}

export interface ConsumerRegistryOptions {
  /** A client silent this long is dropped. */
  expiryMs: number;
  /** Most (client, group) memberships kept; heartbeats past it are refused with TOO_MANY_REQUESTS. */
  maxConnections: number;
  clock?: () => number;
}

const MAX_CLIENT_ID_LENGTH = 256;
const MAX_SUBSCRIPTIONS = 256;
const MAX_OWNED_QUEUES = 65_536;

/** See the file comment. */
export class ConsumerRegistry {
  private readonly groups = new Map<string, Map<string, ConsumerConnection>>();
  private connections = 0;
  private readonly clock: () => number;
  private sinceMs: number;

  constructor(private readonly options: ConsumerRegistryOptions) {
    this.clock = options.clock ?? Date.now;
    this.sinceMs = this.clock();
  }

  get expiryMs(): number {
    return this.options.expiryMs;
  }

  /** Forgets everything and starts learning anew (the node just became leader). */
  restart(): void {
    this.groups.clear();
    this.connections = 0;
    this.sinceMs = this.clock();
  }

  /** Whether this registry has listened for a full expiry, so its lists hold every live client. */
  get settled(): boolean {
    return this.clock() - this.sinceMs >= this.options.expiryMs;
  }

  /** Records a heartbeat of `clientId` for each of `groups`. */
  heartbeat(clientId: string, groups: readonly GroupHeartbeat[]): void {
    if (clientId.length === 0 || clientId.length > MAX_CLIENT_ID_LENGTH) throw new LedgerError('CLIENT_ID_REQUIRED', `client id must be 1..${MAX_CLIENT_ID_LENGTH} characters`);
    const now = this.clock();
    for (const heartbeat of groups) {
      checkGroupName(heartbeat.group);
      if (heartbeat.mode !== 'CLUSTERING' && heartbeat.mode !== 'BROADCASTING') throw new LedgerError('BAD_REQUEST', `consume mode must be CLUSTERING or BROADCASTING, got ${String(heartbeat.mode)}`);
      if (heartbeat.subscriptions.length > MAX_SUBSCRIPTIONS) throw new LedgerError('BAD_REQUEST', `at most ${MAX_SUBSCRIPTIONS} subscriptions per group`);
      if (heartbeat.owned.length > MAX_OWNED_QUEUES) throw new LedgerError('BAD_REQUEST', `at most ${MAX_OWNED_QUEUES} owned queues per group`);
    }
    for (const heartbeat of groups) {
      let members = this.groups.get(heartbeat.group);
      if (!members?.has(clientId)) {
        if (this.connections >= this.options.maxConnections) for (const name of [...this.groups.keys()]) this.expireGroup(name, now);
        if (this.connections >= this.options.maxConnections) throw new LedgerError('TOO_MANY_REQUESTS', `this broker tracks ${this.connections} consumer connections, its limit`);
        if (!members) {
          members = new Map();
          this.groups.set(heartbeat.group, members);
        }
        this.connections += 1;
      }
      members.set(clientId, { clientId, mode: heartbeat.mode, subscriptions: heartbeat.subscriptions, owned: heartbeat.owned, lastHeartbeatMs: now });
    }
  }

  /** Removes `clientId` from `groups` (every group when empty). */
  unregister(clientId: string, groups: readonly string[]): void {
    const names = groups.length > 0 ? groups : [...this.groups.keys()];
    for (const name of names) {
      const members = this.groups.get(name);
      if (members?.delete(clientId)) {
        this.connections -= 1;
        if (members.size === 0) this.groups.delete(name);
      }
    }
  }

  /** Live members of `group`, sorted by client id. */
  members(group: string): ConsumerConnection[] {
    this.expireGroup(group, this.clock());
    const members = this.groups.get(group);
    if (!members) return [];
    return [...members.values()].sort((a, b) => (a.clientId < b.clientId ? -1 : a.clientId > b.clientId ? 1 : 0));
  }

  /** Live consumer instances per group (metrics). */
  groupSizes(): Map<string, number> {
    const now = this.clock();
    const sizes = new Map<string, number>();
    for (const group of [...this.groups.keys()]) {
      this.expireGroup(group, now);
      const members = this.groups.get(group);
      if (members) sizes.set(group, members.size);
    }
    return sizes;
  }

  /** Drops the group's connections silent for longer than the expiry (checked when read: no timer). */
  private expireGroup(group: string, now: number): void {
    const members = this.groups.get(group);
    if (!members) return;
    for (const [clientId, connection] of members) {
      if (now - connection.lastHeartbeatMs > this.options.expiryMs) {
        members.delete(clientId);
        this.connections -= 1;
      }
    }
    if (members.size === 0) this.groups.delete(group);
  }
}
