/**
 * Load phases driven by the official RocketMQ 5 Node client through the Proxy (until lib/client
 * exists): publish with W sends in flight, each awaiting its acknowledgement, and consume with a
 * SimpleConsumer (receive + ack). Every phase is bounded by count and by wall time.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Producer, SimpleConsumer } from 'rocketmq-client-nodejs';
import { percentile } from './statistics.js';

export interface PublishResult {
  acked: number;
  failed: number;
  elapsedS: number;
  msgsPerS: number;
  latencyMs: { p50: number; p99: number; p999: number };
}

export interface ConsumeResult {
  /** Acknowledged deliveries (a redelivered message counts again). */
  received: number;
  /** Distinct messages acknowledged, by message id. */
  distinct: number;
  elapsedS: number;
  msgsPerS: number;
}


/** Publishes up to `count` messages of `size` bytes with `window` in flight, for at most `maxSeconds`. */
export async function publish(options: { accessPoint: string; topic: string; size: number; count: number; window: number; maxSeconds: number }): Promise<PublishResult> {
  const producer = new Producer({ endpoints: options.accessPoint, namespace: '', topics: [options.topic] });
  await producer.startup();
  try {
    const body = randomBytes(options.size);
    // Warm-up: routes, connections, topic creation.
    for (let i = 0; i < 20; i++) await producer.send({ topic: options.topic, tag: 'warmup', body });
    const latencies: number[] = [];
    let issued = 0;
    let failed = 0;
    const start = performance.now();
    const deadline = start + options.maxSeconds * 1000;
    await Promise.all(Array.from({ length: options.window }, async () => {
      while (issued < options.count && performance.now() < deadline) {
        issued += 1;
        const sentAt = performance.now();
        try {
          await producer.send({ topic: options.topic, tag: 'bench', body });
          latencies.push(performance.now() - sentAt);
        } catch {
          failed += 1;
        }
      }
    }));
    const elapsedS = (performance.now() - start) / 1000;
    latencies.sort((a, b) => a - b);
    return {
      acked: latencies.length,
      failed,
      elapsedS,
      msgsPerS: latencies.length / elapsedS,
      latencyMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), p999: percentile(latencies, 99.9) },
    };
  } finally {
    await producer.shutdown().catch(() => undefined);
  }
}

/**
 * Receives and acks until `count` distinct messages (tag `bench`) are acknowledged (`lanes` receive
 * loops of up to 32), for at most `maxSeconds`. The clock starts after the consumer's startup.
 */
export async function consume(options: { accessPoint: string; topic: string; group: string; count: number; lanes: number; maxSeconds: number }): Promise<ConsumeResult> {
  const consumer = new SimpleConsumer({ endpoints: options.accessPoint, namespace: '', consumerGroup: options.group, subscriptions: new Map([[options.topic, 'bench']]), awaitDuration: 2000 });
  await consumer.startup();
  try {
    let received = 0;
    const acked = new Set<string>();
    const start = performance.now();
    const deadline = start + options.maxSeconds * 1000;
    await Promise.all(Array.from({ length: options.lanes }, async () => {
      while (acked.size < options.count && performance.now() < deadline) {
        const messages = await consumer.receive(32, 30_000).catch(() => []);
        await Promise.all(messages.map((message) => consumer.ack(message).then(() => {
          received += 1;
          acked.add(message.messageId);
        }, () => undefined)));
      }
    }));
    const elapsedS = (performance.now() - start) / 1000;
    return { received, distinct: acked.size, elapsedS, msgsPerS: acked.size / elapsedS };
  } finally {
    await consumer.shutdown().catch(() => undefined);
  }
}
