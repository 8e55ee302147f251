/**
 * Figures of `ledgermq bench consume-compare` and how they are printed: one line per phase, a summary table
 * of medians, per-run ratios, and one JSON line with everything.
 */
import type { BenchEnvironment } from './bench-environment.js';
import type { ServedByRole } from './node-metrics.js';
import type { ConsumePhaseResult } from './push-consume-phase.js';
import { median } from './statistics.js';
import { formatNumber, renderTable } from '../common/text-table.js';

/** (a) our PushConsumer with follower reads, (b) without, (c) the official SimpleConsumer via the Proxy. */
export type PhaseName = 'push-follower-on' | 'push-follower-off' | 'official-simple';

/** What one phase of one run measured. */
export interface PhaseFigures extends ConsumePhaseResult {
  run: number;
  phase: PhaseName;
  group: string;
  /** Body megabytes (10^6 bytes) per second. */
  mbPerS: number;
  /** Pull messages each node served during the phase, by the role it had (pop deliveries are not counted here). */
  servedByNode: Record<string, ServedByRole>;
}

/** Everything the benchmark measured. */
export interface ConsumeBenchFigures {
  options: { count: number; sizeBytes: number; runs: number };
  environment: BenchEnvironment;
  leaderId: string;
  backlog: { stored: number; elapsedS: number; msgsPerS: number };
  phases: PhaseFigures[];
}

const LABELS: Record<PhaseName, string> = {
  'push-follower-on': '(a) PushConsumer, follower reads on',
  'push-follower-off': '(b) PushConsumer, follower reads off',
  'official-simple': '(c) official SimpleConsumer via Proxy',
};

/** Messages all nodes served as followers, and as leaders, during a phase. */
export function servedTotals(figures: PhaseFigures): ServedByRole {
  const nodes = Object.values(figures.servedByNode);
  return { leader: nodes.reduce((sum, n) => sum + n.leader, 0), follower: nodes.reduce((sum, n) => sum + n.follower, 0) };
}

/** One progress line for a finished phase. */
export function phaseLine(figures: PhaseFigures, expected: number): string {
  const served = Object.entries(figures.servedByNode).map(([id, s]) => `${id} leader ${s.leader} follower ${s.follower}`).join('; ');
  const short = figures.distinct < expected ? ` SHORT: ${expected - figures.distinct} missing` : '';
  return `run ${figures.run} ${LABELS[figures.phase]}: ${formatNumber(figures.distinct)}/${formatNumber(expected)} distinct (${formatNumber(figures.deliveries)} deliveries) in ${formatNumber(figures.elapsedS, 2)} s = ` +
    `${formatNumber(figures.msgsPerS)} msgs/s, ${formatNumber(figures.mbPerS, 1)} MB/s; pull served: ${served}${short}`;
}

/** Per-run throughput ratios: on vs official, off vs official, on vs off. */
function runRatios(phases: readonly PhaseFigures[], run: number): { onVsOfficial: number; offVsOfficial: number; onVsOff: number } {
  const rate = (phase: PhaseName): number => phases.find((p) => p.run === run && p.phase === phase)?.msgsPerS ?? NaN;
  return {
    onVsOfficial: rate('push-follower-on') / rate('official-simple'),
    offVsOfficial: rate('push-follower-off') / rate('official-simple'),
    onVsOff: rate('push-follower-on') / rate('push-follower-off'),
  };
}

/** The summary text, the JSON document, and the reasons the benchmark failed (empty when it did not). */
export function consumeReport(figures: ConsumeBenchFigures): { text: string; json: Record<string, unknown>; failures: string[] } {
  const { count } = figures.options;
  const failures: string[] = [];
  const summary: Record<string, unknown> = {};
  const rows: string[][] = [];
  for (const phase of Object.keys(LABELS) as PhaseName[]) {
    const runs = figures.phases.filter((p) => p.phase === phase);
    for (const p of runs) if (p.distinct < count) failures.push(`${phase} run ${p.run}: ${p.distinct} of ${count} messages`);
    const totals = runs.map(servedTotals);
    if (phase === 'push-follower-on') for (const [i, t] of totals.entries()) if (t.follower === 0) failures.push(`${phase} run ${runs[i].run}: no message served by a follower`);
    const medians = {
      msgsPerS: median(runs.map((p) => p.msgsPerS)),
      mbPerS: median(runs.map((p) => p.mbPerS)),
      elapsedS: median(runs.map((p) => p.elapsedS)),
      minDistinct: Math.min(...runs.map((p) => p.distinct)),
      leaderServed: median(totals.map((t) => t.leader)),
      followerServed: median(totals.map((t) => t.follower)),
    };
    summary[phase] = medians;
    rows.push([
      LABELS[phase], formatNumber(medians.msgsPerS), formatNumber(medians.mbPerS, 1), formatNumber(medians.elapsedS, 2),
      `${formatNumber(medians.minDistinct)}/${formatNumber(count)}`, phase === 'official-simple' ? 'n/a (pop)' : formatNumber(medians.leaderServed), phase === 'official-simple' ? 'n/a (pop)' : formatNumber(medians.followerServed),
    ]);
  }
  const ratios = Array.from({ length: figures.options.runs }, (_, i) => ({ run: i + 1, ...runRatios(figures.phases, i + 1) }));
  const ratioMedians = {
    onVsOfficial: median(ratios.map((r) => r.onVsOfficial)),
    offVsOfficial: median(ratios.map((r) => r.offVsOfficial)),
    onVsOff: median(ratios.map((r) => r.onVsOff)),
  };
  const ratioRows = [...ratios.map((r) => [`run ${r.run}`, ...[r.onVsOfficial, r.offVsOfficial, r.onVsOff].map((x) => `${formatNumber(x, 2)}x`)]),
    ['median', ...[ratioMedians.onVsOfficial, ratioMedians.offVsOfficial, ratioMedians.onVsOff].map((x) => `${formatNumber(x, 2)}x`)]];
  const text = [
    '',
    `medians over ${figures.options.runs} run(s), ${formatNumber(count)} x ${figures.options.sizeBytes} B (MB = 10^6 body bytes; pull served = messages over all nodes, from /metrics deltas):`,
    renderTable(['phase', 'msgs/s', 'MB/s', 'elapsed s', 'received', 'leader served', 'follower served'], rows),
    '',
    'throughput ratios in the same run (higher is faster for the first):',
    renderTable(['', '(a)/(c) on vs official', '(b)/(c) off vs official', '(a)/(b) on vs off'], ratioRows),
    failures.length > 0 ? `\nFAILED: ${failures.join('; ')}` : '',
  ].join('\n');
  const json = { bench: 'consume', ...figures, summary, ratios, ratioMedians, ok: failures.length === 0, failures };
  return { text, json, failures };
}
