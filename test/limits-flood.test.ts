/**
 * Issue 8's acceptance for limits and backpressure, with real processes: 10,000 parked consumers
 * (8,000 long-polling pulls on the leader over our PullStream, 2,000 official-style
 * ReceiveMessage calls held by the Proxy) and clients flooding oversized messages and messages
 * just under and just over the body limit, many at once, at the leader and through the Proxy.
 * Meanwhile an official Producer (through the Proxy) and our PushConsumer keep working: every
 * send is acknowledged and consumed. The leader's and the Proxy's RSS stay under their bound, the
 * refusals are the documented statuses, and `ledgermq_limit_refusals_total` counts them.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import type { Producer } from 'rocketmq-client-nodejs';
import { ParkedPulls } from '../lib/bench/parked-pulls.js';
import { fetchMetrics, sumByLabel } from '../lib/bench/node-metrics.js';
import { PushConsumer } from '../lib/client/index.js';
import type { LocalCluster } from '../lib/cluster/local-cluster.js';
import { startCluster, startProducer, waitFor } from './cluster-helpers.js';
import type { Closable } from './cluster-helpers.js';
import { ParkedReceives, RssSampler, rssBytes } from './limits-load.js';
import { MAX_OTHER_READS } from '../lib/common/server-limits.js';
import { receiveLimitOf } from '../lib/common/receive-limit.js';
import type { Outcomes } from './limits-load.js';
import type { FloodPlan } from './limits-flood-client.js';

/** Runs the floods in a child process (test/limits-flood-client.ts) and resolves with their outcomes. */
function runFloodClient(plan: FloodPlan): Promise<Outcomes[]> {
  const script = fileURLToPath(new URL('./limits-flood-client.js', import.meta.url));
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [script, JSON.stringify(plan)], { timeout: plan.durationMs + 60_000, maxBuffer: 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`flood client failed: ${error.message}\n${stderr}`));
      else resolve((JSON.parse(stdout) as Array<Record<string, number>>).map((o) => new Map(Object.entries(o))));
    });
  });
}

const MiB = 1024 * 1024;
const BODY_LIMIT = 1 * MiB;
const BATCH_LIMIT = 2 * MiB;
/** A request over this is refused by grpc-js from its length prefix (batch limit + 1 MiB headroom). */
const RECEIVE_LIMIT = receiveLimitOf(BATCH_LIMIT);
const INFLIGHT = 48 * MiB;
const INFLIGHT_PER_CONNECTION = 8 * MiB;
const PARKED_PULLS = 8_000;
const PARKED_RECEIVES = 2_000;
/**
 * The bound asserted on each process, the documented one (lib/broker/README.md, "Memory bound"):
 * its RSS once the 10,000 consumers are parked, plus 4 × maxInflightBytes (request bytes admitted
 * under the budget exist in a few copies: HTTP/2 chunks, the joined message, the decoded one, the
 * forwarded or replicated one, until the garbage collector frees them), plus what the read slots
 * of methods other than sends may take (each up to the receive limit).
 */
const FLOOD_GROWTH_BOUND = 4 * INFLIGHT + MAX_OTHER_READS * RECEIVE_LIMIT;
const FLOOD_MS = 15_000;
/** Each flood loop starts a send at most this often. */
const FLOOD_INTERVAL_MS = 100;

function sumOf(outcomes: Outcomes): number {
  return [...outcomes.values()].reduce((a, b) => a + b, 0);
}

function show(outcomes: Outcomes): string {
  return [...outcomes].map(([k, v]) => `${k}=${v}`).join(' ');
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

describe('limits and backpressure under a flood (real processes)', function () {
  let cluster: LocalCluster & { dispose: () => Promise<void> };
  const owned: Closable[] = [];

  before(async () => {
    cluster = await startCluster({
      nodes: 3,
      brokerOverrides: {
        maxBodyBytes: BODY_LIMIT,
        maxBatchBytes: BATCH_LIMIT,
        maxInflightBytes: INFLIGHT,
        maxInflightBytesPerClient: INFLIGHT_PER_CONNECTION,
        maxParkedPolls: PARKED_PULLS + PARKED_RECEIVES + 500,
      },
      proxyLimits: {
        maxBodyBytes: BODY_LIMIT,
        maxBatchBytes: BATCH_LIMIT,
        maxInflightBytes: INFLIGHT,
        maxInflightBytesPerClient: INFLIGHT_PER_CONNECTION,
        maxParkedReceives: PARKED_RECEIVES,
      },
    });
  });

  after(async () => {
    // rocketmq-client-nodejs 1.0.x may throw from shutdown when its log file stream closed first.
    try {
      for (const client of owned.splice(0)) await client.shutdown().catch((error: unknown) => console.log(`      shutdown: ${String(error)}`));
    } finally {
      await cluster?.dispose();
    }
  });

  it('keeps serving a normal producer and consumer, and both the leader and the Proxy under their memory bound', async () => {
    const leaderId = await waitFor('a leader', () => cluster.leaderId().then((id) => id ?? undefined));
    const leader = cluster.nodes.find((n) => n.id === leaderId)!;
    const proxyPid = cluster.description.namesrvProcess.pid!;
    const sampler = new RssSampler([leader.pid!, proxyPid], 100);

    // The normal pair: an official Producer through the Proxy, our PushConsumer at the leader.
    const producer: Producer = await startProducer(cluster, 'Normal', owned);
    const received = new Set<string>();
    const consumer = new PushConsumer({
      nameServers: cluster.description.namesrv, group: 'normal-group', consumeFrom: 'FIRST_OFFSET', pollTimeoutMs: 2_000, commitIntervalMs: 500,
      listener: (messages) => {
        for (const m of messages) received.add(m.body.toString());
        return 'SUCCESS';
      },
    }).subscribe('Normal', '*');
    await consumer.start();
    owned.push(consumer);

    // 10,000 parked consumers: pulls on the leader (our protocol) and receives on the Proxy (v2).
    await producer.send({ topic: 'Idle', body: Buffer.from('create the topic') });
    const pulls = new ParkedPulls({
      brokerAddress: leader.broker, topic: 'Idle', group: 'idle-pullers', queues: 8, parked: PARKED_PULLS, channels: 8, transport: 'stream',
      pollTimeoutMs: 30_000, rampPerSecond: 1_000, staggerFirstTimeouts: false, onMessages: () => undefined,
    });
    pulls.start(Array.from({ length: 8 }, () => 1_000_000));
    const receives = new ParkedReceives(cluster.description.accessPoint, 8);
    // 100 more than the Proxy holds: those are refused and try again.
    receives.start(PARKED_RECEIVES + 100, 500, 'Idle', 'idle-receivers', 20);
    owned.push({ shutdown: () => pulls.stop() }, { shutdown: () => receives.stop() });
    const parked = await waitFor('10,000 parked at the leader', async () => {
      const runtime = (await cluster.nodeStatus(leaderId)).runtime as { parkedPolls: number };
      return runtime.parkedPolls >= PARKED_PULLS + PARKED_RECEIVES - 50 ? runtime.parkedPolls : undefined;
    }, 60_000);

    // The floods, each over connections of its own.
    // [bytes, window]: oversized (refused from the length prefix); just under the receive limit,
    // 48 at once (read whole, then refused for the body limit: without admission before reading
    // they would all be buffered together, 144 MiB a connection); under the body limit (stored).
    const inflight = async (): Promise<[number, number]> => {
      const leaderRuntime = (await cluster.nodeStatus(leaderId)).runtime as { inflightBytes: number };
      const proxy = ((await (await fetch(`http://${cluster.description.namesrvProcess.http}/status`)).json()) as { proxy: { inflightBytes: number } }).proxy;
      return [leaderRuntime.inflightBytes, proxy.inflightBytes];
    };
    const inflightBefore = await inflight();
    const before = new Map<number, number>();
    for (const pid of [leader.pid!, proxyPid]) before.set(pid, await rssBytes(pid));
    const kinds: Array<[number, number]> = [[2 * RECEIVE_LIMIT, 2], [RECEIVE_LIMIT - 64 * 1024, 48], [BODY_LIMIT - 1024, 16]];
    const plan: FloodPlan = {
      durationMs: FLOOD_MS, intervalMs: FLOOD_INTERVAL_MS, topic: 'Flood',
      floods: [
        ...kinds.map(([bodyBytes, window]) => ({ target: 'broker' as const, address: leader.broker, bodyBytes, window })),
        ...kinds.map(([bodyBytes, window]) => ({ target: 'proxy' as const, address: cluster.description.accessPoint, bodyBytes, window })),
      ],
    };
    const flooding = runFloodClient(plan);

    // Meanwhile the normal producer sends one message at a time and times each ack.
    const latenciesMs: number[] = [];
    const sent: string[] = [];
    const floodEnds = Date.now() + FLOOD_MS;
    while (Date.now() < floodEnds) {
      const body = `normal-${sent.length}`;
      const started = performance.now();
      await producer.send({ topic: 'Normal', body: Buffer.from(body) });
      latenciesMs.push(performance.now() - started);
      sent.push(body);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const outcomes = await flooding;
    await waitFor('every normal message consumed', () => sent.every((body) => received.has(body)), 30_000);
    // Every byte the flood took is given back (a leak would show here): parked requests hold what they held before.
    const inflightAfter = await waitFor('in-flight bytes back to their level before the flood', async () => {
      const now = await inflight();
      return now.every((bytes, i) => bytes <= inflightBefore[i] + MiB) ? now : undefined;
    }, 20_000);
    console.log(`      in-flight bytes before → after the flood: leader ${inflightBefore[0]} → ${inflightAfter[0]}, Proxy ${inflightBefore[1]} → ${inflightAfter[1]}`);

    sampler.stop();
    const leaderPeak = sampler.peaks.get(leader.pid!) ?? 0;
    const proxyPeak = sampler.peaks.get(proxyPid) ?? 0;
    const sorted = [...latenciesMs].sort((a, b) => a - b);
    const leaderRefusals = sumByLabel(await fetchMetrics(leader.http), 'ledgermq_limit_refusals_total', 'reason');
    const proxyRefusals = sumByLabel(await fetchMetrics(cluster.description.namesrvProcess.http), 'ledgermq_limit_refusals_total', 'reason');
    const labels = ['broker oversized', 'broker just under the receive limit', 'broker under body limit', 'proxy oversized', 'proxy just under the receive limit', 'proxy under body limit'];
    console.log(`      parked at the leader: ${parked}; Proxy receives: ${show(receives.outcomes)}; parked pulls: errors ${pulls.errors}`);
    outcomes.forEach((o, i) => console.log(`      flood ${labels[i]}: ${sumOf(o)} answers: ${show(o)}`));
    console.log(`      normal sends: ${sent.length}, ack latency p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms, max ${sorted[sorted.length - 1].toFixed(1)} ms`);
    console.log(`      refusals: leader ${JSON.stringify(Object.fromEntries(leaderRefusals))}, Proxy ${JSON.stringify(Object.fromEntries(proxyRefusals))}`);
    const bound = (pid: number): number => before.get(pid)! + FLOOD_GROWTH_BOUND;
    const mib = (bytes: number): string => (bytes / MiB).toFixed(0);
    console.log(`      RSS before the flood → peak (bound): leader ${mib(before.get(leader.pid!)!)} → ${mib(leaderPeak)} MiB (${mib(bound(leader.pid!))}), Proxy ${mib(before.get(proxyPid)!)} → ${mib(proxyPeak)} MiB (${mib(bound(proxyPid))})`);

    // Oversized requests are refused unread, with RESOURCE_EXHAUSTED, at both doors.
    assert.deepEqual([...outcomes[0].keys()], ['grpc:RESOURCE_EXHAUSTED']);
    assert.deepEqual([...outcomes[3].keys()], ['grpc:RESOURCE_EXHAUSTED']);
    // Bodies over the limit: MESSAGE_BODY_TOO_LARGE (or TOO_MANY_REQUESTS after a wait too long).
    for (const o of [outcomes[1], outcomes[4]]) {
      assert.ok((o.get('MESSAGE_BODY_TOO_LARGE') ?? 0) > 0, show(o));
      assert.deepEqual([...o.keys()].filter((k) => k !== 'MESSAGE_BODY_TOO_LARGE' && k !== 'TOO_MANY_REQUESTS'), []);
    }
    // Under the body limit, 16 at once on one connection: they wait for the client's share
    // (16 × 3 MiB asked of 8 MiB) unread, and are stored; a wait too long is told TOO_MANY_REQUESTS.
    for (const o of [outcomes[2], outcomes[5]]) {
      assert.ok((o.get('OK') ?? 0) > 0, show(o));
      assert.deepEqual([...o.keys()].filter((k) => k !== 'OK' && k !== 'TOO_MANY_REQUESTS'), []);
    }
    // The Proxy holds at most its bound of receives; the others are told so.
    assert.ok((receives.outcomes.get('TOO_MANY_REQUESTS') ?? 0) > 0, show(receives.outcomes));
    assert.ok((proxyRefusals.get('parked_receives') ?? 0) > 0);
    // The normal client was served all along, the nodes stayed up and under the bound.
    assert.ok(sent.length > 50, `only ${sent.length} normal sends in ${FLOOD_MS} ms`);
    assert.equal((await fetch(`http://${leader.http}/healthz`)).status, 200);
    assert.equal((await fetch(`http://${cluster.description.namesrvProcess.http}/healthz`)).status, 200);
    assert.ok(leaderPeak > 0 && leaderPeak < bound(leader.pid!), `leader peak RSS ${leaderPeak}`);
    assert.ok(proxyPeak > 0 && proxyPeak < bound(proxyPid), `Proxy peak RSS ${proxyPeak}`);
  });
});
