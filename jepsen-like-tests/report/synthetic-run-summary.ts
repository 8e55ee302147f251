/**
 * A deterministic, made-up {@link RunSummary} for the report's tests: a 60 s run in 500 ms buckets
 * with three fault windows, one unavailability window, one failing checker, and hostile strings
 * (`<script>`, `&`, quotes) in every kind of text field to prove escaping.
 */
import type { RunSummary, TimelineBucket } from './run-summary.js';

/** The text planted in the summary's strings; it must never reach the HTML unescaped. */
export const HOSTILE_TEXT = `<script>alert("pwned & 'owned'")</script>`;

const BUCKET_MS = 500;
/** The kill fault: nothing succeeds from 28.5 s to 31.5 s. */
const UNAVAILABLE = { startMs: 28_500, endMs: 31_500 } as const;
const PARTITION = { startMs: 10_000, endMs: 20_000 } as const;

/**
 * Builds the synthetic summary. With `bucketCount: 0` the timeline is empty but every other field
 * (faults included) is the same, so a chart check can compare "data drawn" with "no data drawn".
 * @param options.bucketCount timeline buckets of 500 ms (default 120, i.e. 60 s)
 */
export function buildSyntheticRunSummary(options: { bucketCount?: number } = {}): RunSummary {
  const bucketCount = options.bucketCount ?? 120;
  const buckets: TimelineBucket[] = [];
  for (let index = 0; index < bucketCount; index += 1) buckets.push(syntheticBucket(index * BUCKET_MS));
  const sum = (field: 'sendOk' | 'sendFail' | 'sendInfo' | 'received'): number => buckets.reduce((total, bucket) => total + bucket[field], 0);
  const sendOk = sum('sendOk');
  const sendFail = sum('sendFail');
  const sendInfo = sum('sendInfo');
  return {
    name: `queue-partition${HOSTILE_TEXT}`,
    workload: 'queue',
    nemesis: 'partition,kill,pause',
    seed: 424242,
    mode: 'proxy',
    modeReason: `not root: no network namespaces ${HOSTILE_TEXT}`,
    unsupported: [`clock-skew: needs CAP_SYS_TIME ${HOSTILE_TEXT}`],
    replayCommand: `SEED=424242 make jepsen WORKLOAD=queue NEMESIS='partition,kill,pause' NAME="${HOSTILE_TEXT}" && echo done`,
    startedAtIso: '2025-01-02T03:04:05.678Z',
    durationMs: 60_000,
    valid: false,
    counts: { sendInvoked: sendOk + sendFail + sendInfo, sendOk, sendFail, sendInfo, received: sum('received'), receivedDistinct: sendOk - 3 },
    checkers: [
      {
        name: 'lost',
        valid: false,
        summary: `3 acknowledged messages never delivered ${HOSTILE_TEXT}`,
        count: 3,
        examples: ['msg-1041 (acked at 29.1 s)', `msg-1042 ${HOSTILE_TEXT}`, 'msg-1043'],
        figures: { acknowledged: sendOk, lost: 3, [`key${HOSTILE_TEXT}`]: `value${HOSTILE_TEXT}` },
      },
      { name: 'unexpected', valid: true, summary: 'no message delivered that was never sent', count: 0, examples: [], figures: {} },
      { name: 'duplicated', valid: true, summary: '12 redeliveries (allowed: at-least-once)', count: 12, examples: ['msg-7 x2'], figures: { rate: 0.0012 } },
      { name: 'availability', valid: true, summary: 'longest unavailability 3.0 s', count: 1, examples: [], figures: { longestMs: 3000 } },
    ],
    faults: [
      { fault: 'partition', targets: ['n1', `n2${HOSTILE_TEXT}`], startMs: PARTITION.startMs, endMs: PARTITION.endMs },
      { fault: 'kill', targets: ['n1'], startMs: 28_000, endMs: 34_000 },
      { fault: 'pause', targets: ['n3'], startMs: 45_000, endMs: 52_000 },
    ],
    unavailability: [{ ...UNAVAILABLE, fault: 'kill' }],
    timeline: { bucketMs: BUCKET_MS, buckets },
  };
}

/** A smooth, made-up load: about 200 sends per bucket, failures in the partition, none while unavailable. */
function syntheticBucket(startMs: number): TimelineBucket {
  const isUnavailable = startMs >= UNAVAILABLE.startMs && startMs < UNAVAILABLE.endMs;
  const isPartitioned = startMs >= PARTITION.startMs && startMs < PARTITION.endMs;
  const wave = Math.sin(startMs / 3000);
  if (isUnavailable) {
    return { startMs, sendOk: 0, sendFail: 4, sendInfo: 30, received: 0, sendLatencyP50Ms: null, sendLatencyP99Ms: null, sendLatencyMaxMs: null };
  }
  const sendOk = Math.round((isPartitioned ? 120 : 200) + 30 * wave);
  const p50 = (isPartitioned ? 12 : 3) + wave;
  return {
    startMs,
    sendOk,
    sendFail: isPartitioned ? 25 + Math.round(10 * wave) : 0,
    sendInfo: isPartitioned ? 6 : 1,
    received: Math.max(0, sendOk - 10 + Math.round(20 * Math.cos(startMs / 2000))),
    sendLatencyP50Ms: p50,
    sendLatencyP99Ms: p50 * 8,
    sendLatencyMaxMs: p50 * 40,
  };
}
