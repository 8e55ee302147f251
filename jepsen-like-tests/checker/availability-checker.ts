/**
 * Availability from a history: windows in which sends kept being tried but none succeeded, the
 * faults active during each, and per fault window the recovery time after healing (fault stop to
 * the first successful send). Informational: never fails a run, but the figures go in the report.
 */
import type { NemesisValue, Operation } from '../history/operation.js';
import type { CheckerResult, FaultWindow, TimelineBucket, UnavailabilityWindow } from '../report/run-summary.js';

/** Shortest gap between successful sends reported as unavailability. */
export const UNAVAILABLE_AFTER_MS = 1_000;

/** Fault windows from the nemesis operations (a start paired with the next stop of the same fault). */
export function faultWindows(history: readonly Operation[]): FaultWindow[] {
  const open = new Map<string, FaultWindow>();
  const windows: FaultWindow[] = [];
  for (const op of history) {
    if (op.kind !== 'nemesis') continue;
    const value = op.value as NemesisValue;
    if (value.phase === 'start') {
      const window: FaultWindow = { fault: value.fault, ...(value.detail === undefined ? {} : { detail: value.detail }), targets: value.targets, startMs: op.timeMs, endMs: null };
      open.set(value.fault, window);
      windows.push(window);
    } else {
      const window = open.get(value.fault);
      if (window) window.endMs = op.timeMs;
      open.delete(value.fault);
    }
  }
  return windows;
}

export function checkAvailability(history: readonly Operation[], endMs: number): { result: CheckerResult; windows: UnavailabilityWindow[] } {
  const faults = faultWindows(history);
  const okTimes = history.filter((op) => op.kind === 'send' && op.type === 'ok').map((op) => op.timeMs);
  const invokeTimes = history.filter((op) => op.kind === 'send' && op.type === 'invoke').map((op) => op.timeMs);
  const lastInvoke = invokeTimes.length === 0 ? 0 : invokeTimes[invokeTimes.length - 1];
  const windows: UnavailabilityWindow[] = [];
  let previous = invokeTimes[0] ?? 0;
  for (const time of [...okTimes, Math.min(endMs, lastInvoke)]) {
    if (time - previous >= UNAVAILABLE_AFTER_MS) windows.push({ startMs: previous, endMs: time, fault: overlappingFaults(faults, previous, time) });
    previous = Math.max(previous, time);
  }
  const recoveries = faults
    .filter((f) => f.endMs !== null)
    .map((f) => {
      const next = okTimes.find((t) => t >= (f.endMs ?? 0));
      return { fault: f.fault, recoveryMs: next === undefined ? null : next - (f.endMs ?? 0) };
    });
  const maxUnavailableMs = Math.max(0, ...windows.map((w) => w.endMs - w.startMs));
  const known = recoveries.filter((r) => r.recoveryMs !== null).map((r) => r.recoveryMs ?? 0);
  const neverRecovered = recoveries.filter((r) => r.recoveryMs === null).length;
  return {
    windows,
    result: {
      name: 'availability',
      valid: true,
      count: windows.length,
      summary: `${windows.length} windows of ≥ ${UNAVAILABLE_AFTER_MS} ms without a successful send, longest ${Math.round(maxUnavailableMs)} ms; recovery after healing max ${Math.round(Math.max(0, ...known))} ms${neverRecovered > 0 ? `, ${neverRecovered} faults never recovered before the end` : ''}`,
      examples: windows.slice(0, 20).map((w) => `${Math.round(w.startMs)}–${Math.round(w.endMs)} ms (${w.fault})`),
      figures: {
        windows: windows.length,
        maxUnavailableMs: Math.round(maxUnavailableMs),
        totalUnavailableMs: Math.round(windows.reduce((sum, w) => sum + w.endMs - w.startMs, 0)),
        maxRecoveryMs: Math.round(Math.max(0, ...known)),
        medianRecoveryMs: Math.round(median(known)),
        neverRecovered,
      },
    },
  };
}

/** Per-bucket counts and send latencies, for the report's charts. */
export function timeline(history: readonly Operation[], endMs: number, bucketMs: number): TimelineBucket[] {
  const count = Math.max(1, Math.ceil(endMs / bucketMs));
  const buckets: TimelineBucket[] = Array.from({ length: count }, (_, i) => ({ startMs: i * bucketMs, sendOk: 0, sendFail: 0, sendInfo: 0, received: 0, sendLatencyP50Ms: null, sendLatencyP99Ms: null, sendLatencyMaxMs: null }));
  const latencies: number[][] = buckets.map(() => []);
  for (const op of history) {
    const i = Math.min(count - 1, Math.floor(op.timeMs / bucketMs));
    if (op.kind === 'send') {
      if (op.type === 'ok') {
        buckets[i].sendOk += 1;
        if (op.latencyMs !== undefined) latencies[i].push(op.latencyMs);
      } else if (op.type === 'fail') buckets[i].sendFail += 1;
      else if (op.type === 'info') buckets[i].sendInfo += 1;
    } else if (op.kind === 'receive' && op.type === 'ok') buckets[i].received += 1;
  }
  latencies.forEach((values, i) => {
    if (values.length === 0) return;
    values.sort((a, b) => a - b);
    buckets[i].sendLatencyP50Ms = round2(quantile(values, 0.5));
    buckets[i].sendLatencyP99Ms = round2(quantile(values, 0.99));
    buckets[i].sendLatencyMaxMs = round2(values[values.length - 1]);
  });
  return buckets;
}

/** The faults active at some time in [startMs, endMs], joined by `+`, or `none`. */
function overlappingFaults(faults: readonly FaultWindow[], startMs: number, endMs: number): string {
  const active = faults.filter((f) => f.startMs <= endMs && (f.endMs === null || f.endMs >= startMs));
  return active.length === 0 ? 'none' : active.map((f) => f.fault).join('+');
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  return quantile([...values].sort((a, b) => a - b), 0.5);
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
