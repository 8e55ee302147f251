/**
 * `ledgermq admin clusterList | topicList | topicRoute | topicStatus | raftStatus | transferLeader`:
 * mqadmin-style commands over the NameServers' registrations, the brokers' BrokerService and each
 * node's `/status`. Output is a text table, or JSON with `-o json`; each returns the process exit code
 * (1 with a message on stderr when the answer could not be had).
 */
import { ClientContext } from '../client/client-context.js';
import { LedgerError } from '../common/errors.js';
import { renderTable } from '../common/text-table.js';
import { runToExitCode } from './admin-run.js';
import type { RegisteredBroker } from '../namesrv/registered-broker.js';
import { summarizeGroups } from '../namesrv/route-table.js';

export interface ClusterCommandOptions {
  namesrv: string[];
  output: 'table' | 'json';
}

/** How long to wait for one node's `/status`. */
const STATUS_TIMEOUT_MS = 3_000;

function withContext(options: ClusterCommandOptions, work: (context: ClientContext) => Promise<void>): Promise<number> {
  return runToExitCode(new ClientContext({ nameServers: options.namesrv }), work);
}

function print(options: ClusterCommandOptions, json: unknown, headers: string[], rows: Array<Array<string | number>>): void {
  if (options.output === 'json') console.log(JSON.stringify(json, null, 2));
  else console.log(renderTable(headers, rows));
}

async function registrations(context: ClientContext): Promise<RegisteredBroker[]> {
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
    const topics = new Map<string, Array<{ group: string; readQueues: number; writeQueues: number; perm: number }>>();
    for (const group of summarizeGroups(await registrations(context))) {
      for (const topic of group.topics) {
        const list = topics.get(topic.name) ?? [];
        list.push({ group: group.group, readQueues: topic.readQueues, writeQueues: topic.writeQueues, perm: topic.perm });
        topics.set(topic.name, list);
      }
    }
    const json = [...topics.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([topic, groups]) => ({ topic, kind: topicKind(topic), groups }));
    print(options, json, ['TOPIC', 'KIND', 'BROKER GROUPS', 'READ/WRITE QUEUES', 'PERM'],
      json.map((t) => [t.topic, t.kind, t.groups.map((g) => g.group).join(' '), t.groups.map((g) => `${g.readQueues}/${g.writeQueues}`).join(' '), t.groups.map((g) => g.perm).join(' ')]));
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

/** What `raftStatus` shows of one member of a group. */
export interface RaftMemberStatus {
  nodeId: string;
  /** As the node reports itself; `unreachable` when its `/status` did not answer. */
  role: string;
  term: number | null;
  commitIndex: number | null;
  appliedIndex: number | null;
  lastIndex: number | null;
  /** The leader's view: the highest entry known to match on this member (the leader: its last index). */
  matchIndex: number | null;
  /** Entries the member is behind the leader's last index. */
  lag: number | null;
  /** The leader's view: ms since it last heard from the member (0 for the leader itself). */
  lastContactMsAgo: number | null;
  error?: string;
}

interface NodeStatusDocument {
  role: string;
  term: number;
  leader: string | null;
  commitIndex: number;
  appliedIndex: number;
  lastIndex: number;
  raft: { peers?: Array<{ id: string; matchIndex: number; lastContactMsAgo?: number | null }> } | null;
}

async function nodeStatus(httpAddress: string): Promise<NodeStatusDocument> {
  const response = await fetch(`http://${httpAddress}/status`, { signal: AbortSignal.timeout(STATUS_TIMEOUT_MS) });
  if (!response.ok) throw new Error(`/status answered HTTP ${response.status}`);
  return (await response.json()) as NodeStatusDocument;
}

/**
 * Each broker group's Raft state from its members' `/status` (reached through the HTTP addresses
 * they registered): leader, term, commit and applied index of each member, and, from the leader's
 * view, each member's match index, lag and last contact. Exits 1 when a group has no leader.
 */
export function runRaftStatus(options: ClusterCommandOptions): Promise<number> {
  let leaderless: string[] = [];
  return withContext(options, async (context) => {
    const brokers = await registrations(context);
    const groups = summarizeGroups(brokers);
    const json = await Promise.all(groups.map(async (group) => {
      const members = brokers.filter((b) => b.cluster === group.cluster && b.group === group.group);
      const statuses = await Promise.all(members.map(async (m) => {
        try {
          return { nodeId: m.nodeId, status: await nodeStatus(m.httpAddress) };
        } catch (error) {
          return { nodeId: m.nodeId, error: error instanceof Error ? error.message : String(error) };
        }
      }));
      const leader = statuses.find((s) => s.status?.role === 'leader');
      const peers = leader?.status?.raft?.peers ?? [];
      const matchOf = new Map(peers.map((p) => [p.id, p.matchIndex]));
      const contactOf = new Map(peers.map((p) => [p.id, p.lastContactMsAgo ?? null]));
      if (leader) {
        matchOf.set(leader.nodeId, leader.status!.lastIndex);
        contactOf.set(leader.nodeId, 0);
      }
      const leaderLast = leader?.status?.lastIndex ?? null;
      const memberRows: RaftMemberStatus[] = statuses.map((s) => {
        const match = matchOf.get(s.nodeId) ?? null;
        return {
          nodeId: s.nodeId,
          role: s.status?.role ?? 'unreachable',
          term: s.status?.term ?? null,
          commitIndex: s.status?.commitIndex ?? null,
          appliedIndex: s.status?.appliedIndex ?? null,
          lastIndex: s.status?.lastIndex ?? null,
          matchIndex: match,
          lag: match !== null && leaderLast !== null ? Math.max(0, leaderLast - match) : null,
          lastContactMsAgo: contactOf.get(s.nodeId) ?? null,
          ...(s.error ? { error: s.error } : {}),
        };
      });
      return { cluster: group.cluster, group: group.group, leaderId: leader?.nodeId ?? null, term: leader?.status?.term ?? null, commitIndex: leader?.status?.commitIndex ?? null, members: memberRows };
    }));
    leaderless = json.filter((g) => g.leaderId === null).map((g) => g.group);
    const dash = (value: number | null): string | number => (value === null ? '-' : value);
    print(options, json, ['GROUP', 'NODE', 'ROLE', 'TERM', 'COMMIT INDEX', 'APPLIED INDEX', 'MATCH INDEX', 'LAG', 'LAST CONTACT MS'],
      json.flatMap((g) => g.members.map((m) => [g.group, m.nodeId, m.role, dash(m.term), dash(m.commitIndex), dash(m.appliedIndex), dash(m.matchIndex), dash(m.lag), dash(m.lastContactMsAgo)])));
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
