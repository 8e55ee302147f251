/**
 * Prometheus series whose values are read from the process at each scrape (prom-client's
 * `collect` hook), shared by the broker's and the Raft node's metrics.
 */
import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';

interface SampledOptions {
  name: string;
  help: string;
  registers: Registry[];
  labelNames?: string[];
}

/**
 * A gauge set by `read` at each scrape. A labelled gauge starts empty at every scrape, so label
 * sets that `read` no longer sets (a deleted topic, a removed peer) disappear.
 */
export function sampledGauge(options: SampledOptions & { read: (gauge: Gauge) => void | Promise<void> }): Gauge {
  const labelled = (options.labelNames ?? []).length > 0;
  const gauge: Gauge = new Gauge({
    name: options.name, help: options.help, registers: options.registers, labelNames: options.labelNames ?? [],
    collect: async () => {
      if (labelled) gauge.reset();
      await options.read(gauge);
    },
  });
  return gauge;
}

/**
 * A counter following values that only grow (cumulative since the process started), read at each
 * scrape: it moves by the growth since the last scrape. `read` answers one value per label set,
 * or null when there is nothing to read yet.
 */
export function cumulativeCounter(options: SampledOptions & { read: () => Array<{ labels?: Record<string, string>; value: number }> | null }): Counter {
  const last = new Map<string, number>();
  const counter: Counter = new Counter({
    name: options.name, help: options.help, registers: options.registers, labelNames: options.labelNames ?? [],
    collect: () => {
      for (const { labels = {}, value } of options.read() ?? []) {
        const key = JSON.stringify(labels);
        const previous = last.get(key) ?? 0;
        counter.inc(labels, Math.max(0, value - previous));
        last.set(key, Math.max(previous, value));
      }
    },
  });
  return counter;
}
