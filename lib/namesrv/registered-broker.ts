/**
 * The NameServer's record of one broker node, parsed and validated from the wire registration.
 * Shared by the RouteTable (which stores records), the NameService adapter (which answers
 * GetClusterInfo with them) and the NameServerClient (which parses GetClusterInfo back).
 */
import { LedgerError } from '../common/errors.js';
import type { BrokerRegistration } from '../gen/internal/ledgermq/v1/BrokerRegistration.js';
import type { Long } from '@grpc/proto-loader';
import type { TopicConfig__Output } from '../gen/internal/ledgermq/v1/TopicConfig.js';

/** Roles a node may report; only `leader` gets special treatment in routes. */
export const BROKER_ROLES = ['leader', 'follower', 'candidate'] as const;

/** A role from {@link BROKER_ROLES}. */
export type BrokerRole = (typeof BROKER_ROLES)[number];

/** Pattern for group and node ids (and their length bound). */
const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** `host:port`, `[ipv6]:port`; the host part is not resolved here. */
const ADDRESS_PATTERN = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):\d{1,5}$/;
const MAX_CLUSTER_NAME_CHARS = 128;

/** One node's latest registration plus when the NameServer received it. Immutable once built. */
export interface RegisteredBroker {
  readonly cluster: string;
  readonly group: string;
  readonly nodeId: string;
  /** host:port of the node's BrokerService. */
  readonly brokerAddress: string;
  readonly role: BrokerRole;
  readonly term: number;
  /** The leader this node knows of; `''` if none. */
  readonly leaderId: string;
  readonly leaderAddress: string;
  readonly commitIndex: number;
  /** Topics of the group as this node knows them, in the order the node sent them. */
  readonly topics: readonly TopicConfig__Output[];
  /** host:port of the node's HTTP endpoint; `''` if not reported. */
  readonly httpAddress: string;
  /** NameServer clock time of the registration (ms). */
  readonly lastHeartbeatMs: number;
}

function badRequest(message: string): LedgerError {
  return new LedgerError('BAD_REQUEST', `invalid broker registration: ${message}`);
}

/** int64 fields arrive as number, decimal string or Long (whose `toString()` is decimal). */
function toNonNegativeInteger(value: number | string | Long | undefined, field: string): number {
  if (value === undefined || value === '') return 0;
  const text = typeof value === 'object' ? value.toString() : String(value);
  const parsed = Number(text);
  if (!Number.isSafeInteger(parsed) || parsed < 0) throw badRequest(`${field} must be a non-negative integer, got ${text}`);
  return parsed;
}

function isBrokerRole(role: string): role is BrokerRole {
  return (BROKER_ROLES as readonly string[]).includes(role);
}

/**
 * Validates a wire registration and turns it into a record stamped with `lastHeartbeatMs`.
 *
 * Rules: `cluster` non-empty (at most 128 chars); `group` and `nodeId` match `[A-Za-z0-9_-]{1,64}`;
 * `brokerAddress` is `host:port`; `role` is one of {@link BROKER_ROLES}; `term` and `commitIndex`
 * are non-negative integers; every topic has a non-empty name and topic names are unique.
 *
 * @throws LedgerError `BAD_REQUEST` naming the first rule broken.
 */
export function parseRegistration(registration: BrokerRegistration | null | undefined, lastHeartbeatMs: number): RegisteredBroker {
  if (!registration) throw badRequest('missing registration');
  const cluster = registration.cluster ?? '';
  const group = registration.group ?? '';
  const nodeId = registration.nodeId ?? '';
  const brokerAddress = registration.brokerAddress ?? '';
  const role = registration.role ?? '';
  if (cluster === '' || cluster.length > MAX_CLUSTER_NAME_CHARS) throw badRequest(`cluster must be 1-${MAX_CLUSTER_NAME_CHARS} characters`);
  if (!ID_PATTERN.test(group)) throw badRequest(`group ${JSON.stringify(group)} must match ${ID_PATTERN.source}`);
  if (!ID_PATTERN.test(nodeId)) throw badRequest(`nodeId ${JSON.stringify(nodeId)} must match ${ID_PATTERN.source}`);
  if (!ADDRESS_PATTERN.test(brokerAddress)) throw badRequest(`brokerAddress ${JSON.stringify(brokerAddress)} must be host:port`);
  if (!isBrokerRole(role)) throw badRequest(`role ${JSON.stringify(role)} must be one of ${BROKER_ROLES.join(', ')}`);
  const seen = new Set<string>();
  const topics = (registration.topics ?? []).map((topic): TopicConfig__Output => {
    const name = topic.name ?? '';
    if (name === '') throw badRequest('a topic has an empty name');
    if (seen.has(name)) throw badRequest(`topic ${name} is listed twice`);
    seen.add(name);
    return {
      name,
      readQueues: topic.readQueues ?? 0,
      writeQueues: topic.writeQueues ?? 0,
      perm: topic.perm ?? 0,
      messageTypes: [...(topic.messageTypes ?? [])],
    };
  });
  return {
    cluster,
    group,
    nodeId,
    brokerAddress,
    role,
    term: toNonNegativeInteger(registration.term, 'term'),
    leaderId: registration.leaderId ?? '',
    leaderAddress: registration.leaderAddress ?? '',
    commitIndex: toNonNegativeInteger(registration.commitIndex, 'commitIndex'),
    topics,
    httpAddress: registration.httpAddress ?? '',
    lastHeartbeatMs,
  };
}

/** The wire form of a record (without `lastHeartbeatMs`, which travels beside it). */
export function toWireRegistration(broker: RegisteredBroker): BrokerRegistration {
  return {
    cluster: broker.cluster,
    group: broker.group,
    nodeId: broker.nodeId,
    brokerAddress: broker.brokerAddress,
    role: broker.role,
    term: broker.term,
    leaderId: broker.leaderId,
    leaderAddress: broker.leaderAddress,
    commitIndex: broker.commitIndex,
    topics: broker.topics.map((topic) => ({ ...topic, messageTypes: [...topic.messageTypes] })),
    httpAddress: broker.httpAddress,
  };
}
