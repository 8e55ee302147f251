/**
 * `ledgermq bench consume`: `consumers` PushConsumer instances of one group on a running cluster,
 * counting what they receive until `count` messages or `durationSeconds` (whichever first; with a
 * count alone, `maxSeconds` still bounds the run). End-to-end latency is receive time minus the
 * message's born timestamp (set by the producer's client; meaningful when both clocks agree, e.g.
 * on one host, and when consuming as the messages are sent, not a backlog).
 */
import { randomBytes } from 'node:crypto';
import { PushConsumer } from '../client/push-consumer.js';
import type { ConsumeFrom } from '../client/push-consumer.js';
import { LatencyHistogram } from './latency-histogram.js';
import { LoadProgress, reportLoad } from './load-report.js';
import type { LoadCounters, LoadLimits } from './load-report.js';

export interface ConsumeLoadOptions extends LoadLimits {
  nameServers: string[];
  topic: string;
  /** Empty: a new group `bench-<random>`. */
  group: string;
  consumers: number;
  consumeFrom: ConsumeFrom;
  /** Upper bound of a run given by count only. */
  maxSeconds: number;
}

/** See the file comment. Exit code 1 when a count was given and not reached, else 0. */
export async function runConsumeLoad(options: ConsumeLoadOptions): Promise<number> {
  const group = options.group || `bench-${randomBytes(3).toString('hex')}`;
  const counters: LoadCounters = { messages: 0, bytes: 0, errors: 0, latency: new LatencyHistogram() };
  const seconds = options.durationSeconds ?? options.maxSeconds;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const timer = setTimeout(finish, seconds * 1000);
  const consumers = Array.from({ length: options.consumers }, () => new PushConsumer({
    nameServers: options.nameServers,
    group,
    consumeFrom: options.consumeFrom,
    consumeBatchSize: 32,
    listener: (messages) => {
      const now = Date.now();
      for (const message of messages) {
        counters.messages += 1;
        counters.bytes += message.body.length;
        counters.latency.record(now - message.bornTimestampMs);
      }
      if (options.count !== null && counters.messages >= options.count) finish();
      return 'SUCCESS';
    },
  }).subscribe(options.topic));
  const progress = new LoadProgress(`consume ${options.topic} as ${group}`, options, () => counters);
  progress.start();
  try {
    for (const consumer of consumers) await consumer.start();
    await finished;
  } finally {
    clearTimeout(timer);
    const elapsed = progress.stop();
    for (const consumer of consumers) await consumer.shutdown();
    reportLoad('consume', { topic: options.topic, group, consumers: options.consumers, consumeFrom: options.consumeFrom }, counters, elapsed);
  }
  return options.count !== null && counters.messages < options.count ? 1 : 0;
}
