/** `ledgermq bench ...`: load against a running cluster, and benchmarks on fresh local groups. */
import { Option } from 'commander';
import type { Command } from 'commander';
import { runConsumeBench } from '../lib/bench/consume-bench.js';
import { runConsumeLoad } from '../lib/bench/load-consume.js';
import { runDelayBench } from '../lib/bench/delay-bench.js';
import { runLongPollBench } from '../lib/bench/longpoll-bench.js';
import { runProduceLoad } from '../lib/bench/load-produce.js';
import { newSeed, runQueryBench } from '../lib/bench/query-bench.js';
import { intInRange, nonNegativeInt, positiveInt } from './cli-values.js';

const nameServerList = (flags: { namesrv: string }): string[] => flags.namesrv.split(';').filter(Boolean);

/** Adds the `bench` commands to `program`. */
export function registerBenchCommands(program: Command): void {
  const bench = program.command('bench').description('load against a running cluster (produce, consume), and benchmarks on a fresh local 3-node group (consume-compare, longpoll, query)');

  /** --count / --duration: a run ends at whichever comes first; `fallback` when neither is given. */
  function loadLimits(flags: { count?: number; duration?: number }, fallback: { count: number | null; durationSeconds: number | null }): { count: number | null; durationSeconds: number | null } {
    if (flags.count === undefined && flags.duration === undefined) return fallback;
    return { count: flags.count ?? null, durationSeconds: flags.duration ?? null };
  }

  bench
    .command('produce')
    .description('sends messages to a running cluster with our Producer: live progress, then a summary table and a JSON line')
    .requiredOption('-n, --namesrv <addresses>', 'NameServer addresses, host:port;host:port')
    .option('-t, --topic <topic>', 'topic (created if the brokers auto-create)', 'BenchTopic')
    .option('--size <bytes>', 'body bytes per message', positiveInt, 1024)
    .option('--count <n>', 'messages to send (default 100,000 when no --duration)', positiveInt)
    .option('--duration <seconds>', 'send for this long', positiveInt)
    .option('--window <n>', 'sends in flight at once, over all producers', positiveInt, 64)
    .option('--producers <n>', 'Producer instances', positiveInt, 4)
    .option('--batch <n>', 'messages per send (one batch request)', positiveInt, 1)
    .option('--linger <ms>', "single sends: the producer's batching linger (0: sends of one event-loop turn share a batch)", nonNegativeInt, 0)
    .option('--no-auto-batch', 'single sends: no transparent batching (each send is its own request)')
    .action(async (flags: { namesrv: string; topic: string; size: number; count?: number; duration?: number; window: number; producers: number; batch: number; linger: number; autoBatch: boolean }) => {
      process.exitCode = await runProduceLoad({
        nameServers: nameServerList(flags), topic: flags.topic, sizeBytes: flags.size, producers: flags.producers, window: flags.window, batch: flags.batch,
        batching: flags.autoBatch ? { lingerMs: flags.linger } : false,
        ...loadLimits(flags, { count: 100_000, durationSeconds: null }),
      });
    });

  bench
    .command('consume')
    .description('consumes from a running cluster with our PushConsumer: live progress, then a summary table (rate, end-to-end latency) and a JSON line')
    .requiredOption('-n, --namesrv <addresses>', 'NameServer addresses, host:port;host:port')
    .option('-t, --topic <topic>', 'topic', 'BenchTopic')
    .option('-g, --group <group>', 'consumer group (default: a new bench-<random> group)', '')
    .option('--consumers <n>', 'PushConsumer instances in the group', positiveInt, 1)
    .option('--count <n>', 'stop after this many messages', positiveInt)
    .option('--duration <seconds>', 'consume for this long (default 60 when no --count)', positiveInt)
    .addOption(new Option('--from <where>', 'where a new group starts').choices(['first', 'last']).default('last'))
    .option('--max-seconds <s>', 'upper bound of a run given by --count only', positiveInt, 600)
    .action(async (flags: { namesrv: string; topic: string; group: string; consumers: number; count?: number; duration?: number; from: 'first' | 'last'; maxSeconds: number }) => {
      process.exitCode = await runConsumeLoad({
        nameServers: nameServerList(flags), topic: flags.topic, group: flags.group, consumers: flags.consumers, consumeFrom: flags.from === 'first' ? 'FIRST_OFFSET' : 'LAST_OFFSET',
        maxSeconds: flags.maxSeconds, ...loadLimits(flags, { count: null, durationSeconds: 60 }),
      });
    });

  bench
    .command('consume-compare')
    .description('consumer throughput on a backlog (fresh local group): our PushConsumer with and without follower reads vs the official SimpleConsumer')
    .option('--count <n>', 'messages in the backlog', positiveInt, 100_000)
    .option('--size <bytes>', 'body bytes per message', positiveInt, 512)
    .option('--queues <n>', 'queues of the topic', positiveInt, 8)
    .option('--runs <n>', 'runs (each consumes the backlog once per phase); medians are reported', positiveInt, 3)
    .option('--max-seconds <s>', 'time limit of each phase (the backlog gets three times this)', positiveInt, 120)
    .option('--follower-read-lag-bytes <bytes>', 'broker followerReadLagBytes: reads further behind go to a follower', positiveInt, 1024 * 1024)
    .option('--base-port <port>', 'first port of the bench cluster', positiveInt, 24_000)
    .option('--pull-batch <n>', 'PushConsumer pullBatchSize', positiveInt, 32)
    .option('--consume-batch <n>', 'PushConsumer consumeBatchSize (messages per listener call)', positiveInt, 1)
    .option('--official-lanes <n>', 'receive loops of the official SimpleConsumer', positiveInt, 8)
    .option('--produce-batch <n>', 'messages per producer batch for the backlog', positiveInt, 64)
    .option('--produce-window <n>', 'producer batches in flight for the backlog', positiveInt, 8)
    .action(async (flags: { count: number; size: number; queues: number; runs: number; maxSeconds: number; followerReadLagBytes: number; basePort: number; pullBatch: number; consumeBatch: number; officialLanes: number; produceBatch: number; produceWindow: number }) => {
      process.exitCode = await runConsumeBench({
        count: flags.count, sizeBytes: flags.size, queues: flags.queues, runs: flags.runs, maxSeconds: flags.maxSeconds,
        followerReadLagBytes: flags.followerReadLagBytes, basePort: flags.basePort, pullBatchSize: flags.pullBatch, consumeBatchSize: flags.consumeBatch,
        officialLanes: flags.officialLanes, produceBatch: flags.produceBatch, produceWindow: flags.produceWindow,
      });
    });

  bench
    .command('longpoll')
    .description('leader CPU with many parked pulls on an idle topic, and delivery latency to parked consumers')
    .option('--parked <n>', 'PullMessages requests held on the leader', positiveInt, 2_000)
    .option('--queues <n>', 'queues of the idle topic', positiveInt, 8)
    .option('--channels <n>', 'gRPC channels the parked requests are spread over', positiveInt, 4)
    .addOption(new Option('--transport <how>', 'parked pulls as PullStream frames (our client) or one unary call each').choices(['stream', 'unary']).default('stream'))
    .option('--ramp-per-second <n>', 'parked requests started per second (a large value sends them in one burst)', positiveInt, 500)
    .addOption(new Option('--no-stagger', 'give every first request the full poll timeout: no re-poll during the CPU window (the cost of holding alone)'))
    .option('--poll-timeout-ms <ms>', 'long-poll timeout of each request (broker maximum 30,000)', positiveInt, 30_000)
    .option('--cpu-window-seconds <s>', 'CPU measurement window, idle and parked', positiveInt, 10)
    .option('--sends <n>', 'single sends timed to the parked pulls', positiveInt, 50)
    .option('--send-interval-ms <ms>', 'spacing of the sends', positiveInt, 100)
    .option('--official-sends <n>', 'sends timed through the official SimpleConsumer receive path (0 skips)', (value: string) => (value === '0' ? 0 : positiveInt(value)), 20)
    .option('--base-port <port>', 'first port of the bench cluster', positiveInt, 24_100)
    .option('--target-cpu-percent <p>', 'target: leader CPU with everything parked, % of one core', positiveInt, 5)
    .option('--target-delivery-ms <ms>', 'target: p99 delivery to a parked pull', positiveInt, 50)
    .option('--strict', 'exit non-zero when a target is missed', false)
    .action(async (flags: { parked: number; queues: number; channels: number; transport: 'stream' | 'unary'; rampPerSecond: number; stagger: boolean; pollTimeoutMs: number; cpuWindowSeconds: number; sends: number; sendIntervalMs: number; officialSends: number; basePort: number; targetCpuPercent: number; targetDeliveryMs: number; strict: boolean }) => {
      process.exitCode = await runLongPollBench({
        parked: flags.parked, queues: flags.queues, channels: flags.channels, transport: flags.transport, rampPerSecond: flags.rampPerSecond, staggerFirstTimeouts: flags.stagger, pollTimeoutMs: flags.pollTimeoutMs, cpuWindowSeconds: flags.cpuWindowSeconds,
        sends: flags.sends, sendIntervalMs: flags.sendIntervalMs, officialSends: flags.officialSends, basePort: flags.basePort, strict: flags.strict,
        targetCpuPercent: flags.targetCpuPercent, targetDeliveryMs: flags.targetDeliveryMs,
      });
    });

  bench
    .command('query')
    .description('query by key and by message id among N stored messages (fresh local group), on the leader and a follower, and after a follower is killed with SIGKILL and restarted')
    .option('-n, --count <n>', 'messages stored before the queries', positiveInt, 1_000_000)
    .option('--size <bytes>', 'body bytes per message (at least 16)', (value: string) => intInRange(value, 16, 4 * 1024 * 1024), 64)
    .option('--queues <n>', 'queues of the topic', positiveInt, 8)
    .option('--batch <n>', 'messages per producer batch', positiveInt, 128)
    .option('--window <n>', 'producer batches in flight', positiveInt, 16)
    .option('--samples <n>', 'unique keys, and message ids, queried per node', positiveInt, 200)
    .option('--absent <n>', 'keys nobody sent, queried per node', positiveInt, 20)
    .option('--warm-up <n>', 'untimed key queries per node before the timed ones', nonNegativeInt, 2_000)
    .option('--hot-every <n>', 'every n-th message also carries a shared hot key', positiveInt, 1_000)
    .option('--hits-per-hot-key <n>', 'messages per hot key (at most 64, one answer)', (value: string) => intInRange(value, 1, 64), 50)
    .option('--burst <n>', 'messages sent right before a follower is killed (0 skips the crash phase)', nonNegativeInt, 20_000)
    .option('--verify-in-flight <n>', 'queries in flight when checking the burst on the restarted follower', positiveInt, 8)
    .option('--seed <n>', 'seed of the samples (default: a new one, printed)', nonNegativeInt)
    .option('--base-port <port>', 'first port of the bench cluster', positiveInt, 24_200)
    .option('--max-store-seconds <s>', 'stop storing after this long (the run then fails, after querying what was stored)', positiveInt, 480)
    .action(async (flags: { count: number; size: number; queues: number; batch: number; window: number; samples: number; absent: number; hotEvery: number; hitsPerHotKey: number; burst: number; verifyInFlight: number; warmUp: number; seed?: number; basePort: number; maxStoreSeconds: number }) => {
      process.exitCode = await runQueryBench({
        count: flags.count, bodyBytes: flags.size, queues: flags.queues, batchMessages: flags.batch, window: flags.window, samples: flags.samples, absentSamples: flags.absent,
        hotEvery: flags.hotEvery, hitsPerHotKey: flags.hitsPerHotKey, burst: flags.burst, verifyInFlight: flags.verifyInFlight, warmUpQueries: flags.warmUp, seed: flags.seed ?? newSeed(),
        basePort: flags.basePort, maxStoreSeconds: flags.maxStoreSeconds,
      });
    });

  bench
    .command('delay')
    .description('delayed messages spread over minutes (fresh local group): lateness p50/p99/max, early and missing ones, broker CPU while they wait')
    .option('-n, --count <n>', 'delayed messages', positiveInt, 100_000)
    .option('--spread <seconds>', 'delivery times spread evenly over this long', positiveInt, 600)
    .option('--lead <seconds>', 'the first delivery time, after the sending starts', positiveInt, 60)
    .option('--size <bytes>', 'body bytes per message (at least 32)', (value: string) => intInRange(value, 32, 4 * 1024 * 1024), 64)
    .option('--batch <n>', 'messages per producer batch', positiveInt, 64)
    .option('--window <n>', 'producer batches in flight', positiveInt, 8)
    .option('--cpu-window <seconds>', 'CPU sampling window', positiveInt, 30)
    .option('--idle <seconds>', 'idle CPU measured before sending', positiveInt, 30)
    .option('--base-port <port>', 'first port of the bench cluster', positiveInt, 24_400)
    .action(async (flags: { count: number; spread: number; lead: number; size: number; batch: number; window: number; cpuWindow: number; idle: number; basePort: number }) => {
      process.exitCode = await runDelayBench({
        count: flags.count, spreadSeconds: flags.spread, leadSeconds: flags.lead, bodyBytes: flags.size, batchMessages: flags.batch, window: flags.window,
        cpuWindowSeconds: flags.cpuWindow, idleSeconds: flags.idle, basePort: flags.basePort,
      });
    });
}
