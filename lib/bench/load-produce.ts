/**
 * `ledgermq bench produce`: load against a running cluster with our Producer. `producers`
 * instances share a window of sends in flight; each send carries `batch` messages of `sizeBytes`
 * (their born timestamp lets `bench consume` measure end-to-end latency). Runs
 * until `count` messages or `durationSeconds`, whichever comes first, and reports throughput and
 * send latency (sync send: the broker answers once the batch is committed on a majority).
 */
import { Producer } from '../client/producer.js';
import type { SendBatchingOptions } from '../client/send-batcher.js';
import { LatencyHistogram } from './latency-histogram.js';
import { LoadProgress, reportLoad } from './load-report.js';
import type { LoadCounters, LoadLimits } from './load-report.js';

export interface ProduceLoadOptions extends LoadLimits {
  nameServers: string[];
  topic: string;
  sizeBytes: number;
  producers: number;
  window: number;
  batch: number;
  /** The producers' transparent batching of single sends (`batch` 1), or false for none. */
  batching: SendBatchingOptions | false;
}

/** See the file comment. Exit code 1 when any send failed, else 0. */
export async function runProduceLoad(options: ProduceLoadOptions): Promise<number> {
  const producers = Array.from({ length: options.producers }, () => new Producer({ nameServers: options.nameServers, batching: options.batching }));
  const counters: LoadCounters = { messages: 0, bytes: 0, errors: 0, latency: new LatencyHistogram() };
  const deadline = options.durationSeconds === null ? Infinity : Date.now() + options.durationSeconds * 1000;
  let claimed = 0;
  /** Claims up to `batch` messages of the budget; 0 when the run is over. */
  const claim = (): number => {
    if (Date.now() >= deadline) return 0;
    const take = options.count === null ? options.batch : Math.min(options.batch, options.count - claimed);
    claimed += Math.max(0, take);
    return Math.max(0, take);
  };
  const body = Buffer.alloc(options.sizeBytes, 0x78);
  const progress = new LoadProgress(`produce ${options.topic}`, options, () => counters);
  progress.start();
  try {
    await Promise.all(Array.from({ length: options.window }, async (_, lane) => {
      const producer = producers[lane % producers.length];
      for (let size = claim(); size > 0; size = claim()) {
        const messages = Array.from({ length: size }, () => ({ topic: options.topic, body }));
        const started = process.hrtime.bigint();
        try {
          // Single sends go through send() and its transparent batching; larger ones are explicit batches.
          if (size === 1) await producer.send(messages[0]);
          else await producer.sendBatch(messages);
          counters.latency.record(Number(process.hrtime.bigint() - started) / 1e6);
          counters.messages += size;
          counters.bytes += size * options.sizeBytes;
        } catch {
          counters.errors += size;
          // A failing cluster is not hammered in a tight loop.
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
    }));
  } finally {
    const seconds = progress.stop();
    for (const producer of producers) producer.shutdown();
    const batching = options.batching === false ? 'off' : `linger ${options.batching.lingerMs ?? 0} ms`;
    reportLoad('produce', { topic: options.topic, sizeBytes: options.sizeBytes, producers: options.producers, window: options.window, batch: options.batch, autoBatch: batching }, counters, seconds);
  }
  return counters.errors > 0 ? 1 : 0;
}
