/**
 * The cluster fuzz run: a real NameServer/Proxy and 3-node broker group (LocalCluster, 127.0.0.1),
 * random and mutated requests to every method of the v2 MessagingService, the internal
 * BrokerService and NameService, and the Raft service (lib/fuzz), for a bounded time with bounded
 * concurrency (and raw TCP garbage below gRPC to every listener), while a DataChecker writes and reads known messages. Afterwards:
 * - every process it started is still alive (by PID) and healthy;
 * - every request ended with a status within its deadline (a unary call that is not a long poll
 *   and ran into its deadline is replayed once on the quiet cluster; a replay that still gets no
 *   answer is a finding), and no handler failed with gRPC UNKNOWN (a throw, not a status code);
 * - after the requests, damage rounds: a follower's CommitLog and ConsumeQueue files are damaged
 *   while it is down; it recovers or refuses to start, and, made leader, serves every check
 *   message exactly (test/fuzz/damage-rounds.ts);
 * - `ledgermq admin check` reports the group OK (leader, every member answering and caught up);
 * - every acknowledged check message was read back with its exact body, and, with every node
 *   stopped, the committed logs agree byte for byte and every committed record verifies.
 * Counts per service, method and status are kept for the report.
 */
import { readFileSync } from 'node:fs';
import { clusterSecretCredentials } from '../../lib/fuzz/fuzz-channel.js';
import { evaluate, overall } from '../../lib/admin/check-command.js';
import type { CheckLevel } from '../../lib/admin/check-command.js';
import { registrations } from '../../lib/admin/cluster-commands.js';
import { gatherRaftStatus } from '../../lib/admin/raft-status.js';
import { ClientContext } from '../../lib/client/client-context.js';
import type { LocalCluster } from '../../lib/cluster/local-cluster.js';
import { DataChecker } from '../../lib/fuzz/data-checker.js';
import type { DataCheckReport } from '../../lib/fuzz/data-checker.js';
import { FuzzRandom } from '../../lib/fuzz/fuzz-random.js';
import { fireRawConnection, rawConnectionBytes } from '../../lib/fuzz/raw-socket-fuzz.js';
import { FuzzClients, planRequest } from '../../lib/fuzz/request-plan.js';
import type { FuzzTargets, RequestPlan } from '../../lib/fuzz/request-plan.js';
import type { FireOutcome } from '../../lib/fuzz/request-firer.js';
import type { NamePools } from '../../lib/fuzz/request-generator.js';
import { runDamageRounds } from './damage-rounds.js';
import type { DamageRound, QueueBitFlip } from './damage-rounds.js';
import { checkDivergence } from '../../jepsen-like-tests/checker/divergence-checker.js';

/** The defaults of `ledgermq admin check`. */
const CHECK_THRESHOLDS = { lagWarn: 1_000, lagCrit: 100_000, contactWarnMs: 1_000, contactCritMs: 5_000 };

/** Methods that may hold a call open (long polls, streams): running into the deadline is normal. */
const HOLDING_METHODS = new Set([
  'v2.ReceiveMessage', 'v2.PullMessage', 'v2.Telemetry', 'broker.PopMessages', 'broker.PullMessages', 'broker.PullStream', 'broker.WatchTransactionChecks', 'raft.Stream', 'raft.Install',
]);

export interface ClusterFuzzOptions {
  seed: number;
  durationMs: number;
  /** Requests in flight at once. */
  concurrency: number;
  /** Deadline of each request. */
  deadlineMs: number;
  /** Progress lines (a line every few seconds). */
  log: (line: string) => void;
  /** Damage rounds after the requests (test/fuzz/damage-rounds.ts). */
  damageRounds: number;
  /** ConsumeQueue bit flips of the corpus, applied in the first damage round. */
  queueFlips?: readonly QueueBitFlip[];
  /** Requests fired first, each judged at once (the corpus of earlier findings). */
  replays?: readonly RequestPlan[];
}

/** Something the run found wrong, with the request that shows it (the corpus format). */
export interface ClusterFinding {
  kind: 'no-answer' | 'handler-threw' | 'internal-error' | 'process-died' | 'data';
  detail: string;
  plan?: RequestPlan;
}

export interface ClusterFuzzReport {
  seed: number;
  requests: number;
  elapsedMs: number;
  byService: Record<string, number>;
  byMethod: Record<string, number>;
  /** `grpcStatus/appStatus` → count. */
  outcomes: Record<string, number>;
  /** `service.method grpcStatus/appStatus` → count. */
  methodOutcomes: Record<string, number>;
  findings: ClusterFinding[];
  data: DataCheckReport | null;
  damage: DamageRound[];
  divergence: string;
}

const bump = (counts: Record<string, number>, key: string): void => {
  counts[key] = (counts[key] ?? 0) + 1;
};

function targetsOf(cluster: LocalCluster): FuzzTargets {
  return {
    proxy: cluster.description.accessPoint,
    namesrv: cluster.description.namesrv[0],
    brokers: cluster.nodes.map((node) => node.broker),
    raft: cluster.nodes.map((node) => ({ id: node.id, address: node.raft ?? '' })),
    group: cluster.description.groups[0].name,
  };
}

/** Whether an outcome is suspect: no answer in time from a method that should answer, or a throw. */
function suspectOf(plan: RequestPlan, outcome: FireOutcome): ClusterFinding['kind'] | null {
  if (outcome.grpcStatus === 'HANG') return 'no-answer';
  if (outcome.grpcStatus === 'DEADLINE_EXCEEDED' && !HOLDING_METHODS.has(`${plan.service}.${plan.method}`)) return 'no-answer';
  if (outcome.grpcStatus === 'UNKNOWN') return 'handler-threw';
  // An internal error answers input the server should have refused with a precise code, or a bug
  // it caught; gRPC INTERNAL is expected only for bytes that do not parse.
  if (outcome.appStatus === 'INTERNAL_ERROR' || outcome.appStatus === 'INTERNAL_SERVER_ERROR' || outcome.appStatus === 'UNDECODABLE_RESPONSE') return 'internal-error';
  if (outcome.grpcStatus === 'INTERNAL' && plan.mutation !== 'bytes') return 'internal-error';
  return null;
}

/** `ledgermq admin check` (default thresholds) until it says OK or `timeoutMs` passed; its last level. */
async function adminCheckLevel(cluster: LocalCluster, timeoutMs: number): Promise<CheckLevel> {
  const context = new ClientContext({ nameServers: cluster.description.namesrv });
  const deadline = Date.now() + timeoutMs;
  let level: CheckLevel = 'UNKNOWN';
  try {
    while (Date.now() < deadline) {
      level = await gatherRaftStatus(await registrations(context)).then((groups) => overall(evaluate(groups, CHECK_THRESHOLDS)), () => 'UNKNOWN' as const);
      if (level === 'OK') return level;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    return level;
  } finally {
    context.close();
  }
}

/** Whether process `pid` runs. */
function isAlive(pid: number | null): boolean {
  if (pid === null) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs the cluster fuzz against `cluster` (a started 3-node group the caller disposes of; its nodes
 * are stopped at the end, for the log comparison). See the file
 * comment. Never throws for a finding: it reports it.
 */
export async function runClusterFuzz(options: ClusterFuzzOptions, cluster: LocalCluster): Promise<ClusterFuzzReport> {
  // One generator per worker and one for the damage rounds: each draws the same sequence in a
  // replay (SEED=), however the workers interleave.
  const damageRandom = new FuzzRandom(options.seed + 1);
  const report: ClusterFuzzReport = { seed: options.seed, requests: 0, elapsedMs: 0, byService: {}, byMethod: {}, outcomes: {}, methodOutcomes: {}, findings: [], data: null, damage: [], divergence: '' };
  // Raft calls naming a sender are signed with the cluster's secret: the fuzz plays a member.
  const clients = new FuzzClients(clusterSecretCredentials(readFileSync(cluster.description.clusterSecretFile, 'utf8').trim()));
  const suspects: Array<{ plan: RequestPlan; kind: ClusterFinding['kind']; outcome: FireOutcome }> = [];
  try {
    options.log(`fuzz: cluster started (NameServer pid ${cluster.description.namesrvProcess.pid}, nodes ${cluster.nodes.map((n) => `${n.id} pid ${n.pid}`).join(', ')})`);
    const targets = targetsOf(cluster);
    const pools: NamePools = {
      topics: ['FuzzTopic', 'FuzzTopic2', `FuzzNew${options.seed % 1000}`, '%RETRY%FuzzGroup', 'TBW102'],
      groups: ['FuzzGroup', 'FuzzGroup2', 'GID_fuzz'],
      addresses: [...targets.brokers, '127.0.0.1:1', 'not-an-address', ''],
    };
    for (const plan of options.replays ?? []) {
      const outcome = await clients.fire(plan, targets, options.deadlineMs);
      report.requests += 1;
      bump(report.outcomes, `${outcome.grpcStatus}/${outcome.appStatus ?? '-'}`);
      const kind = suspectOf(plan, outcome);
      if (kind !== null) report.findings.push({ kind, detail: `corpus replay ${plan.service}.${plan.method}: ${outcome.grpcStatus}/${outcome.appStatus ?? '-'}`, plan });
    }
    const checker = new DataChecker(cluster.description.namesrv, `FuzzCheck${options.seed % 100_000}`, options.seed);
    await checker.start();
    const rawTargets = [targets.proxy, targets.namesrv, cluster.description.namesrvProcess.http, ...cluster.nodes.flatMap((node) => [node.broker, node.raft ?? node.broker, node.http])];
    const started = Date.now();
    const endAt = started + options.durationMs;
    let lastLog = started;
    const worker = async (workerIndex: number): Promise<void> => {
      const random = new FuzzRandom(options.seed + 7919 * (workerIndex + 1));
      while (Date.now() < endAt) {
        if (random.chance(0.04)) {
          // Below gRPC: raw bytes to any listener of the cluster.
          const address = random.pick(rawTargets);
          const outcome = await fireRawConnection(address, rawConnectionBytes(random), 1_000);
          report.requests += 1;
          bump(report.byService, 'raw-tcp');
          bump(report.outcomes, `raw/${outcome}`);
          continue;
        }
        const plan = planRequest(random, targets, pools);
        const outcome = await clients.fire(plan, targets, options.deadlineMs);
        report.requests += 1;
        bump(report.byService, plan.service);
        bump(report.byMethod, `${plan.service}.${plan.method}`);
        bump(report.outcomes, `${outcome.grpcStatus}/${outcome.appStatus ?? '-'}`);
        bump(report.methodOutcomes, `${plan.service}.${plan.method} ${outcome.grpcStatus}/${outcome.appStatus ?? '-'}`);
        const kind = suspectOf(plan, outcome);
        if (kind !== null) suspects.push({ plan, kind, outcome });
        if (Date.now() - lastLog > 5_000) {
          lastLog = Date.now();
          options.log(`fuzz: ${report.requests} requests, ${Math.round((Date.now() - started) / 1000)} s, ${suspects.length} suspect`);
        }
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, (_, i) => worker(i)));
    report.elapsedMs = Date.now() - started;
    const damaged = await runDamageRounds(cluster, checker, damageRandom, options.damageRounds, options.log, options.queueFlips);
    report.damage = damaged.rounds;
    for (const problem of damaged.findings) report.findings.push({ kind: 'data', detail: problem });
    report.data = await checker.stop();
    for (const i of report.data.missing.slice(0, 10)) report.findings.push({ kind: 'data', detail: `acknowledged check message ${i} never read back` });
    for (const body of report.data.corrupt.slice(0, 10)) report.findings.push({ kind: 'data', detail: `check message read with a wrong body: ${body}` });
    // A suspect is confirmed by a replay on the now quiet cluster (the machine may have been busy).
    const replayed = new Set<string>();
    for (const suspect of suspects) {
      const key = `${suspect.kind} ${suspect.plan.service}.${suspect.plan.method}`;
      if (replayed.has(key)) continue;
      replayed.add(key);
      const again = await clients.fire(suspect.plan, targets, options.deadlineMs);
      const confirmed = suspectOf(suspect.plan, again);
      options.log(`fuzz: suspect ${key} (${suspect.outcome.grpcStatus} after ${suspect.outcome.elapsedMs} ms), replay: ${again.grpcStatus}/${again.appStatus ?? '-'} after ${again.elapsedMs} ms`);
      if (confirmed !== null) report.findings.push({ kind: confirmed, detail: `${key}: ${again.grpcStatus} after ${again.elapsedMs} ms`, plan: suspect.plan });
    }
    for (const node of cluster.nodes) {
      if (!isAlive(node.pid)) report.findings.push({ kind: 'process-died', detail: `${node.id} (pid ${node.pid}) is not running; see ${node.logFile}` });
      else if (!(await fetch(`http://${node.http}/healthz`).then((r) => r.ok, () => false))) report.findings.push({ kind: 'process-died', detail: `${node.id} does not answer /healthz` });
    }
    if (!isAlive(cluster.description.namesrvProcess.pid)) report.findings.push({ kind: 'process-died', detail: 'the NameServer/Proxy is not running' });
    const health = await adminCheckLevel(cluster, 30_000);
    if (health !== 'OK') report.findings.push({ kind: 'process-died', detail: `ledgermq admin check stays ${health} (default thresholds)` });
    const commitIndexes = await Promise.all(cluster.nodes.map((node) => cluster.nodeStatus(node.id).then((s) => (s.raft as { commitIndex: number }).commitIndex, () => null)));
    clients.close();
    for (const node of cluster.nodes) await cluster.stopNode(node.id, 'SIGTERM');
    const divergence = await checkDivergence(cluster.nodes.map((node, i) => ({ id: node.id, commitIndex: commitIndexes[i], dataDir: node.dataDir })));
    report.divergence = divergence.result.summary;
    if (!divergence.result.valid) report.findings.push({ kind: 'data', detail: `committed logs: ${divergence.result.summary}; ${divergence.result.examples.join('; ')}` });
    return report;
  } finally {
    clients.close();
    await cluster.stop();
  }
}
