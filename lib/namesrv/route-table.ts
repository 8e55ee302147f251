/**
 * The NameServer's whole state: the latest registration of every live broker node, and the
 * routes derived from them. Pure in-memory, no I/O, time from an injected clock.
 */
import { LedgerError } from '../common/errors.js';
import type { BrokerRegistration } from '../gen/internal/ledgermq/v1/BrokerRegistration.js';
import type { GroupRoute__Output } from '../gen/internal/ledgermq/v1/GroupRoute.js';
import type { NodeRoute__Output } from '../gen/internal/ledgermq/v1/NodeRoute.js';
import type { TopicConfig__Output } from '../gen/internal/ledgermq/v1/TopicConfig.js';
import type { TopicRoute__Output } from '../gen/internal/ledgermq/v1/TopicRoute.js';
import { parseRegistration } from './registered-broker.js';
import type { RegisteredBroker } from './registered-broker.js';

/** A topic's route: one entry per broker group serving the topic. Same shape as the wire message. */
export type TopicRoute = TopicRoute__Output;

/** One live broker group, its current leader and members. */
export interface GroupSummary {
  cluster: string;
  group: string;
  /** `''` when no leader is known (see {@link RouteTable.route} for the rule). */
  leaderId: string;
  leaderAddress: string;
  /** Live nodes, sorted by node id. */
  nodes: NodeRoute__Output[];
  /** Topics of the group, from the leader's registration if it claims leadership, else the freshest node's. */
  topics: TopicConfig__Output[];
}

/** Options of {@link RouteTable}; defaults are filled in the constructor. */
export interface RouteTableOptions {
  /** A registration silent for longer than this is dropped (RocketMQ: 120 s). */
  expireAfterMs?: number;
  /** Upper bound on registrations held; a new node beyond it is refused with TOO_MANY_REQUESTS. */
  maxBrokers?: number;
  /** Milliseconds clock used when a call does not pass `nowMs`. */
  clock?: () => number;
}

/** Result of {@link RouteTable.register}. */
export interface RegisterResult {
  broker: RegisteredBroker;
  /** True when the node had no live registration before (first registration or after expiry). */
  isNew: boolean;
}

/** RocketMQ's BROKER_CHANNEL_EXPIRED_TIME. */
export const DEFAULT_EXPIRE_AFTER_MS = 120_000;
const DEFAULT_MAX_BROKERS = 4096;

function nodeKey(cluster: string, group: string, nodeId: string): string {
  return `${cluster}\u0000${group}\u0000${nodeId}`;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Highest term first, then the most recent heartbeat. */
function byTermThenFreshness(a: RegisteredBroker, b: RegisteredBroker): number {
  return b.term - a.term || b.lastHeartbeatMs - a.lastHeartbeatMs;
}

/**
 * Registrations keyed by cluster/group/nodeId, and route queries over the live ones.
 *
 * Liveness: a registration is live while `now - lastHeartbeatMs <= expireAfterMs`. Queries
 * ({@link route}, {@link groups}, {@link brokers}) only show live registrations even before
 * {@link expire} has removed the dead ones, so routes do not depend on the scan interval.
 *
 * Not thread-safe in any sense that matters in Node: every method is synchronous.
 */
export class RouteTable {
  /** A registration silent for longer than this is no longer live. */
  readonly expireAfterMs: number;
  private readonly maxBrokers: number;
  private readonly clock: () => number;
  private readonly brokersByKey = new Map<string, RegisteredBroker>();

  constructor(options: RouteTableOptions = {}) {
    this.expireAfterMs = options.expireAfterMs ?? DEFAULT_EXPIRE_AFTER_MS;
    this.maxBrokers = options.maxBrokers ?? DEFAULT_MAX_BROKERS;
    this.clock = options.clock ?? Date.now;
    if (!(this.expireAfterMs > 0)) throw new RangeError(`expireAfterMs must be positive, got ${this.expireAfterMs}`);
  }

  /**
   * Stores a node's registration (also its heartbeat), replacing the node's previous one
   * entirely: topics, role and leader are whatever this registration says.
   *
   * @throws LedgerError `BAD_REQUEST` if the registration is invalid (see `parseRegistration`);
   *   `TOO_MANY_REQUESTS` if it is a new node and the table already holds `maxBrokers`.
   */
  register(registration: BrokerRegistration, nowMs: number = this.clock()): RegisterResult {
    const broker = parseRegistration(registration, nowMs);
    const key = nodeKey(broker.cluster, broker.group, broker.nodeId);
    const previous = this.brokersByKey.get(key);
    if (!previous && this.brokersByKey.size >= this.maxBrokers) {
      throw new LedgerError('TOO_MANY_REQUESTS', `the NameServer already holds ${this.maxBrokers} broker registrations`);
    }
    this.brokersByKey.set(key, broker);
    return { broker, isNew: !previous || !this.isLive(previous, nowMs) };
  }

  /** Forgets a node. Returns whether it was registered. Never throws. */
  unregister(cluster: string, group: string, nodeId: string): boolean {
    return this.brokersByKey.delete(nodeKey(cluster, group, nodeId));
  }

  /** Drops registrations silent for more than `expireAfterMs` and returns them (oldest first). */
  expire(nowMs: number = this.clock()): RegisteredBroker[] {
    const dropped: RegisteredBroker[] = [];
    for (const [key, broker] of this.brokersByKey) {
      if (!this.isLive(broker, nowMs)) {
        this.brokersByKey.delete(key);
        dropped.push(broker);
      }
    }
    return dropped.sort((a, b) => a.lastHeartbeatMs - b.lastHeartbeatMs);
  }

  /**
   * The route of `topic`: one entry per live group whose topic list has it, sorted by cluster
   * then group, each with the group's leader, its live nodes (sorted by node id) and the topic's
   * config as the group reports it.
   *
   * Leader rule, per group: among live nodes whose own registration says `leader`, the one with
   * the highest term, provided no live node reports a higher term (a stale claim left by a
   * deposed leader is ignored). Without such a claim, the leader reported by the freshest
   * non-leader at that highest term (a report from an older term could name the deposed leader
   * again). Else no leader (`''`): an election is under way or nobody has reported yet.
   *
   * The group's topic list is the leader's if it was chosen from its own claim, else the
   * freshest node's.
   *
   * @throws LedgerError `TOPIC_NOT_FOUND` if no live group has the topic.
   */
  route(topic: string, nowMs: number = this.clock()): TopicRoute {
    const groups: GroupRoute__Output[] = [];
    for (const summary of this.groups(nowMs)) {
      const config = summary.topics.find((candidate) => candidate.name === topic);
      if (!config) continue;
      groups.push({
        cluster: summary.cluster,
        group: summary.group,
        leaderId: summary.leaderId,
        leaderAddress: summary.leaderAddress,
        nodes: summary.nodes,
        topic: config,
      });
    }
    if (groups.length === 0) throw new LedgerError('TOPIC_NOT_FOUND', `topic ${topic} is not served by any live broker group`);
    return { topic, groups };
  }

  /**
   * Every group with at least one live node, sorted by cluster then group, with its leader
   * chosen as in {@link route}. Returned objects are fresh copies the caller may keep.
   */
  groups(nowMs: number = this.clock()): GroupSummary[] {
    return summarizeGroups([...this.brokersByKey.values()].filter((broker) => this.isLive(broker, nowMs)));
  }

  /** Every live registration, sorted by cluster, group, node id. Records are immutable. */
  brokers(nowMs: number = this.clock()): RegisteredBroker[] {
    return [...this.brokersByKey.values()]
      .filter((broker) => this.isLive(broker, nowMs))
      .sort((a, b) => compareText(a.cluster, b.cluster) || compareText(a.group, b.group) || compareText(a.nodeId, b.nodeId));
  }

  private isLive(broker: RegisteredBroker, nowMs: number): boolean {
    return nowMs - broker.lastHeartbeatMs <= this.expireAfterMs;
  }
}

/**
 * Groups live registrations by (cluster, group) and summarizes each as {@link RouteTable.groups}
 * does (also used by clients that read GetClusterInfo), sorted by cluster then group.
 */
export function summarizeGroups(brokers: readonly RegisteredBroker[]): GroupSummary[] {
  const members = new Map<string, RegisteredBroker[]>();
  for (const broker of brokers) {
    const key = `${broker.cluster}\u0000${broker.group}`;
    const list = members.get(key);
    if (list) list.push(broker);
    else members.set(key, [broker]);
  }
  return [...members.values()]
    .map((nodes) => summarize(nodes))
    .sort((a, b) => compareText(a.cluster, b.cluster) || compareText(a.group, b.group));
}

/** Builds the summary of one group from its live nodes (non-empty, all of one cluster/group). */
function summarize(nodes: RegisteredBroker[]): GroupSummary {
  const maxKnownTerm = Math.max(...nodes.map((node) => node.term));
  const claimant = nodes
    .filter((node) => node.role === 'leader' && node.term === maxKnownTerm)
    .sort(byTermThenFreshness)[0];
  let leaderId = '';
  let leaderAddress = '';
  if (claimant) {
    leaderId = claimant.nodeId;
    leaderAddress = claimant.brokerAddress;
  } else {
    const informant = nodes
      .filter((node) => node.term === maxKnownTerm && node.role !== 'leader' && node.leaderId !== '' && node.leaderAddress !== '')
      .sort(byTermThenFreshness)[0];
    if (informant) {
      leaderId = informant.leaderId;
      leaderAddress = informant.leaderAddress;
    }
  }
  const freshest = [...nodes].sort((a, b) => b.lastHeartbeatMs - a.lastHeartbeatMs)[0];
  const topicSource = claimant ?? freshest;
  return {
    cluster: nodes[0].cluster,
    group: nodes[0].group,
    leaderId,
    leaderAddress,
    nodes: [...nodes]
      .sort((a, b) => compareText(a.nodeId, b.nodeId))
      .map((node) => ({ nodeId: node.nodeId, brokerAddress: node.brokerAddress, role: node.role })),
    topics: topicSource.topics.map((topic) => ({ ...topic, messageTypes: [...topic.messageTypes] })),
  };
}
