/**
 * `make bench`: LedgerMQ on a fresh 3-node group (fsync on a majority before every ack) driven by
 * the official client through the Proxy, then NATS JetStream R3 (../shared/bench/nats, its
 * default lazy fsync) with the same parameters, back to back; prints each run, the medians and
 * the ratios. Environment: BENCH_COUNT (20000), BENCH_LAT_COUNT (2000), BENCH_RUNS (3),
 * BENCH_SIZE (1024), BENCH_WINDOW (256), BENCH_MAX_SECONDS (60), BENCH_SKIP_NATS=1.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withBenchCluster } from './bench-cluster.js';
import { consume, publish } from './official-client-load.js';
import { median } from './statistics.js';
import { formatNumber as fmt } from '../common/text-table.js';

const env = process.env;
const COUNT = Number(env.BENCH_COUNT ?? 20_000);
const LAT_COUNT = Number(env.BENCH_LAT_COUNT ?? 2_000);
const RUNS = Number(env.BENCH_RUNS ?? 3);
const SIZE = Number(env.BENCH_SIZE ?? 1024);
const WINDOW = Number(env.BENCH_WINDOW ?? 256);
const MAX_SECONDS = Number(env.BENCH_MAX_SECONDS ?? 60);
const NATS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../shared/bench/nats');

interface RunFigures {
  publishMsgsPerS: number;
  consumeMsgsPerS: number;
}



function withCluster<T>(work: (accessPoint: string) => Promise<T>): Promise<T> {
  return withBenchCluster({ basePort: 23000 }, (cluster) => work(cluster.description.accessPoint));
}

async function ledgermqLatency(): Promise<{ p50: number; p99: number; msgsPerS: number }> {
  return withCluster(async (accessPoint) => {
    const result = await publish({ accessPoint, topic: 'BenchLatency', size: SIZE, count: LAT_COUNT, window: 1, maxSeconds: MAX_SECONDS });
    console.log(`ledgermq W=1: ${result.acked} acked, p50 ${fmt(result.latencyMs.p50, 2)} ms, p99 ${fmt(result.latencyMs.p99, 2)} ms, ${fmt(result.msgsPerS)} msgs/s`);
    return { p50: result.latencyMs.p50, p99: result.latencyMs.p99, msgsPerS: result.msgsPerS };
  });
}

async function ledgermqThroughput(run: number): Promise<RunFigures> {
  return withCluster(async (accessPoint) => {
    const topic = 'BenchThroughput';
    const pub = await publish({ accessPoint, topic, size: SIZE, count: COUNT, window: WINDOW, maxSeconds: MAX_SECONDS });
    const con = await consume({ accessPoint, topic, group: 'bench-group', count: pub.acked, lanes: 8, maxSeconds: MAX_SECONDS });
    console.log(`ledgermq run ${run}: publish W=${WINDOW} ${pub.acked} acked (${pub.failed} failed) in ${fmt(pub.elapsedS, 1)} s = ${fmt(pub.msgsPerS)} msgs/s, ack p50 ${fmt(pub.latencyMs.p50, 1)} ms p99 ${fmt(pub.latencyMs.p99, 1)} ms; consume ${con.received} in ${fmt(con.elapsedS, 1)} s = ${fmt(con.msgsPerS)} msgs/s`);
    return { publishMsgsPerS: pub.msgsPerS, consumeMsgsPerS: con.msgsPerS };
  });
}

interface NatsLine {
  publish: { msgs_per_s: number; ack_latency_ms: { p50: number; p99: number } };
  consume: { msgs_per_s: number };
}

function natsRun(window: number, count: number): NatsLine | null {
  const result = spawnSync(join(NATS_DIR, 'nats-r3.sh'), ['-s', String(SIZE), '-n', String(count), '-w', String(window), '-f', 'default', '-t', String(MAX_SECONDS)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: (MAX_SECONDS * 3 + 120) * 1000 });
  const line = (result.stdout ?? '').split('\n').find((text) => text.startsWith('{'));
  if (result.status !== 0 || !line) {
    console.log(`nats run failed (exit ${result.status ?? result.signal})`);
    return null;
  }
  return JSON.parse(line) as NatsLine;
}

async function main(): Promise<void> {
  console.log(`LedgerMQ bench: 3-node group, fsync on a majority before each ack; ${SIZE} B messages; official client via the Proxy; ${RUNS} throughput runs of ${COUNT} msgs (W=${WINDOW}), one W=1 run of ${LAT_COUNT}`);
  const latency = await ledgermqLatency();
  const runs: RunFigures[] = [];
  for (let run = 1; run <= RUNS; run++) runs.push(await ledgermqThroughput(run));
  const ours = { publish: median(runs.map((r) => r.publishMsgsPerS)), consume: median(runs.map((r) => r.consumeMsgsPerS)) };
  console.log(`ledgermq medians: publish ${fmt(ours.publish)} msgs/s, consume ${fmt(ours.consume)} msgs/s, W=1 p50 ${fmt(latency.p50, 2)} ms p99 ${fmt(latency.p99, 2)} ms`);

  if (env.BENCH_SKIP_NATS === '1' || !existsSync(join(NATS_DIR, 'nats-r3.sh'))) {
    console.log(`NATS comparison skipped (${env.BENCH_SKIP_NATS === '1' ? 'BENCH_SKIP_NATS=1' : `no ${NATS_DIR}`})`);
    return;
  }
  console.log('NATS JetStream R3, default (lazy) fsync, same parameters:');
  const natsLatency = natsRun(1, LAT_COUNT);
  const natsRuns: NatsLine[] = [];
  for (let run = 1; run <= RUNS; run++) {
    const line = natsRun(WINDOW, COUNT);
    if (line) {
      natsRuns.push(line);
      console.log(`nats run ${run}: publish ${fmt(line.publish.msgs_per_s)} msgs/s, consume ${fmt(line.consume.msgs_per_s)} msgs/s`);
    }
  }
  if (natsRuns.length === 0 || natsLatency === null) {
    console.log('no NATS figures: ratios not computed');
    return;
  }
  const nats = { publish: median(natsRuns.map((r) => r.publish.msgs_per_s)), consume: median(natsRuns.map((r) => r.consume.msgs_per_s)) };
  console.log(`nats medians: publish ${fmt(nats.publish)} msgs/s, consume ${fmt(nats.consume)} msgs/s, W=1 p50 ${fmt(natsLatency.publish.ack_latency_ms.p50, 2)} ms p99 ${fmt(natsLatency.publish.ack_latency_ms.p99, 2)} ms`);
  console.log(`ratios ledgermq / nats: publish ${fmt(ours.publish / nats.publish, 2)}x, consume ${fmt(ours.consume / nats.consume, 2)}x, W=1 p50 latency ${fmt(latency.p50 / natsLatency.publish.ack_latency_ms.p50, 2)}x (lower is better)`);
}

await main();
