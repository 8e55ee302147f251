/**
 * Progress and results of `ledgermq bench produce | consume`: a live progress bar on a terminal
 * (cli-progress; a plain line per second otherwise, e.g. in CI logs), then a summary table and one
 * JSON line on stdout for scripts. Progress goes to stderr, so stdout stays table + JSON.
 */
import { SingleBar } from 'cli-progress';
import { renderTable } from '../common/text-table.js';
import type { LatencyHistogram } from './latency-histogram.js';

/** What a run has done so far (read once a second). */
export interface LoadCounters {
  messages: number;
  bytes: number;
  errors: number;
  latency: LatencyHistogram;
}

/** How a run ends: after `count` messages, after `durationSeconds`, whichever comes first. */
export interface LoadLimits {
  count: number | null;
  durationSeconds: number | null;
}

const round = (value: number, digits = 2): number => (Number.isFinite(value) ? Number(value.toFixed(digits)) : NaN);

/** See the file comment. */
export class LoadProgress {
  private readonly startedMs = Date.now();
  private readonly bar: SingleBar | null;
  private timer: NodeJS.Timeout | undefined;
  private lastMessages = 0;

  constructor(
    private readonly label: string,
    private readonly limits: LoadLimits,
    private readonly counters: () => LoadCounters,
  ) {
    this.bar = process.stderr.isTTY
      ? new SingleBar({ stream: process.stderr, format: `${label} |{bar}| {percentage}% | {messages} msgs | {rate} msg/s | p99 {p99} ms | errors {errors}`, hideCursor: true })
      : null;
  }

  start(): void {
    this.bar?.start(this.total(), 0, { messages: 0, rate: 0, p99: '-', errors: 0 });
    this.timer = setInterval(() => this.tick(), 1_000);
  }

  /** Stops the display; returns the run's wall time in seconds. */
  stop(): number {
    clearInterval(this.timer);
    this.tick();
    this.bar?.stop();
    return (Date.now() - this.startedMs) / 1000;
  }

  private total(): number {
    return this.limits.count ?? this.limits.durationSeconds ?? 1;
  }

  private tick(): void {
    const now = this.counters();
    const rate = now.messages - this.lastMessages;
    this.lastMessages = now.messages;
    const elapsed = (Date.now() - this.startedMs) / 1000;
    const p99 = now.latency.count > 0 ? round(now.latency.percentile(99)) : '-';
    if (this.bar) {
      const value = this.limits.count !== null ? now.messages : Math.min(elapsed, this.total());
      this.bar.update(value, { messages: now.messages, rate, p99, errors: now.errors });
    } else {
      process.stderr.write(`${this.label} ${elapsed.toFixed(0)}s: ${now.messages} msgs, ${rate} msg/s, p99 ${p99} ms, errors ${now.errors}\n`);
    }
  }
}

/** Prints the summary table and the JSON line; returns the JSON document. */
export function reportLoad(kind: 'produce' | 'consume', settings: Record<string, unknown>, counters: LoadCounters, seconds: number): Record<string, unknown> {
  const { latency } = counters;
  const result = {
    bench: kind,
    ...settings,
    messages: counters.messages,
    errors: counters.errors,
    seconds: round(seconds, 3),
    messagesPerSecond: round(counters.messages / seconds, 1),
    megabytesPerSecond: round(counters.bytes / seconds / (1024 * 1024), 3),
    latencyMs: { p50: round(latency.percentile(50), 3), p90: round(latency.percentile(90), 3), p99: round(latency.percentile(99), 3), p999: round(latency.percentile(99.9), 3), max: round(latency.percentile(100), 3) },
  };
  const latencyLabel = kind === 'produce' ? 'send latency (ms)' : 'end-to-end latency (ms)';
  console.log(renderTable(['FIGURE', 'VALUE'], [
    ['messages', result.messages],
    ['errors', result.errors],
    ['seconds', result.seconds],
    ['messages/s', result.messagesPerSecond],
    ['MiB/s', result.megabytesPerSecond],
    [`${latencyLabel} p50 / p90`, `${result.latencyMs.p50} / ${result.latencyMs.p90}`],
    [`${latencyLabel} p99 / p99.9 / max`, `${result.latencyMs.p99} / ${result.latencyMs.p999} / ${result.latencyMs.max}`],
  ]));
  console.log(JSON.stringify(result));
  return result;
}
