/**
 * Delivery latency through the official client's receive path: a SimpleConsumer keeps long-polling
 * receives open through the Proxy (which pops from the broker, parked there), and our Producer
 * sends single messages; latency runs from just before a send to the receive that returns it.
 */
import { performance } from 'node:perf_hooks';
import { SimpleConsumer } from 'rocketmq-client-nodejs';
import { Producer } from '../client/producer.js';
import { DeliveryClock } from './delivery-clock.js';
import { latencySummary } from './statistics.js';
import type { LatencySummary } from './statistics.js';

export interface OfficialReceiveLatencyOptions {
  accessPoint: string;
  nameServers: string[];
  /** An idle topic only this measurement uses. */
  topic: string;
  group: string;
  sends: number;
  sendIntervalMs: number;
  arrivalTimeoutMs: number;
}

/** Receive loops held open at once. */
const RECEIVE_LANES = 4;
/** The client's long-polling timeout (awaitDuration); the Proxy holds a receive this long less 500 ms. */
const AWAIT_DURATION_MS = 20_000;

/** Runs the measurement; the consumer and producer are shut down before it resolves. */
export async function officialReceiveLatency(options: OfficialReceiveLatencyOptions): Promise<{ delivered: number; delivery: LatencySummary }> {
  const clock = new DeliveryClock('official-');
  const consumer = new SimpleConsumer({ endpoints: options.accessPoint, namespace: '', consumerGroup: options.group, subscriptions: new Map([[options.topic, '*']]), awaitDuration: AWAIT_DURATION_MS });
  const producer = new Producer({ nameServers: options.nameServers, requestTimeoutMs: 5_000 });
  let stopped = false;
  await consumer.startup();
  const lanes = Array.from({ length: RECEIVE_LANES }, async () => {
    while (!stopped) {
      const messages = await consumer.receive(16, 30_000).catch(() => []);
      clock.record(messages.map((m) => m.body), performance.now());
      await Promise.all(messages.map((m) => consumer.ack(m).catch(() => undefined)));
    }
  });
  try {
    // Warm-up: routes and connections on both sides; not timed.
    await producer.send({ topic: options.topic, body: clock.body(-1) });
    await clock.arrival(-1, options.arrivalTimeoutMs);
    const latencies: number[] = [];
    for (let seq = 0; seq < options.sends; seq++) {
      const startedAt = performance.now();
      await producer.send({ topic: options.topic, body: clock.body(seq) });
      const arrivedAt = await clock.arrival(seq, options.arrivalTimeoutMs);
      if (arrivedAt !== null) latencies.push(arrivedAt - startedAt);
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, startedAt + options.sendIntervalMs - performance.now())));
    }
    return { delivered: latencies.length, delivery: latencySummary(latencies) };
  } finally {
    stopped = true;
    producer.shutdown();
    // Open receives end at their long-polling timeout; shutting down does not wait for them.
    await consumer.shutdown().catch(() => undefined);
    await Promise.race([Promise.all(lanes), new Promise((resolve) => setTimeout(resolve, AWAIT_DURATION_MS + 2_000))]);
  }
}
