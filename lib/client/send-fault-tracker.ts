/**
 * Latency-based avoidance of slow or failing broker groups for sends (RocketMQ's
 * LatencyFaultTolerance / MQFaultStrategy): after a send to a group took long or failed, the
 * group is avoided for a while, longer the slower it was. When every group is avoided, the one
 * that becomes available soonest is used anyway.
 */

/** Send latency thresholds (ms) and how long each makes a group avoided (RocketMQ's defaults). */
const LATENCY_STEPS_MS = [50, 100, 550, 1_000, 2_000, 3_000, 15_000];
const AVOID_FOR_MS = [0, 0, 30_000, 60_000, 120_000, 180_000, 600_000];
/**
 * A failed send avoids its group this long. RocketMQ isolates a failed broker for 10 minutes; a
 * LedgerMQ group elects a new leader within a second, so a short pause is enough.
 */
const FAILURE_AVOID_MS = 5_000;

export class SendFaultTracker {
  private readonly avoidedUntil = new Map<string, number>();

  constructor(private readonly clock: () => number = Date.now) {}

  /** Records a send to `group` that took `latencyMs` (or failed). */
  record(group: string, latencyMs: number, failed: boolean): void {
    let avoidFor = failed ? FAILURE_AVOID_MS : 0;
    for (let i = LATENCY_STEPS_MS.length - 1; i >= 0 && !failed; i--) {
      if (latencyMs >= LATENCY_STEPS_MS[i]) {
        avoidFor = AVOID_FOR_MS[i];
        break;
      }
    }
    if (avoidFor === 0) this.avoidedUntil.delete(group);
    else this.avoidedUntil.set(group, this.clock() + avoidFor);
  }

  isAvailable(group: string): boolean {
    const until = this.avoidedUntil.get(group);
    return until === undefined || until <= this.clock();
  }

  /** Of `groups`, the one avoided for the shortest time left. */
  leastAvoided(groups: readonly string[]): string | undefined {
    let best: string | undefined;
    let bestUntil = Number.POSITIVE_INFINITY;
    for (const group of groups) {
      const until = this.avoidedUntil.get(group) ?? 0;
      if (until < bestUntil) {
        best = group;
        bestUntil = until;
      }
    }
    return best;
  }
}
