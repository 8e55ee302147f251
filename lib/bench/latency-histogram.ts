/**
 * Latencies in bounded memory for long load runs: logarithmic buckets, each 2% wider than the one
 * before, from 10 µs to 10 min (about 900 buckets whatever the sample count). A percentile is
 * reported as its bucket's upper bound, so it overstates by at most 2%; min and max are exact.
 */

const LOWEST_MS = 0.01;
const HIGHEST_MS = 600_000;
const GROWTH = 1.02;
const BUCKETS = Math.ceil(Math.log(HIGHEST_MS / LOWEST_MS) / Math.log(GROWTH)) + 1;

/** See the file comment. */
export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKETS);
  private total = 0;
  private minMs = Infinity;
  private maxMs = -Infinity;

  record(ms: number): void {
    if (!Number.isFinite(ms)) return;
    const clamped = Math.min(HIGHEST_MS, Math.max(LOWEST_MS, ms));
    this.counts[Math.min(BUCKETS - 1, Math.ceil(Math.log(clamped / LOWEST_MS) / Math.log(GROWTH)))] += 1;
    this.total += 1;
    this.minMs = Math.min(this.minMs, ms);
    this.maxMs = Math.max(this.maxMs, ms);
  }

  /** Adds every sample of `other`. */
  merge(other: LatencyHistogram): void {
    for (let i = 0; i < BUCKETS; i++) this.counts[i] += other.counts[i];
    this.total += other.total;
    this.minMs = Math.min(this.minMs, other.minMs);
    this.maxMs = Math.max(this.maxMs, other.maxMs);
  }

  get count(): number {
    return this.total;
  }

  /** The `p`-th percentile in ms (NaN without samples); `p` 100 is the exact max. */
  percentile(p: number): number {
    if (this.total === 0) return NaN;
    if (p >= 100) return this.maxMs;
    const rank = Math.max(1, Math.ceil((p / 100) * this.total));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i];
      if (seen >= rank) return Math.min(this.maxMs, Math.max(this.minMs, LOWEST_MS * GROWTH ** i));
    }
    return this.maxMs;
  }
}
