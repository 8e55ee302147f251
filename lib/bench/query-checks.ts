/**
 * Timed, checked queries of `ledgermq bench query`: each case is one QueryMessages call (the RPC of
 * `admin queryMsgByKey / queryMsgById`, through {@link BrokerGateway.queryMessagesAt}) to one named
 * node, timed from the call to its answer, and its answer is checked against what the producer
 * was told: exactly the expected messages (every hit's body, keys, id, queue and offset), oldest
 * first, answered by the node asked.
 */
import { performance } from 'node:perf_hooks';
import type { BrokerGateway } from '../client/broker-gateway.js';
import type { QueryMessagesRequest } from '../gen/internal/ledgermq/v1/QueryMessagesRequest.js';
import type { QueriedMessage__Output } from '../gen/internal/ledgermq/v1/QueriedMessage.js';
import type { KeyedMessages } from './keyed-messages.js';
import { rpcTime } from './node-metrics.js';
import { latencySummary } from './statistics.js';
import type { LatencySummary } from './statistics.js';

/** What a case asks: a unique key, a hot (shared) key, a message id, or a key nobody sent. */
export type QueryKind = 'key' | 'hot key' | 'id' | 'absent key';

/** Hits asked for per query (the broker's maximum). */
export const QUERY_MAX_MESSAGES = 64;
const QUERY_TIMEOUT_MS = 5_000;
/** Problems kept per row, for the report. */
const PROBLEMS_KEPT = 5;

/** One query and the message numbers its answer must (and may) hold. */
export interface QueryCase {
  kind: QueryKind;
  request: QueryMessagesRequest;
  /** Messages that must be found (acknowledged ones). */
  must: readonly number[];
  /** Messages that may be found too (sent in a batch whose outcome is unknown). */
  may: readonly number[];
}

/** A node to ask, by its node id and broker (gRPC) address. */
export interface QueryTarget {
  nodeId: string;
  address: string;
  /** Its HTTP address (`/metrics`). */
  http: string;
  /** How the report names it: leader, follower, follower after restart. */
  role: string;
}

/** The figures of one kind of query on one node. */
export interface QueryRow extends LatencySummary {
  kind: QueryKind;
  nodeId: string;
  role: string;
  /** Hits answered, over all queries of the row. */
  hits: number;
  /** Queries whose answer was wrong (or failed). */
  wrong: number;
  /** Extra copies of one message (a retried send stored twice): allowed, counted. */
  copies: number;
  /** Mean time the node itself spent per query (its `rocketmq_rpc_latency_seconds`), or null when not read. */
  serverMeanMs: number | null;
  /** The first few problems, for the report. */
  problems: string[];
}

/** The case for message `i`'s unique key. */
export function keyCase(messages: KeyedMessages, i: number): QueryCase {
  return { kind: 'key', request: keyRequest(messages, messages.uniqueKey(i)), must: [i], may: [] };
}

/** The case for message `i`'s id (precondition: acknowledged). */
export function idCase(messages: KeyedMessages, i: number): QueryCase {
  return { kind: 'id', request: { topic: messages.plan.topic, key: '', messageId: messages.messageId(i), beginMs: 0, endMs: 0, maxMessages: QUERY_MAX_MESSAGES }, must: [i], may: [] };
}

/** The case for hot key `j` over messages below `end`. */
export function hotCase(messages: KeyedMessages, j: number, end: number): QueryCase {
  const members = messages.hotMembers(j, end);
  if (members.length > QUERY_MAX_MESSAGES) throw new RangeError(`hot-${j} has ${members.length} messages, more than one query answers (${QUERY_MAX_MESSAGES})`);
  return {
    kind: 'hot key', request: keyRequest(messages, `hot-${j}`),
    must: members.filter((i) => messages.state(i) === 'acked'), may: members.filter((i) => messages.state(i) === 'unknown'),
  };
}

/** A case for a key no message carries (`k<i>` for a message never sent): the answer must be empty. */
export function absentCase(messages: KeyedMessages, i: number): QueryCase {
  return { kind: 'absent key', request: keyRequest(messages, messages.uniqueKey(i)), must: [], may: [] };
}

function keyRequest(messages: KeyedMessages, key: string): QueryMessagesRequest {
  return { topic: messages.plan.topic, key, messageId: '', beginMs: 0, endMs: 0, maxMessages: QUERY_MAX_MESSAGES };
}

/** The outcome of one case on one node. */
export interface CaseResult {
  ms: number;
  hits: number;
  copies: number;
  /** Empty when the answer is right. */
  problems: string[];
}

/** Runs `queryCase` on `target`, timed, and checks the answer; a failed call is a problem, not a throw. */
export async function runCase(gateway: BrokerGateway, messages: KeyedMessages, target: QueryTarget, queryCase: QueryCase): Promise<CaseResult> {
  const started = performance.now();
  try {
    const response = await gateway.queryMessagesAt(target.address, queryCase.request, QUERY_TIMEOUT_MS);
    const ms = performance.now() - started;
    const checked = checkAnswer(messages, queryCase, response.messages);
    if (response.nodeId !== target.nodeId) checked.problems.push(`answered by ${response.nodeId}, not ${target.nodeId}`);
    return { ms, hits: response.messages.length, ...checked };
  } catch (error) {
    return { ms: performance.now() - started, hits: 0, copies: 0, problems: [`query failed: ${error instanceof Error ? error.message : String(error)}`] };
  }
}

/** The problems of an answer to `queryCase` (empty when right), and its extra copies. */
export function checkAnswer(messages: KeyedMessages, queryCase: QueryCase, hits: readonly QueriedMessage__Output[]): { copies: number; problems: string[] } {
  const { request } = queryCase;
  const what = request.key !== '' ? `key ${request.key}` : `id ${request.messageId}`;
  const problems: string[] = [];
  const allowed = new Set([...queryCase.must, ...queryCase.may]);
  const found = new Set<number>();
  const atAcknowledged = new Set<number>();
  let copies = 0;
  let lastStoredMs = -Infinity;
  for (const hit of hits) {
    const data = hit.message;
    const i = data ? messages.numberOfBody(data.body) : null;
    if (!data || i === null) {
      problems.push(`${what}: a hit whose body is not one of ours`);
      continue;
    }
    if (!allowed.has(i)) problems.push(`${what}: unexpected message m${i}`);
    if (!data.body.equals(messages.body(i))) problems.push(`${what}: body of m${i} differs`);
    if (data.topic !== messages.plan.topic) problems.push(`${what}: m${i} in topic ${data.topic}`);
    const keys = [messages.uniqueKey(i), messages.hotKey(i)].filter((k): k is string => k !== null);
    if (data.keys.length !== keys.length || keys.some((k) => !data.keys.includes(k))) problems.push(`${what}: m${i} has keys [${data.keys.join(' ')}], sent [${keys.join(' ')}]`);
    if (messages.state(i) === 'acked') {
      const placement = messages.placement(i);
      if (data.messageId !== messages.messageId(i)) problems.push(`${what}: m${i} has id ${data.messageId}, acknowledged ${messages.messageId(i)}`);
      // With two copies (a retried send), the acknowledged one is either.
      if (hit.queueId === placement.queueId && Number(hit.queueOffset) === placement.queueOffset) atAcknowledged.add(i);
    }
    if (request.key !== '') {
      const storedMs = Number(hit.storeTimestampMs);
      if (storedMs < lastStoredMs) problems.push(`${what}: hits not oldest first`);
      lastStoredMs = storedMs;
    }
    if (found.has(i)) copies += 1;
    found.add(i);
  }
  for (const i of found) {
    if (messages.state(i) === 'acked' && !atAcknowledged.has(i)) {
      const placement = messages.placement(i);
      problems.push(`${what}: m${i} not at its acknowledged queue ${placement.queueId} offset ${placement.queueOffset}`);
    }
  }
  const missing = queryCase.must.filter((i) => !found.has(i));
  if (missing.length > 0) problems.push(`${what}: ${missing.length} of ${queryCase.must.length} expected messages missing (m${missing.slice(0, 3).join(', m')}${missing.length > 3 ? ', ...' : ''})`);
  return { copies, problems };
}

/** A row being filled. */
interface RowState {
  kind: QueryKind;
  target: QueryTarget;
  latencies: number[];
  hits: number;
  wrong: number;
  copies: number;
  problems: string[];
  serverMeanMs: number | null;
}

/** Accumulates case results into one {@link QueryRow} per kind and node. */
export class QueryRows {
  private readonly rows = new Map<string, RowState>();

  private row(kind: QueryKind, target: QueryTarget): RowState {
    const key = `${kind}\u0000${target.role}\u0000${target.nodeId}`;
    let row = this.rows.get(key);
    if (!row) {
      row = { kind, target, latencies: [], hits: 0, wrong: 0, copies: 0, problems: [], serverMeanMs: null };
      this.rows.set(key, row);
    }
    return row;
  }

  /** Adds one timed result to the row of `kind` on `target` (created on first use). */
  add(kind: QueryKind, target: QueryTarget, result: CaseResult): void {
    const row = this.row(kind, target);
    row.latencies.push(result.ms);
    row.hits += result.hits;
    row.copies += result.copies;
    if (result.problems.length > 0) {
      row.wrong += 1;
      for (const problem of result.problems) if (row.problems.length < PROBLEMS_KEPT) row.problems.push(problem);
    }
  }

  /** Records the node's own mean time per query of the row. */
  setServerMean(kind: QueryKind, target: QueryTarget, ms: number): void {
    this.row(kind, target).serverMeanMs = ms;
  }

  /** The rows in the order they were first added. */
  summaries(): QueryRow[] {
    return [...this.rows.values()].map((row) => ({
      kind: row.kind, nodeId: row.target.nodeId, role: row.target.role, ...latencySummary(row.latencies),
      hits: row.hits, wrong: row.wrong, copies: row.copies, serverMeanMs: row.serverMeanMs, problems: row.problems,
    }));
  }
}

/**
 * Runs `cases` (all of one kind) on every target in turn, one query at a time (so each is timed
 * alone), alternating which target goes first; adds every result to `rows`, with each node's own
 * mean time per query (from its `/metrics` before and after).
 */
export async function runTimedCases(gateway: BrokerGateway, messages: KeyedMessages, targets: readonly QueryTarget[], cases: readonly QueryCase[], rows: QueryRows): Promise<void> {
  if (cases.length === 0) return;
  const before = await Promise.all(targets.map((target) => rpcTime(target.http, 'QueryMessages')));
  for (let c = 0; c < cases.length; c++) {
    for (let t = 0; t < targets.length; t++) {
      const target = targets[(t + c) % targets.length];
      rows.add(cases[c].kind, target, await runCase(gateway, messages, target, cases[c]));
    }
  }
  const after = await Promise.all(targets.map((target) => rpcTime(target.http, 'QueryMessages')));
  targets.forEach((target, t) => {
    const calls = after[t].calls - before[t].calls;
    // Every case of one call sits under one kind (the lists are built per kind).
    if (calls > 0) rows.setServerMean(cases[0].kind, target, ((after[t].seconds - before[t].seconds) * 1000) / calls);
  });
}

/** Runs `cases` on `target` with `inFlight` queries at once (a correctness sweep, not a timing); resolves to the results in case order. */
export async function runCasesConcurrently(gateway: BrokerGateway, messages: KeyedMessages, target: QueryTarget, cases: readonly QueryCase[], inFlight: number): Promise<CaseResult[]> {
  const results: CaseResult[] = new Array<CaseResult>(cases.length);
  let next = 0;
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next < cases.length) {
      const c = next++;
      results[c] = await runCase(gateway, messages, target, cases[c]);
    }
  }));
  return results;
}
