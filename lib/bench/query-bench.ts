/**
 * `ledgermq bench query`: issue 7's "query by key returns the right messages among 1,000,000
 * stored, in milliseconds, also on a follower", and the message index's "rebuilt after a crash".
 *
 * On a fresh local 3-node group: stores `count` small messages in one topic with our Producer
 * (batches, a bounded window), message `i` with key `k<i>` and every `hotEvery`-th also with a
 * shared `hot-<j>` (lib/bench/keyed-messages.ts). Once every node applied everything, times
 * QueryMessages calls (the RPC of `admin queryMsgByKey / queryMsgById`) one at a time on the leader
 * and on a follower: a seeded sample of unique keys, every hot key, a sample of message ids, and
 * keys nobody sent; every answer is checked (lib/bench/query-checks.ts). Then the crash phase
 * (lib/bench/crash-rebuild.ts) and the same timed sample on the restarted follower. Prints a table
 * (median, p99 and max per kind and node) and one JSON line; exit 1 on any wrong answer or when
 * not every message could be stored.
 */
import { randomInt as randomSeed } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { runUpdateTopic } from '../admin/update-topic.js';
import { ClientContext } from '../client/client-context.js';
import type { LocalCluster } from '../cluster/local-cluster.js';
import { formatNumber, renderTable } from '../common/text-table.js';
import { seededRandom } from '../raft/sim/seeded-random.js';
import { waitForEqualApplied, waitForLeader, withBenchCluster } from './bench-cluster.js';
import { benchEnvironment, describeEnvironment } from './bench-environment.js';
import type { BenchEnvironment } from './bench-environment.js';
import { crashAndRebuild } from './crash-rebuild.js';
import type { CrashRebuildResult } from './crash-rebuild.js';
import { KeyedMessages, storeKeyedMessages } from './keyed-messages.js';
import type { StoreResult } from './keyed-messages.js';
import { QUERY_MAX_MESSAGES, QueryRows, absentCase, hotCase, idCase, keyCase, runCasesConcurrently, runTimedCases } from './query-checks.js';
import type { QueryCase, QueryRow, QueryTarget } from './query-checks.js';

/** Settings of `ledgermq bench query` (CLI flags). */
export interface QueryBenchOptions {
  /** Messages stored before the queries. */
  count: number;
  bodyBytes: number;
  queues: number;
  /** Messages per producer batch, and batches in flight. */
  batchMessages: number;
  window: number;
  /** Unique keys, and message ids, timed per node. */
  samples: number;
  /** Keys nobody sent, timed per node. */
  absentSamples: number;
  /** Every `hotEvery`-th message also carries a hot key, with about `hitsPerHotKey` messages per hot key. */
  hotEvery: number;
  hitsPerHotKey: number;
  /** Messages of the burst before the follower is killed (0 skips the crash phase). */
  burst: number;
  verifyInFlight: number;
  /** Untimed key queries per node before the timed ones (connections, the query path's first runs). */
  warmUpQueries: number;
  /** Seed of the samples (printed; the same seed picks the same messages). */
  seed: number;
  basePort: number;
  /** No new batch is started after this long; what is stored by then is queried, and the run fails. */
  maxStoreSeconds: number;
}

const TOPIC = 'BenchQuery';
const PROGRESS_INTERVAL_MS = 5_000;
const WARM_UP_IN_FLIGHT = 4;

/** A fresh seed for `--seed` when none is given. */
export function newSeed(): number {
  return randomSeed(2 ** 31);
}

/** Runs the benchmark and prints it; resolves to the process exit code. */
export async function runQueryBench(options: QueryBenchOptions): Promise<number> {
  if (options.hitsPerHotKey > QUERY_MAX_MESSAGES) throw new RangeError(`--hits-per-hot-key must be at most ${QUERY_MAX_MESSAGES} (one query's answer)`);
  const environment = benchEnvironment();
  const capacity = options.count + options.burst;
  const hotKeys = Math.max(1, Math.ceil(Math.ceil(capacity / options.hotEvery) / options.hitsPerHotKey));
  console.log(`ledgermq bench query: 3-node group, ${formatNumber(options.count)} x ${options.bodyBytes} B in ${TOPIC} (${options.queues} queues), keys k<i> and ${hotKeys} hot keys on every ${formatNumber(options.hotEvery)}th message; ` +
    `batches of ${options.batchMessages}, ${options.window} in flight; ${options.samples} keys and ids sampled with seed ${options.seed} (SEED: --seed ${options.seed}); burst of ${formatNumber(options.burst)} before kill -9 of a follower`);
  console.log(describeEnvironment(environment));
  const messages = new KeyedMessages({ topic: TOPIC, capacity, bodyBytes: options.bodyBytes, hotEvery: options.hotEvery, hotKeys });
  return withBenchCluster({ basePort: options.basePort }, async (cluster) => {
    const context = new ClientContext({ nameServers: cluster.description.namesrv });
    try {
      await waitForLeader(cluster);
      if (await runUpdateTopic({ namesrv: cluster.description.namesrv, topic: TOPIC, readQueues: options.queues, writeQueues: options.queues, perm: 6 }) !== 0) throw new Error(`could not create topic ${TOPIC}`);
      const store = await storeKeyedMessages(messages, {
        nameServers: cluster.description.namesrv, from: 0, to: options.count, batchMessages: options.batchMessages, window: options.window,
        maxSeconds: options.maxStoreSeconds, progressIntervalMs: PROGRESS_INTERVAL_MS, label: 'store',
      });
      console.log(`stored: ${formatNumber(store.acked)} of ${formatNumber(options.count)} acknowledged in ${formatNumber(store.elapsedS, 1)} s = ${formatNumber(store.msgsPerS)} msgs/s` +
        (store.failed > 0 ? `; ${formatNumber(store.failed)} in failed batches (${store.lastError})` : '') + (store.timedOut ? `; STOPPED after ${options.maxStoreSeconds} s` : ''));
      const caughtUpAt = performance.now();
      await waitForEqualApplied(cluster, 600_000);
      const catchUpS = (performance.now() - caughtUpAt) / 1000;
      const { leader, follower } = await roles(cluster);
      console.log(`every node applied everything ${formatNumber(catchUpS, 1)} s after the last acknowledgement; leader ${leader.nodeId}, queried follower ${follower.nodeId}`);

      const random = seededRandom(options.seed);
      const end = store.issuedTo;
      const keySample = sampleAcked(messages, end, options.samples, random);
      const idSample = sampleAcked(messages, end, options.samples, random);
      const hotCases = Array.from({ length: hotKeys }, (_, j) => hotCase(messages, j, end)).filter((c) => c.must.length + c.may.length > 0);
      const absentCases = Array.from({ length: options.absentSamples }, () => absentCase(messages, capacity + Math.floor(random() * capacity)));
      const rows = new QueryRows();
      const gateway = context.gateway;
      await warmUp(context, messages, [leader, follower], sampleAcked(messages, end, options.warmUpQueries, random));
      const sampleCases: QueryCase[][] = [keySample.map((i) => keyCase(messages, i)), hotCases, idSample.map((i) => idCase(messages, i)), absentCases];
      for (const cases of sampleCases) await runTimedCases(gateway, messages, [leader, follower], cases, rows);
      console.log(`queried ${formatNumber(sampleCases.reduce((n, c) => n + c.length, 0))} cases on ${leader.nodeId} and ${follower.nodeId}`);

      let crash: CrashRebuildResult | null = null;
      if (options.burst > 0) {
        const followerNode = cluster.nodes.find((n) => n.id === follower.nodeId)!;
        crash = await crashAndRebuild(cluster, gateway, messages, leader.nodeId, followerNode, {
          nameServers: cluster.description.namesrv, from: options.count, burst: options.burst, batchMessages: options.batchMessages, window: options.window,
          maxSeconds: options.maxStoreSeconds, progressIntervalMs: PROGRESS_INTERVAL_MS, verifyInFlight: options.verifyInFlight, catchUpTimeoutMs: 300_000,
        });
        // The same samples on the restarted node (already warmed by the burst check), hot keys with the burst's members.
        const restarted: QueryTarget = { ...follower, role: 'follower after kill -9' };
        const after = crash.store.issuedTo;
        const hotAfter = Array.from({ length: hotKeys }, (_, j) => hotCase(messages, j, after)).filter((c) => c.must.length + c.may.length > 0);
        for (const cases of [keySample.map((i) => keyCase(messages, i)), hotAfter, idSample.map((i) => idCase(messages, i))]) {
          await runTimedCases(gateway, messages, [restarted], cases, rows);
        }
      }
      return report(options, environment, store, catchUpS, leader, rows.summaries(), crash);
    } finally {
      context.close();
    }
  });
}

/**
 * Untimed key queries for `numbers` on each target, a few in flight: the nodes' query path runs
 * optimized (JIT) before it is timed. Their answers are not reported (the timed ones are checked).
 */
async function warmUp(context: ClientContext, messages: KeyedMessages, targets: readonly QueryTarget[], numbers: readonly number[]): Promise<void> {
  for (const target of targets) await runCasesConcurrently(context.gateway, messages, target, numbers.map((i) => keyCase(messages, i)), WARM_UP_IN_FLIGHT);
}

/** The group's leader and one follower (the first other node), as query targets. */
async function roles(cluster: LocalCluster): Promise<{ leader: QueryTarget; follower: QueryTarget }> {
  const leaderId = await waitForLeader(cluster);
  const leaderNode = cluster.nodes.find((n) => n.id === leaderId);
  const followerNode = cluster.nodes.find((n) => n.id !== leaderId);
  if (!leaderNode || !followerNode) throw new Error(`the group has no leader and follower to query (leader ${leaderId})`);
  return {
    leader: { nodeId: leaderNode.id, address: leaderNode.broker, http: leaderNode.http, role: 'leader' },
    follower: { nodeId: followerNode.id, address: followerNode.broker, http: followerNode.http, role: 'follower' },
  };
}

/** Up to `size` distinct acknowledged messages below `end`, drawn with `random`. */
function sampleAcked(messages: KeyedMessages, end: number, size: number, random: () => number): number[] {
  const picked = new Set<number>();
  for (let attempt = 0; picked.size < size && attempt < size * 100; attempt++) {
    const i = Math.floor(random() * end);
    if (messages.state(i) === 'acked') picked.add(i);
  }
  if (picked.size === 0 && size > 0) throw new Error('no acknowledged message to query');
  return [...picked];
}

/** Prints the table, the crash phase and the JSON line; returns the exit code. */
function report(options: QueryBenchOptions, environment: BenchEnvironment, store: StoreResult, catchUpS: number, leader: QueryTarget, rows: QueryRow[], crash: CrashRebuildResult | null): number {
  const ms = (value: number): string => formatNumber(value, 2);
  console.log('');
  console.log(renderTable(['QUERY', 'NODE', 'QUERIES', 'HITS', 'P50 MS', 'P99 MS', 'MAX MS', 'NODE MEAN MS', 'WRONG'], rows.map((row) => [
    row.kind, `${row.nodeId} ${row.role}`, row.count, row.hits + (row.copies > 0 ? ` (${row.copies} copies)` : ''), ms(row.p50Ms), ms(row.p99Ms), ms(row.maxMs),
    row.serverMeanMs === null ? '-' : ms(row.serverMeanMs), row.wrong,
  ])));
  console.log('P50/P99/MAX: from the call to the answer at this client (gRPC over loopback included); NODE MEAN: the time the node itself spent per query (its rocketmq_rpc_latency_seconds)');
  const failures: string[] = [];
  for (const row of rows) if (row.wrong > 0) failures.push(`${row.wrong} wrong answers to ${row.kind} on ${row.nodeId} (${row.role}): ${row.problems.join('; ')}`);
  if (store.acked < options.count) failures.push(`only ${store.acked} of ${options.count} messages acknowledged`);
  if (crash) {
    console.log(`crash: ${crash.nodeId} killed after a burst of ${formatNumber(crash.store.acked)}; its index then held ${crash.indexedAtCrash === null ? `? (${crash.indexReadError})` : formatNumber(crash.indexedAtCrash)} of them; ` +
      `after the restart ${formatNumber(crash.checked)} queries (key and id of each), ${crash.wrong} wrong`);
    if (crash.wrong > 0) failures.push(`${crash.wrong} wrong answers on ${crash.nodeId} after its restart: ${crash.problems.join('; ')}`);
    if (crash.store.acked < options.burst) failures.push(`only ${crash.store.acked} of the burst's ${options.burst} messages acknowledged`);
  }
  const round = (value: number): number => Number(value.toFixed(3));
  console.log(JSON.stringify({
    bench: 'query', options, environment, leaderId: leader.nodeId,
    store: { ...store, elapsedS: round(store.elapsedS), msgsPerS: round(store.msgsPerS) }, followersCaughtUpS: round(catchUpS),
    queries: rows.map((row) => ({ ...row, p50Ms: round(row.p50Ms), p99Ms: round(row.p99Ms), maxMs: round(row.maxMs), serverMeanMs: row.serverMeanMs === null ? null : round(row.serverMeanMs) })),
    crash: crash && { ...crash, restartS: round(crash.restartS), catchUpS: round(crash.catchUpS), store: { ...crash.store, elapsedS: round(crash.store.elapsedS), msgsPerS: round(crash.store.msgsPerS) } },
    failures,
  }));
  if (failures.length > 0) {
    console.log(`FAILED:\n- ${failures.join('\n- ')}`);
    return 1;
  }
  console.log(`PASS: every answer right (${formatNumber(store.acked)} stored${crash ? `; all ${formatNumber(crash.store.acked)} burst messages found on ${crash.nodeId} after kill -9 and restart` : ''})`);
  return 0;
}
