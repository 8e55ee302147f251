/**
 * Fills a topic with a backlog for consume benchmarks: our {@link Producer} sends batches (each
 * all-or-nothing on one queue, round robin over the queues) with a few batches in flight.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Producer } from '../client/producer.js';

export interface BacklogOptions {
  nameServers: string[];
  topic: string;
  /** Messages to store. */
  count: number;
  /** Body bytes of each message. */
  sizeBytes: number;
  /** Tag of every message (the official client's bench consumer filters on `bench`). */
  tag: string;
  /** Messages per batch (at most the broker's maxBatchMessages and 8 MiB). */
  batchMessages: number;
  /** Batches in flight at once. */
  window: number;
  maxSeconds: number;
}

export interface BacklogResult {
  stored: number;
  elapsedS: number;
  msgsPerS: number;
  /** Messages stored per queue id. */
  perQueue: Map<number, number>;
}

/**
 * Sends `count` messages; resolves when every batch is acknowledged (committed on a majority).
 * Throws when a batch fails after the producer's retries, or when `maxSeconds` pass first.
 */
export async function produceBacklog(options: BacklogOptions): Promise<BacklogResult> {
  const producer = new Producer({ nameServers: options.nameServers, requestTimeoutMs: 10_000 });
  try {
    const body = randomBytes(options.sizeBytes);
    const perQueue = new Map<number, number>();
    let issued = 0;
    let stored = 0;
    const start = performance.now();
    const deadline = start + options.maxSeconds * 1000;
    await Promise.all(Array.from({ length: options.window }, async () => {
      while (issued < options.count) {
        if (performance.now() > deadline) throw new Error(`backlog: only ${stored} of ${options.count} stored within ${options.maxSeconds} s`);
        const size = Math.min(options.batchMessages, options.count - issued);
        issued += size;
        const results = await producer.sendBatch(Array.from({ length: size }, () => ({ topic: options.topic, tag: options.tag, body })));
        stored += results.length;
        for (const result of results) perQueue.set(result.queueId, (perQueue.get(result.queueId) ?? 0) + 1);
      }
    }));
    const elapsedS = (performance.now() - start) / 1000;
    return { stored, elapsedS, msgsPerS: stored / elapsedS, perQueue };
  } finally {
    producer.shutdown();
  }
}
