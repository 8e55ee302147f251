/**
 * The full matrix (`make jepsen`): every nemesis with both workloads, one bounded run each, then
 * every run's report opened in headless Chromium. Writes `matrix-<time>.json` and prints a table.
 * Runs the ring partition with 5 nodes (with 3 it is no partition at all), and the delay nemesis
 * in proxy mode when the kernel has no `tc netem`.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { checkReportInBrowser } from '../report/check-report-in-browser.js';
import { NEMESIS_NAMES } from '../nemesis/registry.js';
import { netnsUnavailableReason } from '../net/netns-network.js';
import type { ModeChoice } from './create-network.js';
import { runTest, UnsupportedRunError } from './run-test.js';
import type { RunOptions } from './run-test.js';

export interface MatrixRow {
  workload: string;
  nemesis: string;
  seed: number;
  nodes: number;
  mode: string;
  verdict: 'valid' | 'INVALID' | 'unsupported' | 'error';
  reason?: string;
  sends?: number;
  acknowledged?: number;
  lost?: number;
  duplicated?: number;
  reordered?: number;
  maxUnavailableMs?: number;
  report?: string;
  browser?: string;
}

export interface MatrixOptions {
  timeLimitS: number;
  storeDir: string;
  workloads: string[];
  nemeses: string[];
  basePort: number;
  log: (line: string) => void;
}

/** Nemeses of the matrix: all but the smoke cycle. */
export const MATRIX_NEMESES = NEMESIS_NAMES.filter((name) => name !== 'smoke');

export async function runMatrix(options: MatrixOptions): Promise<{ rows: MatrixRow[]; file: string }> {
  const rows: MatrixRow[] = [];
  const netnsMissing = await netnsUnavailableReason();
  let netem: boolean | null = null;
  for (const nemesis of options.nemeses) {
    for (const workload of options.workloads) {
      const seed = Math.floor(Math.random() * 2 ** 31);
      const nodes = nemesis === 'partition-ring' ? 5 : 3;
      if (nemesis === 'packet-delay' && netnsMissing === null && netem === null) netem = await netemWorks().catch(() => false);
      const mode: ModeChoice = nemesis === 'packet-delay' && netem === false ? 'proxy' : 'auto';
      const run: RunOptions = {
        workload,
        nemesis,
        seed,
        nodes,
        mode,
        timeLimitS: options.timeLimitS,
        storeDir: options.storeDir,
        basePort: options.basePort,
        unsafeAckBeforeCommit: false,
        replayCommand: `node dist/jepsen-like-tests/cli.js run --workload ${workload} --nemesis ${nemesis} --time ${options.timeLimitS} --seed ${seed} --mode ${mode} --nodes ${nodes}`,
        log: options.log,
      };
      const row: MatrixRow = { workload, nemesis, seed, nodes, mode, verdict: 'error' };
      try {
        const { summary, runDir } = await runTest(run);
        const figure = (checker: string, key: string): number => Number(summary.checkers.find((c) => c.name === checker)?.figures[key] ?? 0);
        Object.assign(row, {
          mode: summary.mode,
          verdict: summary.valid ? 'valid' : 'INVALID',
          sends: summary.counts.sendInvoked,
          acknowledged: summary.counts.sendOk,
          lost: figure('lost', 'lost'),
          duplicated: figure('duplicated', 'messages'),
          reordered: figure('order', 'reordered'),
          maxUnavailableMs: figure('availability', 'maxUnavailableMs'),
          report: join(runDir, 'report.html'),
        });
        if (!summary.valid) row.reason = summary.checkers.filter((c) => !c.valid).map((c) => `${c.name}: ${c.summary}`).join('; ');
      } catch (error) {
        row.verdict = error instanceof UnsupportedRunError ? 'unsupported' : 'error';
        row.reason = (error as Error).message;
      }
      options.log(`${workload} × ${nemesis}: ${row.verdict}${row.reason ? ` (${row.reason})` : ''}`);
      rows.push(row);
    }
  }
  for (const row of rows.filter((r) => r.report !== undefined)) {
    try {
      const check = await checkReportInBrowser(row.report ?? '');
      row.browser = check.errors.length === 0 && check.seriesPixels.sendOk > 0 ? 'rendered' : `problems: ${check.errors.join('; ') || 'no sendOk line drawn'}`;
    } catch (error) {
      row.browser = `not checked: ${(error as Error).message.split('\n')[0]}`;
    }
  }
  const file = resolve(options.storeDir, `matrix-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(rows, null, 2) + '\n');
  return { rows, file };
}

/** True when the matrix's delay can run in namespaces (probed by a throwaway network). */
async function netemWorks(): Promise<boolean> {
  const { NetnsNetwork } = await import('../net/netns-network.js');
  const probe = await NetnsNetwork.create({ nodeIds: ['n0'], tag: `p${(process.pid % 1000).toString(36)}`, subnetIndex: 250 });
  try {
    return probe.capabilities().delay;
  } finally {
    await probe.close();
  }
}

/** The matrix as a Markdown table (for the terminal and for notes). */
export function matrixTable(rows: readonly MatrixRow[]): string {
  const header = '| workload | nemesis | mode | verdict | sends | acked | lost | dup | reordered | max unavail. ms | report |';
  const lines = rows.map((r) => `| ${r.workload} | ${r.nemesis} | ${r.mode}${r.nodes !== 3 ? ` (${r.nodes} nodes)` : ''} | ${r.verdict}${r.reason ? `: ${r.reason}` : ''} | ${r.sends ?? ''} | ${r.acknowledged ?? ''} | ${r.lost ?? ''} | ${r.duplicated ?? ''} | ${r.reordered ?? ''} | ${r.maxUnavailableMs ?? ''} | ${r.browser ?? ''} |`);
  return [header, '|---|---|---|---|---|---|---|---|---|---|---|', ...lines].join('\n');
}
