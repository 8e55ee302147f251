/**
 * `ledgermq bench longpoll`: the issue's long-polling target on a fresh local 3-node group.
 * "2,000 parked pull requests on an idle topic keep the broker's CPU under 5% of a core; a message
 * sent is delivered to a parked consumer within 50 ms."
 *
 * 1. The leader's CPU (from /proc, its PID only) over a window with nothing parked.
 * 2. The same window with `parked` PullMessages requests held on the leader (raw internal gRPC over
 *    a few channels, spread over the queues, each re-polled as soon as it returns).
 * 3. Single sync sends with our Producer, spaced apart: from just before the send to the first
 *    parked pull returning the message, and to the producer's acknowledgement.
 * 4. Optionally the official client's path: SimpleConsumer.receive long-polling through the Proxy.
 */
import { performance } from 'node:perf_hooks';
import { runUpdateTopic } from '../admin/update-topic.js';
import { Producer } from '../client/producer.js';
import type { LocalCluster } from '../cluster/local-cluster.js';
import type { NodeInfo } from '../cluster/local-cluster.js';
import { waitForLeader, withBenchCluster } from './bench-cluster.js';
import { benchEnvironment, describeEnvironment } from './bench-environment.js';
import { DeliveryClock } from './delivery-clock.js';
import { parkedPolls } from './node-metrics.js';
import { officialReceiveLatency } from './official-receive-latency.js';
import { ParkedPulls } from './parked-pulls.js';
import { measureCpu } from './process-cpu.js';
import type { CpuWindow } from './process-cpu.js';
import { latencySummary } from './statistics.js';
import type { LatencySummary } from './statistics.js';
import { formatNumber, renderTable } from '../common/text-table.js';

/** Settings of `ledgermq bench longpoll` (CLI flags). */
export interface LongPollBenchOptions {
  parked: number;
  queues: number;
  channels: number;
  /** How the parked pulls travel: multiplexed on a PullStream per channel (our client's way) or one unary call each. */
  transport: 'stream' | 'unary';
  /** Parked requests started per second. */
  rampPerSecond: number;
  /** See ParkedPullsOptions.staggerFirstTimeouts. */
  staggerFirstTimeouts: boolean;
  pollTimeoutMs: number;
  cpuWindowSeconds: number;
  sends: number;
  sendIntervalMs: number;
  /** Sends timed through the official client's receive path; 0 skips it. */
  officialSends: number;
  basePort: number;
  /** Exit non-zero when a target is missed. */
  strict: boolean;
  /** Targets: leader CPU with everything parked (% of one core), delivery p99 (ms). */
  targetCpuPercent: number;
  targetDeliveryMs: number;
}

const TOPIC = 'LongPollIdle';
const OFFICIAL_TOPIC = 'LongPollOfficial';
const GROUP = 'bench-longpoll';
/** How long a send may take to arrive before it counts as lost. */
const ARRIVAL_TIMEOUT_MS = 5_000;

/** Runs the benchmark and prints it; resolves to the exit code (non-zero on a missed target only when `strict`, or on a lost message). */
export async function runLongPollBench(options: LongPollBenchOptions): Promise<number> {
  const environment = benchEnvironment();
  console.log(`ledgermq bench longpoll: 3-node group, ${formatNumber(options.parked)} parked pulls on ${options.queues} queues over ${options.channels} channels as ${options.transport === 'stream' ? 'PullStream frames' : 'unary PullMessages calls'} (started at ${formatNumber(options.rampPerSecond)}/s), poll timeout ${options.pollTimeoutMs} ms (first ones ${options.staggerFirstTimeouts ? 'spread up to it: steady-state re-polls' : 'all full: no re-poll in the window'}), CPU windows of ${options.cpuWindowSeconds} s, ${options.sends} sends ${options.sendIntervalMs} ms apart`);
  console.log(describeEnvironment(environment));
  return withBenchCluster({ basePort: options.basePort }, async (cluster) => {
    const leaderId = await waitForLeader(cluster);
    const leader = cluster.nodes.find((n) => n.id === leaderId)!;
    const nameServers = cluster.description.namesrv;
    for (const topic of [TOPIC, OFFICIAL_TOPIC]) {
      if (await runUpdateTopic({ namesrv: nameServers, topic, readQueues: options.queues, writeQueues: options.queues, perm: 6 }) !== 0) throw new Error(`could not create topic ${topic}`);
    }
    // Let startup work (election, registrations, first scrub pass) pass before the baseline.
    await sleep(3_000);
    const pids = cpuPids(cluster, leader);
    const windowMs = options.cpuWindowSeconds * 1000;
    const idle = await measureWithSelf(pids, windowMs);
    console.log(`idle: leader ${leaderId} ${formatNumber(idle.leader.percentOfCore, 2)}% of a core; followers ${idle.followers.map((w) => `${formatNumber(w.percentOfCore, 2)}%`).join(', ')}; this process ${formatNumber(idle.self, 1)}%`);

    const clock = new DeliveryClock('longpoll-');
    const pulls = new ParkedPulls({
      brokerAddress: leader.broker, topic: TOPIC, group: GROUP, queues: options.queues, parked: options.parked, channels: options.channels, transport: options.transport,
      pollTimeoutMs: options.pollTimeoutMs, rampPerSecond: options.rampPerSecond, staggerFirstTimeouts: options.staggerFirstTimeouts, onMessages: (_queueId, bodies, atMs) => clock.record(bodies, atMs),
    });
    const producer = new Producer({ nameServers, requestTimeoutMs: 5_000 });
    try {
      const startedAt = performance.now();
      pulls.start(Array.from({ length: options.queues }, () => 0));
      await waitParked(pulls, leader, options.parked);
      if (options.staggerFirstTimeouts) {
        // Steady state: every first request (timeouts spread up to the full one) has returned and
        // every slot holds a request with the full timeout, due at evenly spread times.
        const lastStartMs = (options.parked * 1000) / options.rampPerSecond;
        const steadyInMs = startedAt + lastStartMs + options.pollTimeoutMs + 1_000 - performance.now();
        console.log(`waiting ${formatNumber(steadyInMs / 1000, 1)} s for the steady state (every slot on its second request)`);
        await sleep(steadyInMs);
      } else {
        await sleep(1_000);
      }
      const parkedAtStart = { client: pulls.outstanding, broker: await parkedPolls(leader.http) };
      await requireSameLeader(cluster, leaderId);
      const timeoutsBefore = pulls.timeouts;
      const busy = await measureWithSelf(pids, windowMs);
      const parkedAtEnd = { client: pulls.outstanding, broker: await parkedPolls(leader.http) };
      await requireSameLeader(cluster, leaderId);
      const windowTimeouts = pulls.timeouts - timeoutsBefore;
      console.log(`parked: client ${parkedAtStart.client} / broker gauge ${parkedAtStart.broker} before the window, ${parkedAtEnd.client} / ${parkedAtEnd.broker} after; ` +
        `leader ${formatNumber(busy.leader.percentOfCore, 2)}% of a core; followers ${busy.followers.map((w) => `${formatNumber(w.percentOfCore, 2)}%`).join(', ')}; this process ${formatNumber(busy.self, 1)}%; ` +
        `${windowTimeouts} pulls returned empty at their timeout and were re-sent during the window (${formatNumber(windowTimeouts / busy.leader.wallSeconds, 1)}/s), errors ${pulls.errors}${pulls.errors > 0 ? ` (${pulls.lastError})` : ''}`);

      const sends = await timeSends(producer, pulls, clock, options);
      console.log(`pull path: ${sends.delivered}/${options.sends} delivered; delivery p50 ${formatNumber(sends.delivery.p50Ms, 2)} ms p99 ${formatNumber(sends.delivery.p99Ms, 2)} ms max ${formatNumber(sends.delivery.maxMs, 2)} ms; ack p50 ${formatNumber(sends.ack.p50Ms, 2)} ms p99 ${formatNumber(sends.ack.p99Ms, 2)} ms max ${formatNumber(sends.ack.maxMs, 2)} ms; ${sends.beforeAck} delivered before the ack returned`);

      const official = options.officialSends > 0
        ? await officialReceiveLatency({ accessPoint: cluster.description.accessPoint, nameServers, topic: OFFICIAL_TOPIC, group: `${GROUP}-official`, sends: options.officialSends, sendIntervalMs: Math.max(options.sendIntervalMs, 200), arrivalTimeoutMs: ARRIVAL_TIMEOUT_MS })
        : null;
      if (official) console.log(`official receive path: ${official.delivered}/${options.officialSends} delivered; p50 ${formatNumber(official.delivery.p50Ms, 2)} ms p99 ${formatNumber(official.delivery.p99Ms, 2)} ms max ${formatNumber(official.delivery.maxMs, 2)} ms`);

      const verdicts = {
        cpu: busy.leader.percentOfCore < options.targetCpuPercent,
        delivery: sends.delivered === options.sends && sends.delivery.p99Ms <= options.targetDeliveryMs,
      };
      const verdict = (ok: boolean): string => (ok ? 'PASS' : 'FAIL');
      console.log('');
      console.log(renderTable(['measure', 'measured', 'target', 'verdict'], [
        ['leader CPU, idle, nothing parked', `${formatNumber(idle.leader.percentOfCore, 2)}%`, '', ''],
        [`leader CPU, ${formatNumber(options.parked)} parked`, `${formatNumber(busy.leader.percentOfCore, 2)}%`, `< ${options.targetCpuPercent}%`, verdict(verdicts.cpu)],
        ['pull delivery p50 / p99 / max', `${formatNumber(sends.delivery.p50Ms, 1)} / ${formatNumber(sends.delivery.p99Ms, 1)} / ${formatNumber(sends.delivery.maxMs, 1)} ms`, `p99 <= ${options.targetDeliveryMs} ms`, verdict(verdicts.delivery)],
        ['send ack p50 / p99 / max', `${formatNumber(sends.ack.p50Ms, 1)} / ${formatNumber(sends.ack.p99Ms, 1)} / ${formatNumber(sends.ack.maxMs, 1)} ms`, '', ''],
        ['delivery after the ack p50 / p99 / max', `${formatNumber(sends.afterAck.p50Ms, 1)} / ${formatNumber(sends.afterAck.p99Ms, 1)} / ${formatNumber(sends.afterAck.maxMs, 1)} ms`, '', ''],
        ...(official ? [['official receive p50 / p99 / max', `${formatNumber(official.delivery.p50Ms, 1)} / ${formatNumber(official.delivery.p99Ms, 1)} / ${formatNumber(official.delivery.maxMs, 1)} ms`, '', '']] : []),
      ]));
      console.log(JSON.stringify({
        bench: 'longpoll', options, environment, leaderId, cpu: { idle, parked: busy }, repollsInWindow: windowTimeouts, parkedAtStart, parkedAtEnd,
        pulls: { timeouts: pulls.timeouts, deliveries: pulls.deliveries, errors: pulls.errors, lastError: pulls.lastError },
        pullPath: sends, officialPath: official, verdicts,
      }));
      const lost = sends.delivered < options.sends || (official !== null && official.delivered < options.officialSends);
      if (lost) console.log('FAILED: a sent message was not delivered');
      return lost || (options.strict && !(verdicts.cpu && verdicts.delivery)) ? 1 : 0;
    } finally {
      producer.shutdown();
      await pulls.stop();
    }
  });
}

/** The leader's PID first, then the followers'. */
function cpuPids(cluster: LocalCluster, leader: NodeInfo): number[] {
  const pids = [leader, ...cluster.nodes.filter((n) => n.id !== leader.id)].map((n) => n.pid);
  if (pids.some((pid) => pid === null)) throw new Error('a broker node has no PID');
  return pids as number[];
}

/** CPU of the leader and the followers over one window, with this process's own (from process.cpuUsage) for context. */
async function measureWithSelf(pids: readonly number[], windowMs: number): Promise<{ leader: CpuWindow; followers: CpuWindow[]; self: number }> {
  const selfStart = process.cpuUsage();
  const wallStart = performance.now();
  const [leader, ...followers] = await measureCpu(pids, windowMs);
  const self = process.cpuUsage(selfStart);
  return { leader, followers, self: (100 * (self.user + self.system) / 1000) / (performance.now() - wallStart) };
}

/** Throws when the group's leader is no longer `leaderId`: the figures would mix two nodes. */
async function requireSameLeader(cluster: LocalCluster, leaderId: string): Promise<void> {
  const now = await cluster.leaderId();
  if (now !== leaderId) throw new Error(`the group's leader moved from ${leaderId} to ${now ?? 'none'} during the benchmark; run it again`);
}

/** Waits (up to 60 s) until every slot has a request out and the leader counts them parked. */
async function waitParked(pulls: ParkedPulls, leader: NodeInfo, parked: number): Promise<{ client: number; broker: number | null }> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const broker = await parkedPolls(leader.http);
    if (pulls.outstanding === parked && broker !== null && broker >= parked) return { client: pulls.outstanding, broker };
    if (Date.now() > deadline) throw new Error(`${pulls.outstanding} requests out, the leader counts ${broker} parked, of ${parked} after 60 s; ${pulls.timeouts} empty answers, ${pulls.errors} errors (${pulls.lastError})`);
    await sleep(100);
  }
}

/** Sends one message at a time and times its delivery to the parked pulls and its acknowledgement. */
async function timeSends(producer: Producer, pulls: ParkedPulls, clock: DeliveryClock, options: LongPollBenchOptions): Promise<{ delivered: number; beforeAck: number; delivery: LatencySummary; ack: LatencySummary; afterAck: LatencySummary; samples: Array<{ queueId: number; deliveryMs: number | null; ackMs: number }> }> {
  // Warm-up (route lookup, connection): not timed.
  await producer.send({ topic: TOPIC, body: clock.body(-1) });
  await clock.arrival(-1, ARRIVAL_TIMEOUT_MS);
  const samples: Array<{ queueId: number; deliveryMs: number | null; ackMs: number }> = [];
  let beforeAck = 0;
  for (let seq = 0; seq < options.sends; seq++) {
    // Every slot re-polled after the last delivery: each queue has its parked pulls again.
    const settleDeadline = performance.now() + 2_000;
    while (pulls.outstanding < options.parked && performance.now() < settleDeadline) await sleep(5);
    const startedAt = performance.now();
    const result = await producer.send({ topic: TOPIC, body: clock.body(seq) });
    const ackedAt = performance.now();
    const arrivedAt = await clock.arrival(seq, ARRIVAL_TIMEOUT_MS);
    if (arrivedAt !== null && arrivedAt <= ackedAt) beforeAck += 1;
    samples.push({ queueId: result.queueId, deliveryMs: arrivedAt === null ? null : arrivedAt - startedAt, ackMs: ackedAt - startedAt });
    await sleep(Math.max(0, startedAt + options.sendIntervalMs - performance.now()));
  }
  const delivered = samples.filter((s) => s.deliveryMs !== null);
  return {
    delivered: delivered.length,
    beforeAck,
    delivery: latencySummary(delivered.map((s) => s.deliveryMs!)),
    ack: latencySummary(samples.map((s) => s.ackMs)),
    // The long poll's own part: from the producer's ack (the entry committed on a majority, fsynced) to the delivery.
    afterAck: latencySummary(delivered.map((s) => Math.max(0, s.deliveryMs! - s.ackMs))),
    samples,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
