/**
 * `ledgermq bench delay`: issue 7's "100,000 delayed messages spread over 10 minutes are delivered
 * on time (lateness p50/p99/max) with the broker's CPU roughly flat while they wait".
 *
 * On a fresh local 3-node group: measures the brokers' idle CPU with nothing stored, then sends
 * `count` messages to a DELAY topic with our Producer (batches, a bounded window), their delivery
 * times spread evenly over `spreadSeconds`, the first `leadSeconds` after the sending starts. Our
 * PushConsumer notes when each arrives. Lateness = arrival − delivery time (each body carries its
 * delivery time); a message that arrives before its time counts as early. Every broker's CPU is
 * sampled in windows of `cpuWindowSeconds` throughout (from /proc, by PID). Prints the lateness
 * summary, CPU per window and phase (idle, sending, waiting, delivering), and one JSON line.
 * Exit 1 when a message is missing or early.
 */
import { runUpdateTopic } from '../admin/update-topic.js';
import { Producer } from '../client/producer.js';
import { PushConsumer } from '../client/push-consumer.js';
import type { LocalCluster } from '../cluster/local-cluster.js';
import { formatNumber, renderTable } from '../common/text-table.js';
import { waitForLeader, withBenchCluster } from './bench-cluster.js';
import { benchEnvironment, describeEnvironment } from './bench-environment.js';
import { measureCpu } from './process-cpu.js';
import { latencySummary } from './statistics.js';

/** Settings of `ledgermq bench delay` (CLI flags). */
export interface DelayBenchOptions {
  count: number;
  spreadSeconds: number;
  leadSeconds: number;
  bodyBytes: number;
  batchMessages: number;
  window: number;
  cpuWindowSeconds: number;
  /** Idle CPU measured before anything is sent. */
  idleSeconds: number;
  basePort: number;
}

const TOPIC = 'BenchDelay';
const GROUP = 'bench-delay';
/** How long after the last delivery time missing messages are waited for. */
const GRACE_MS = 60_000;

type Phase = 'idle' | 'sending' | 'waiting' | 'delivering' | 'after';

interface CpuSample {
  phase: Phase;
  atSeconds: number;
  percentByNode: number[];
}

/** Runs the benchmark; see the file comment. Returns the exit code. */
export async function runDelayBench(options: DelayBenchOptions): Promise<number> {
  console.log(describeEnvironment(benchEnvironment()));
  return withBenchCluster({ basePort: options.basePort, brokerOverrides: { defaultQueueCount: 8 } }, (cluster) => measure(cluster, options));
}

async function measure(cluster: LocalCluster, options: DelayBenchOptions): Promise<number> {
  const namesrv = cluster.description.namesrv;
  const leader = await waitForLeader(cluster);
  await runUpdateTopic({ namesrv, topic: TOPIC, readQueues: 8, writeQueues: 8, perm: 6, messageTypes: [3] });
  const pids = cluster.nodes.map((n) => n.pid ?? 0);
  const nodeIds = cluster.nodes.map((n) => n.id);
  const t0 = Date.now();
  let phase: Phase = 'idle';
  const samples: CpuSample[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const windows = await measureCpu(pids, options.cpuWindowSeconds * 1000);
      samples.push({ phase, atSeconds: Math.round((Date.now() - t0) / 1000), percentByNode: windows.map((w) => w.percentOfCore) });
    }
  })();
  await sleep(options.idleSeconds * 1000);

  const arrivals = new Map<number, { atMs: number; dueMs: number; copies: number }>();
  let early = 0;
  const consumer = new PushConsumer({
    nameServers: namesrv, group: GROUP, consumeFrom: 'FIRST_OFFSET',
    listener: (messages) => {
      const now = Date.now();
      for (const message of messages) {
        const [id, due] = message.body.toString().split(':').map(Number);
        const seen = arrivals.get(id);
        if (seen) seen.copies += 1;
        else {
          arrivals.set(id, { atMs: now, dueMs: due, copies: 1 });
          if (now < due) early += 1;
        }
      }
      return 'SUCCESS';
    },
  }).subscribe(TOPIC);
  await consumer.start();

  phase = 'sending';
  const sendStart = Date.now();
  const firstDue = sendStart + options.leadSeconds * 1000;
  const dueOf = (i: number): number => firstDue + Math.floor((i * options.spreadSeconds * 1000) / options.count);
  const producer = new Producer({ nameServers: namesrv });
  let next = 0;
  let failed = 0;
  await Promise.all(Array.from({ length: options.window }, async () => {
    while (next < options.count) {
      const from = next;
      next = Math.min(options.count, next + options.batchMessages);
      const batch = [];
      for (let i = from; i < next; i++) {
        const due = dueOf(i);
        batch.push({ topic: TOPIC, body: `${i}:${due}:`.padEnd(options.bodyBytes, '.'), deliveryTimestampMs: due });
      }
      await producer.sendBatch(batch).catch(() => {
        failed += batch.length;
      });
    }
  }));
  const sendSeconds = (Date.now() - sendStart) / 1000;
  producer.shutdown();
  console.log(`sent ${options.count - failed} delayed messages in ${sendSeconds.toFixed(1)} s (${failed} failed); first due ${((firstDue - Date.now()) / 1000).toFixed(1)} s from now`);

  phase = 'waiting';
  await sleep(Math.max(0, firstDue - Date.now()));
  phase = 'delivering';
  const lastDue = dueOf(options.count - 1);
  while (Date.now() < lastDue + GRACE_MS && arrivals.size < options.count - failed) {
    await sleep(1_000);
    if (Date.now() > lastDue) phase = 'after';
  }
  phase = 'after';
  sampling = false;
  await sampler;
  await consumer.shutdown();
  return report(options, { arrivals, early, failed, sendSeconds, samples, nodeIds, leader });
}

interface Outcome {
  arrivals: Map<number, { atMs: number; dueMs: number; copies: number }>;
  early: number;
  failed: number;
  sendSeconds: number;
  samples: CpuSample[];
  nodeIds: string[];
  leader: string;
}

function report(options: DelayBenchOptions, outcome: Outcome): number {
  const { arrivals, samples, nodeIds } = outcome;
  const lateness = [...arrivals.values()].map((a) => a.atMs - a.dueMs);
  const summary = latencySummary(lateness);
  const duplicates = [...arrivals.values()].reduce((sum, a) => sum + a.copies - 1, 0);
  const missing = options.count - outcome.failed - arrivals.size;
  const leaderColumn = nodeIds.indexOf(outcome.leader);
  console.log(renderTable(['WINDOW END S', 'PHASE', ...nodeIds.map((id) => (id === outcome.leader ? `${id} (leader) CPU %` : `${id} CPU %`))],
    samples.map((s) => [s.atSeconds, s.phase, ...s.percentByNode.map((p) => p.toFixed(1))])));
  const meanOf = (phase: Phase): number | null => {
    const values = samples.filter((s) => s.phase === phase).map((s) => s.percentByNode[leaderColumn]);
    return values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;
  };
  const leaderCpu = { idle: meanOf('idle'), waiting: meanOf('waiting'), delivering: meanOf('delivering') };
  console.log(renderTable(['MESSAGES', 'DELIVERED', 'MISSING', 'EARLY', 'DUPLICATES', 'LATENESS P50 MS', 'P99 MS', 'MAX MS', 'LEADER CPU % IDLE / WAITING / DELIVERING'], [[
    formatNumber(options.count), formatNumber(arrivals.size), missing, outcome.early, duplicates,
    summary.p50Ms.toFixed(0), summary.p99Ms.toFixed(0), summary.maxMs.toFixed(0),
    [leaderCpu.idle, leaderCpu.waiting, leaderCpu.delivering].map((v) => (v === null ? '-' : v.toFixed(1))).join(' / '),
  ]]));
  console.log(JSON.stringify({
    bench: 'delay', count: options.count, spreadSeconds: options.spreadSeconds, leadSeconds: options.leadSeconds, sendSeconds: outcome.sendSeconds,
    delivered: arrivals.size, missing, early: outcome.early, duplicates, failedSends: outcome.failed, latenessMs: summary, leaderCpuPercent: leaderCpu,
    cpuWindows: samples,
  }));
  return missing > 0 || outcome.early > 0 || outcome.failed > 0 ? 1 : 0;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
