/**
 * `ledgermq admin clusterList | topicList | topicRoute | topicStatus | raftStatus | transferLeader`:
 * mqadmin-style commands over the NameServers' registrations, the brokers' BrokerService and each
 * node's `/status`. Output is a text table, or JSON with `-o json`; each returns the process exit code
 * (1 with a message on stderr when the answer could not be had).
 */
import { topicTypeLabel } from '../broker/message-types.js';
import type { ClientTlsFiles } from '../security/tls-config.js';
import { ClientContext } from '../client/client-context.js';
import type { Credentials } from '../client/client-options.js';
import { LedgerError } from '../common/errors.js';
import { renderTable } from '../common/text-table.js';
import { runToExitCode } from './admin-run.js';
import { gatherRaftStatus } from './raft-status.js';
import type { RegisteredBroker } from '../namesrv/registered-broker.js';
import { summarizeGroups } from '../namesrv/route-table.js';

export interface ClusterCommandOptions {
  namesrv: string[];
  /** TLS to the NameServers and brokers; absent: plaintext. */
  tls?: ClientTlsFiles;
  output: 'table' | 'json';
  /** Signs every broker call (brokers with aclEnabled; admin commands need an admin user). */
  credentials?: Credentials;
}

export function withContext(options: ClusterCommandOptions, work: (context: ClientContext) => Promise<void>): Promise<number> {
  return runToExitCode(new ClientContext({ nameServers: options.namesrv, tls: options.tls, credentials: options.credentials }), work);
}

export function print(options: ClusterCommandOptions, json: unknown, headers: string[], rows: Array<Array<string | number>>): void {
  if (options.output === 'json') console.log(JSON.stringify(json, null, 2));
  else console.log(renderTable(headers, rows));
}

/** Every live registration; NOT_FOUND when there is none. */
export async function registrations(context: ClientContext): Promise<RegisteredBroker[]> {
  const brokers = await context.names.getClusterInfo();
  if (brokers.length === 0) throw new LedgerError('NOT_FOUND', 'no broker is registered with the NameServer(s)');
  return brokers;
}

/** Every live broker node the NameServers know: cluster, group, role, term, commit index, last heartbeat. */
export function runClusterList(options: ClusterCommandOptions): Promise<number> {
  return withContext(options, async (context) => {
    const brokers = await registrations(context);
    const now = Date.now();
    const json = brokers.map((b) => ({
      cluster: b.cluster, group: b.group, nodeId: b.nodeId, brokerAddress: b.brokerAddress, httpAddress: b.httpAddress,
      role: b.role, term: b.term, leaderId: b.leaderId, commitIndex: b.commitIndex, lastHeartbeatMs: b.lastHeartbeatMs,
    }));
    print(options, json, ['CLUSTER', 'GROUP', 'NODE', 'ADDRESS', 'ROLE', 'TERM', 'COMMIT INDEX', 'HTTP', 'LAST HEARTBEAT'],
      brokers.map((b) => [b.cluster, b.group, b.nodeId, b.brokerAddress, b.role, b.term, b.commitIndex, b.httpAddress || '-', `${Math.max(0, now - b.lastHeartbeatMs)} ms ago`]));
  });
}

/** Every topic of every broker group (retry and dead-letter topics included), with its queues. */
export function runTopicList(options: ClusterCommandOptions): Promise<number> {
  return withContext(options, async (context) => {
    const topics = new Map<string, Array<{ group: string; readQueues: number; writeQueues: number; perm: number; messageType: string }>>();
    for (const group of summarizeGroups(await registrations(context))) {
      for (const topic of group.topics) {
        const list = topics.get(topic.name) ?? [];
        list.push({ group: group.group, readQueues: topic.readQueues, writeQueues: topic.writeQueues, perm: topic.perm, messageType: topicTypeLabel(topic.messageTypes) });
        topics.set(topic.name, list);
      }
    }
    const json = [...topics.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([topic, groups]) => ({ topic, kind: topicKind(topic), groups }));
    print(options, json, ['TOPIC', 'KIND', 'MESSAGE TYPE', 'BROKER GROUPS', 'READ/WRITE QUEUES', 'PERM'],
      json.map((t) => [t.topic, t.kind, [...new Set(t.groups.map((g) => g.messageType))].join(' '), t.groups.map((g) => g.group).join(' '), t.groups.map((g) => `${g.readQueues}/${g.writeQueues}`).join(' '), t.groups.map((g) => g.perm).join(' ')]));
  });
}

function topicKind(topic: string): string {
  if (topic.startsWith('%RETRY%')) return 'retry';
  if (topic.startsWith('%DLQ%')) return 'dead-letter';
  if (topic.startsWith('%')) return 'system';
  return 'normal';
}

/** The topic's route: each broker group serving it, its leader, its nodes and queue counts. */
export function runTopicRoute(options: ClusterCommandOptions & { topic: string }): Promise<number> {
  return withContext(options, async (context) => {
    const route = await context.names.getRoute(options.topic);
    const json = {
      topic: route.topic,
      groups: route.groups.map((g) => ({
        cluster: g.cluster, group: g.group, leaderId: g.leaderId, leaderAddress: g.leaderAddress,
        nodes: g.nodes.map((n) => ({ nodeId: n.nodeId, brokerAddress: n.brokerAddress, role: n.role })),
        readQueues: g.topic?.readQueues ?? 0, writeQueues: g.topic?.writeQueues ?? 0, perm: g.topic?.perm ?? 0,
      })),
    };
    print(options, json, ['GROUP', 'LEADER', 'LEADER ADDRESS', 'NODES', 'READ', 'WRITE', 'PERM'],
      json.groups.map((g) => [g.group, g.leaderId || '-', g.leaderAddress || '-', g.nodes.map((n) => `${n.nodeId}:${n.role}`).join(' '), g.readQueues, g.writeQueues, g.perm]));
  });
}

/** Each queue of the topic on each broker group: min and max offset, last store time (from the leaders). */
export function runTopicStatus(options: ClusterCommandOptions & { topic: string }): Promise<number> {
  return withContext(options, async (context) => {
    const route = await context.names.getRoute(options.topic);
    const rows: Array<{ brokerGroup: string; queueId: number; minOffset: number; maxOffset: number; lastStoreTimestampMs: number }> = [];
    for (const group of route.groups) {
      const response = await context.gateway.getTopicStatus(group.group, { topic: options.topic }, context.requestTimeoutMs);
      for (const q of response.queues) {
        rows.push({ brokerGroup: group.group, queueId: q.queueId, minOffset: Number(q.minOffset), maxOffset: Number(q.maxOffset), lastStoreTimestampMs: Number(q.lastStoreTimestampMs) });
      }
    }
    print(options, rows, ['BROKER GROUP', 'QUEUE', 'MIN OFFSET', 'MAX OFFSET', 'LAST UPDATED'],
      rows.map((r) => [r.brokerGroup, r.queueId, r.minOffset, r.maxOffset, r.lastStoreTimestampMs > 0 ? new Date(r.lastStoreTimestampMs).toISOString() : '-']));
  });
}

/**
 * Each broker group's Raft state from its members' `/status` (see {@link gatherRaftStatus}):
 * leader, term, and per member role, indexes, lag and last contact. Exits 1 when a group has no
 * leader.
 */
export function runRaftStatus(options: ClusterCommandOptions): Promise<number> {
  let leaderless: string[] = [];
  return withContext(options, async (context) => {
    const groups = await gatherRaftStatus(await registrations(context));
    leaderless = groups.filter((g) => g.leaderId === null).map((g) => g.group);
    const dash = (value: number | null): string | number => (value === null ? '-' : value);
    print(options, groups, ['GROUP', 'NODE', 'ROLE', 'MEMBER', 'TERM', 'COMMIT INDEX', 'APPLIED INDEX', 'MATCH INDEX', 'LAG', 'LAST CONTACT MS'],
      groups.flatMap((g) => g.members.map((m) => [g.group, m.nodeId, m.role, m.membership ?? '-', dash(m.term), dash(m.commitIndex), dash(m.appliedIndex), dash(m.matchIndex), dash(m.lag), dash(m.lastContactMsAgo)])));
  }).then((code) => {
    if (code === 0 && leaderless.length > 0) {
      console.error(`HA_NOT_AVAILABLE: no leader in ${leaderless.join(', ')}`);
      return 1;
    }
    return code;
  });
}

/** How long transferLeader waits for the group (the leader itself gives the target 3 s). */
const TRANSFER_REQUEST_TIMEOUT_MS = 10_000;

/**
 * Hands a broker group's leadership to `to` (or, when empty, to a follower holding every committed
 * entry) and prints who leads now. Exit 1 when the group refused or the target did not take over.
 */
export function runTransferLeader(options: ClusterCommandOptions & { brokerGroup: string; to: string }): Promise<number> {
  return withContext(options, async (context) => {
    const before = (await context.routes.groups()).find((g) => g.group === options.brokerGroup);
    if (!before) throw new LedgerError('NOT_FOUND', `broker group ${options.brokerGroup} is not registered`);
    const response = await context.gateway.transferLeadership(options.brokerGroup, { targetNodeId: options.to }, TRANSFER_REQUEST_TIMEOUT_MS);
    const json = { group: options.brokerGroup, from: before.leaderId || null, to: response.leaderId, leaderAddress: response.leaderAddress, term: Number(response.term) };
    if (options.output === 'json') console.log(JSON.stringify(json, null, 2));
    else console.log(`${json.group}: leadership moved from ${json.from ?? 'none'} to ${json.to} (${json.leaderAddress}), term ${json.term}`);
  });
}
