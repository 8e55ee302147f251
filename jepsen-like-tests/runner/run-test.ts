/**
 * One harness run: start the cluster on its hosts, run a workload while the nemesis injects faults,
 * heal, drain, stop, check, and write the run folder (`history.jsonl`, `summary.json`,
 * `report.html`, node logs). The verdict is in the returned summary.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { seededRandom } from '../../lib/raft/sim/seeded-random.js';
import { checkAvailability, faultWindows, timeline } from '../checker/availability-checker.js';
import { checkDeliveries } from '../checker/delivery-checker.js';
import { checkDivergence } from '../checker/divergence-checker.js';
import type { NodeLogInput } from '../checker/divergence-checker.js';
import { checkOrder } from '../checker/order-checker.js';
import { LedgerMqDb } from '../db/ledgermq-db.js';
import { History } from '../history/history.js';
import type { SendValue } from '../history/operation.js';
import type { HostNetwork } from '../net/host-network.js';
import { createNemesis } from '../nemesis/registry.js';
import type { NemesisContext } from '../nemesis/nemesis.js';
import { renderHtmlReport } from '../report/html-report.js';
import type { CheckerResult, RunSummary } from '../report/run-summary.js';
import { createNetwork } from './create-network.js';
import type { ModeChoice } from './create-network.js';
import { FaultSchedule } from './fault-schedule.js';
import { WORKLOADS } from './workloads.js';
import { INVISIBLE_MS, Workload } from '../workload/workload.js';

export interface RunOptions {
  workload: string;
  nemesis: string;
  seed: number;
  /** Seconds of workload under faults (the drain comes after). */
  timeLimitS: number;
  mode: ModeChoice;
  /** Folder that receives the run folder. */
  storeDir: string;
  nodes: number;
  /** Proxy mode only: first port. */
  basePort: number;
  /** Test only: the broker acknowledges sends before they are committed (must lose messages). */
  unsafeAckBeforeCommit: boolean;
  /** The command line that replays this run. */
  replayCommand: string;
  log: (line: string) => void;
}

const DRAIN_TIMEOUT_MS = 90_000;
const DRAIN_QUIET_MS = 3_000;
const CONVERGE_TIMEOUT_MS = 30_000;

export async function runTest(options: RunOptions): Promise<{ summary: RunSummary; runDir: string }> {
  const startedAt = new Date();
  const name = `${options.workload}-${options.nemesis}`;
  const runDir = resolve(options.storeDir, `${startedAt.toISOString().replace(/[:.]/g, '-')}-${name}-${options.seed}`);
  const workloadSpec = WORKLOADS[options.workload];
  if (!workloadSpec) throw new Error(`unknown workload ${options.workload}; known: ${Object.keys(WORKLOADS).join(', ')}`);
  const nemesis = options.nemesis === 'none' ? null : createNemesis(options.nemesis);
  const unsupportedReason = nemesis?.unsupportedReason?.(options.nodes) ?? null;
  if (unsupportedReason !== null) throw new UnsupportedRunError(unsupportedReason);
  const nodeIds = Array.from({ length: options.nodes }, (_, i) => `n${i}`);
  const network = await createNetwork(options.mode, nodeIds, options.basePort);
  const capabilities = network.capabilities();
  const networkGap = options.nemesis === 'packet-loss' && !capabilities.loss ? 'loss' : options.nemesis === 'packet-delay' && !capabilities.delay ? 'delay' : null;
  if (networkGap !== null) {
    await network.close();
    throw new UnsupportedRunError(capabilities.reasons.find((r) => r.includes(networkGap)) ?? `${networkGap} is not supported in ${network.mode} mode`);
  }
  mkdirSync(runDir, { recursive: true });
  options.log(`${name} seed ${options.seed}: ${network.mode} mode (${network.modeReason}); run folder ${runDir}`);
  const unsupported = network.capabilities().reasons;
  const history = new History();
  const db = new LedgerMqDb({
    network,
    dir: runDir,
    brokerOverrides: { segmentSizeBytes: 4 * 1024 * 1024 },
    nodeEnvironment: (id): Record<string, string> => ({
      ...(nemesis?.environment?.(runDir, id) ?? {}),
      ...(options.unsafeAckBeforeCommit ? { LEDGERMQ_UNSAFE_TEST_ACK_BEFORE_COMMIT: '1' } : {}),
    }),
  });
  const cleanup = onSignalCleanup(db, network);
  let leaderNow: string | null = null;
  let tracking = true;
  const tracker = (async () => {
    while (tracking) {
      leaderNow = await db.leader().catch(() => null);
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  const random = seededRandom(options.seed);
  const context: NemesisContext = { db, runDir, random, leader: () => db.leader(), sampleAcknowledged: () => sampleAcknowledged(history, random) };
  let workload: Workload | null = null;
  let schedule: FaultSchedule | null = null;
  let ending: Convergence;
  try {
    await db.start();
    workload = new Workload({ ...workloadSpec, accessPoint: db.accessPoint, history, currentLeader: () => leaderNow });
    await workload.start();
    if (nemesis) {
      schedule = new FaultSchedule(nemesis, context, history, { quietMs: [3_000, 5_000], faultMs: [4_000, 8_000] });
      schedule.start();
    }
    await new Promise((r) => setTimeout(r, options.timeLimitS * 1000));
    options.log(`${name}: healing and draining`);
    await schedule?.stop();
    await healEverything(db, network, options.log);
    await workload.stopProducing();
    await db.waitRouted(60_000);
    await drain(history, workload, options.log);
    await workload.stop();
    workload = null;
    ending = await converge(db, nodeIds);
  } finally {
    tracking = false;
    await tracker;
    await workload?.stop().catch(() => undefined);
    await db.stop().catch((error: unknown) => options.log(`stopping processes: ${String(error)}`));
    await network.close().catch((error: unknown) => options.log(`removing the network: ${String(error)}`));
    cleanup.dispose();
  }
  const endMs = history.nowMs();
  const divergenceCheck = await checkDivergence(ending.nodes, ending.problem === null ? [] : [ending.problem]);
  const divergence = divergenceCheck.result;
  const deliveries = checkDeliveries(history.all, divergenceCheck.committedBodies);
  const order = checkOrder(history.all);
  const availability = checkAvailability(history.all, endMs);
  const faults = faultWindows(history.all);
  const faultsStarted = faults.filter((window) => !(window.detail ?? '').startsWith('failed')).length;
  const harnessProblems = [
    ...(schedule?.errors ?? []),
    ...(nemesis !== null && faultsStarted === 0 ? ['no fault was injected'] : []),
    ...(history.all.some((op) => op.kind === 'send' && op.type === 'ok') ? [] : ['no send was acknowledged']),
    ...(ending.problem === null ? [] : [ending.problem]),
  ];
  const harness: CheckerResult = {
    name: 'harness',
    valid: harnessProblems.length === 0,
    count: harnessProblems.length,
    summary: harnessProblems.length === 0 ? `${faultsStarted} faults injected and healed; the nodes converged` : `the run did not do what it claims: ${harnessProblems.length} problems`,
    examples: harnessProblems.slice(0, 20),
    figures: { faultsStarted, scheduleErrors: schedule?.errors.length ?? 0 },
  };
  const crashes: CheckerResult = {
    name: 'crashes',
    valid: db.unexpectedExits.length === 0,
    count: db.unexpectedExits.length,
    summary: `${db.unexpectedExits.length} processes exited without being asked`,
    examples: db.unexpectedExits.map((e) => `${e.id} pid ${e.pid} exit ${e.code ?? e.signal} at ${e.atIso}`),
    figures: {},
  };
  const checkers = [deliveries.lost, deliveries.unexpected, deliveries.duplicated, order, divergence, crashes, harness, availability.result];
  const sends = history.all.filter((op) => op.kind === 'send');
  const summary: RunSummary = {
    name,
    workload: options.workload,
    nemesis: options.nemesis,
    seed: options.seed,
    mode: network.mode,
    modeReason: network.modeReason,
    unsupported,
    replayCommand: options.replayCommand,
    startedAtIso: startedAt.toISOString(),
    durationMs: Math.round(endMs),
    valid: checkers.every((c) => c.valid),
    counts: {
      sendInvoked: sends.filter((op) => op.type === 'invoke').length,
      sendOk: sends.filter((op) => op.type === 'ok').length,
      sendFail: sends.filter((op) => op.type === 'fail').length,
      sendInfo: sends.filter((op) => op.type === 'info').length,
      received: deliveries.deliveries,
      receivedDistinct: deliveries.deliveredDistinct,
    },
    checkers,
    faults,
    unavailability: availability.windows,
    timeline: { bucketMs: 1000, buckets: timeline(history.all, endMs, 1000) },
  };
  history.save(join(runDir, 'history.jsonl'));
  writeFileSync(join(runDir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  writeFileSync(join(runDir, 'report.html'), renderHtmlReport(summary));
  return { summary, runDir };
}

/** Thrown before anything starts when the machine or the group size cannot run this nemesis. */
export class UnsupportedRunError extends Error {}

/** A random acknowledged message id so far (from the seeded generator), or null. */
function sampleAcknowledged(history: History, random: () => number): string | null {
  const acknowledged = history.all.filter((op) => op.kind === 'send' && op.type === 'ok');
  if (acknowledged.length === 0) return null;
  return (acknowledged[Math.floor(random() * acknowledged.length)].value as SendValue).id;
}

/**
 * Waits until every acknowledged message was delivered, no queue has a gap, and deliveries were
 * quiet for a while; a message whose pop answer was lost comes back only after its invisible time,
 * so with gaps left the drain waits that long after the last delivery before giving up.
 */
async function drain(history: History, workload: Workload, log: (line: string) => void): Promise<void> {
  const deadline = history.nowMs() + DRAIN_TIMEOUT_MS;
  for (;;) {
    const missing = Number(checkDeliveries(history.all).lost.figures.neverDelivered);
    const gaps = Number(checkOrder(history.all).figures.gap);
    const quietMs = history.nowMs() - workload.lastDeliveryMs;
    if (missing === 0 && gaps === 0 && quietMs >= DRAIN_QUIET_MS) return;
    if (quietMs >= INVISIBLE_MS + DRAIN_QUIET_MS) {
      log(`drain ended after ${Math.round(quietMs)} ms without deliveries: ${missing} acknowledged messages not delivered, ${gaps} queue gaps`);
      return;
    }
    if (history.nowMs() > deadline) {
      log(`drain timed out with ${missing} acknowledged messages not delivered, ${gaps} queue gaps`);
      return;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Undoes every fault that may be left (a failed heal, a stop that threw): safe to repeat. */
async function healEverything(db: LedgerMqDb, network: HostNetwork, log: (line: string) => void): Promise<void> {
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      for (const id of db.nodeIds) db.resume(id);
      await network.setCuts([]);
      await network.setLoss(0);
      if (network.capabilities().delay) await network.setDelay(0, 0);
      for (const id of db.nodeIds) if (!db.isRunning(id)) await db.startNode(id);
      return;
    } catch (error) {
      log(`heal attempt ${attempt} failed: ${(error as Error).message}`);
    }
  }
  throw new Error('could not heal the cluster after 3 attempts');
}

/** How the run ended: each node's last commit index (null if it did not answer), and why it did not converge. */
interface Convergence {
  nodes: NodeLogInput[];
  problem: string | null;
}

/** Waits until every node reports the same commit and last index (or the timeout passes). */
async function converge(db: LedgerMqDb, nodeIds: string[]): Promise<Convergence> {
  const deadline = Date.now() + CONVERGE_TIMEOUT_MS;
  for (;;) {
    const statuses = await Promise.all(nodeIds.map((id) => db.status(id, 1_000)));
    const nodes = nodeIds.map((id, i) => ({ id, commitIndex: statuses[i]?.commitIndex ?? null, dataDir: db.dataDir(id) }));
    const agreed = statuses.every((s) => s !== null && s.commitIndex === statuses[0]?.commitIndex && s.lastIndex === statuses[0]?.lastIndex);
    if (agreed) return { nodes, problem: null };
    if (Date.now() > deadline) {
      const seen = statuses.map((s, i) => (s === null ? `${nodeIds[i]}: no answer` : `${s.node}: commit ${s.commitIndex}, last ${s.lastIndex}`)).join('; ');
      return { nodes, problem: `nodes did not converge within ${CONVERGE_TIMEOUT_MS} ms (${seen})` };
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** On SIGINT/SIGTERM of the harness: stop the processes it started and remove the network, then exit. */
function onSignalCleanup(db: LedgerMqDb, network: HostNetwork): { dispose: () => void } {
  const handler = (): void => {
    void db
      .stop()
      .then(() => network.close())
      .finally(() => process.exit(130));
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
  return {
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
