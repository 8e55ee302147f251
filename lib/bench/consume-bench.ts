/**
 * `ledgermq bench consume-compare`: consumer throughput on a fresh local 3-node group. A backlog is
 * produced once with our Producer; then each run consumes all of it three times, each time from the
 * first offset with a new consumer group: (a) our PushConsumer with follower reads, (b) our
 * PushConsumer without, (c) the official client's SimpleConsumer through the Proxy (pop + ack). The
 * order of the phases rotates from run to run so no phase always runs first. Every phase is bounded
 * by its message count and `maxSeconds`.
 */
import { runUpdateTopic } from '../admin/update-topic.js';
import type { LocalCluster } from '../cluster/local-cluster.js';
import { produceBacklog } from './backlog.js';
import { waitForEqualApplied, waitForLeader, withBenchCluster } from './bench-cluster.js';
import { benchEnvironment, describeEnvironment } from './bench-environment.js';
import { consumeReport, phaseLine } from './consume-report.js';
import type { ConsumeBenchFigures, PhaseFigures, PhaseName } from './consume-report.js';
import { pullServed } from './node-metrics.js';
import type { ServedByRole } from './node-metrics.js';
import { consume as officialConsume } from './official-client-load.js';
import { runPushConsumePhase } from './push-consume-phase.js';
import type { ConsumePhaseResult } from './push-consume-phase.js';
import { formatNumber } from '../common/text-table.js';

/** Settings of `ledgermq bench consume-compare` (CLI flags). */
export interface ConsumeBenchOptions {
  count: number;
  sizeBytes: number;
  queues: number;
  runs: number;
  /** Per phase (production has three times this). */
  maxSeconds: number;
  /** Broker `followerReadLagBytes`: reads further behind the log end than this go to a follower. */
  followerReadLagBytes: number;
  basePort: number;
  pullBatchSize: number;
  consumeBatchSize: number;
  /** Receive loops of the official SimpleConsumer. */
  officialLanes: number;
  /** Messages per producer batch, and batches in flight, while producing the backlog. */
  produceBatch: number;
  produceWindow: number;
}

const TOPIC = 'BenchConsume';
/** The official bench consumer subscribes to this tag only. */
const TAG = 'bench';
const PHASES: readonly PhaseName[] = ['push-follower-on', 'push-follower-off', 'official-simple'];
/**
 * The brokers' default consumerExpiryMs. A new leader reports its consumer lists as unsettled for
 * this long, and our PushConsumer takes no queue until they settle: a phase started earlier would
 * time that wait, not consumption.
 */
const CONSUMER_EXPIRY_MS = 5_000;

/** Runs the benchmark and prints it; resolves to the process exit code (1 when a phase fell short). */
export async function runConsumeBench(options: ConsumeBenchOptions): Promise<number> {
  const environment = benchEnvironment();
  console.log(`ledgermq bench consume-compare: 3-node group, ${formatNumber(options.count)} x ${options.sizeBytes} B on ${options.queues} queues, ${options.runs} run(s), followerReadLagBytes ${formatNumber(options.followerReadLagBytes)}, max ${options.maxSeconds} s per phase`);
  console.log(describeEnvironment(environment));
  return withBenchCluster({ basePort: options.basePort, brokerOverrides: { followerReadLagBytes: options.followerReadLagBytes } }, async (cluster) => {
    const leaderId = await waitForLeader(cluster);
    const leaderKnownAt = Date.now();
    const nameServers = cluster.description.namesrv;
    if (await runUpdateTopic({ namesrv: nameServers, topic: TOPIC, readQueues: options.queues, writeQueues: options.queues, perm: 6 }) !== 0) {
      throw new Error(`could not create topic ${TOPIC}`);
    }
    const backlog = await produceBacklog({
      nameServers, topic: TOPIC, count: options.count, sizeBytes: options.sizeBytes, tag: TAG,
      batchMessages: options.produceBatch, window: options.produceWindow, maxSeconds: options.maxSeconds * 3,
    });
    const spread = [...backlog.perQueue.entries()].sort(([a], [b]) => a - b).map(([queue, n]) => `q${queue}=${n}`).join(' ');
    console.log(`backlog: ${formatNumber(backlog.stored)} stored in ${formatNumber(backlog.elapsedS, 1)} s = ${formatNumber(backlog.msgsPerS)} msgs/s (batches of ${options.produceBatch}, ${options.produceWindow} in flight); leader ${leaderId}; ${spread}`);
    await waitForEqualApplied(cluster);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, leaderKnownAt + CONSUMER_EXPIRY_MS + 500 - Date.now())));

    const phases: PhaseFigures[] = [];
    for (let run = 1; run <= options.runs; run++) {
      for (let i = 0; i < PHASES.length; i++) {
        const phase = PHASES[(i + run - 1) % PHASES.length];
        const figures = await runPhase(cluster, options, phase, run);
        phases.push(figures);
        console.log(phaseLine(figures, options.count));
      }
    }
    const figures: ConsumeBenchFigures = { options, environment, leaderId, backlog: { stored: backlog.stored, elapsedS: backlog.elapsedS, msgsPerS: backlog.msgsPerS }, phases };
    const report = consumeReport(figures);
    console.log(report.text);
    console.log(JSON.stringify(report.json));
    return report.failures.length === 0 ? 0 : 1;
  });
}

/** One phase of one run, with the pull counters of every node before and after. */
async function runPhase(cluster: LocalCluster, options: ConsumeBenchOptions, phase: PhaseName, run: number): Promise<PhaseFigures> {
  const group = `bench-${phase}-run${run}`;
  const before = await servedOnEveryNode(cluster);
  let result: ConsumePhaseResult;
  if (phase === 'official-simple') {
    const official = await officialConsume({ accessPoint: cluster.description.accessPoint, topic: TOPIC, group, count: options.count, lanes: options.officialLanes, maxSeconds: options.maxSeconds });
    result = { distinct: official.distinct, deliveries: official.received, elapsedS: official.elapsedS, msgsPerS: official.msgsPerS };
  } else {
    result = await runPushConsumePhase({
      nameServers: cluster.description.namesrv, topic: TOPIC, group, expected: options.count,
      followerReads: phase === 'push-follower-on', pullBatchSize: options.pullBatchSize, consumeBatchSize: options.consumeBatchSize, maxSeconds: options.maxSeconds,
    });
  }
  const after = await servedOnEveryNode(cluster);
  const servedByNode: Record<string, ServedByRole> = {};
  for (const [id, counts] of after) {
    const earlier = before.get(id) ?? { leader: 0, follower: 0 };
    servedByNode[id] = { leader: counts.leader - earlier.leader, follower: counts.follower - earlier.follower };
  }
  return { run, phase, group, ...result, mbPerS: (result.distinct * options.sizeBytes) / 1e6 / result.elapsedS, servedByNode };
}

async function servedOnEveryNode(cluster: LocalCluster): Promise<Map<string, ServedByRole>> {
  const entries = await Promise.all(cluster.nodes.map(async (node) => [node.id, await pullServed(node.http)] as const));
  return new Map(entries);
}
