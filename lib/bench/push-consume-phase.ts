/**
 * One consume phase with our {@link PushConsumer}: a new consumer group reads a topic from its
 * first offset until every expected message arrived (counted once each, by message id) or the
 * phase's time is up.
 */
import { performance } from 'node:perf_hooks';
import { PushConsumer } from '../client/push-consumer.js';

export interface PushConsumePhaseOptions {
  nameServers: string[];
  topic: string;
  group: string;
  /** Distinct messages to wait for. */
  expected: number;
  followerReads: boolean;
  /** Messages per pull (PushConsumer's pullBatchSize). */
  pullBatchSize: number;
  /** Messages per listener call. */
  consumeBatchSize: number;
  maxSeconds: number;
}

/** What a consume phase measured. */
export interface ConsumePhaseResult {
  /** Distinct messages received. */
  distinct: number;
  /** Deliveries, duplicates included. */
  deliveries: number;
  elapsedS: number;
  msgsPerS: number;
}

/**
 * Runs the phase. The clock starts just before `start()` (which includes the first rebalance and
 * route lookups) and stops when the last distinct message reached the listener; shutdown is not
 * timed. Never throws for a short count: the caller checks `distinct`.
 */
export async function runPushConsumePhase(options: PushConsumePhaseOptions): Promise<ConsumePhaseResult> {
  const seen = new Set<string>();
  let deliveries = 0;
  let finishedAt = 0;
  let signalDone: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (signalDone = resolve));
  const consumer = new PushConsumer({
    nameServers: options.nameServers,
    group: options.group,
    consumeFrom: 'FIRST_OFFSET',
    followerReads: options.followerReads,
    pullBatchSize: options.pullBatchSize,
    consumeBatchSize: options.consumeBatchSize,
    requestTimeoutMs: 10_000,
    listener: (messages) => {
      deliveries += messages.length;
      for (const message of messages) seen.add(message.messageId);
      if (finishedAt === 0 && seen.size >= options.expected) {
        finishedAt = performance.now();
        signalDone();
      }
      return 'SUCCESS';
    },
  }).subscribe(options.topic, '*');
  const start = performance.now();
  let timer: NodeJS.Timeout | undefined;
  let stoppedAt: number;
  try {
    await consumer.start();
    await Promise.race([done, new Promise<void>((resolve) => (timer = setTimeout(resolve, options.maxSeconds * 1000)))]);
  } finally {
    stoppedAt = finishedAt || performance.now();
    clearTimeout(timer);
    await consumer.shutdown();
  }
  const elapsedS = (stoppedAt - start) / 1000;
  return { distinct: seen.size, deliveries, elapsedS, msgsPerS: seen.size / elapsedS };
}
