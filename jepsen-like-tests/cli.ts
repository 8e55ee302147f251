#!/usr/bin/env node
/**
 * The harness's command line:
 *   node dist/jepsen-like-tests/cli.js run --workload queue --nemesis kill-leader --time 60 [--seed N]
 *   node dist/jepsen-like-tests/cli.js matrix [--time 30]      (every nemesis × every workload)
 * Exits 1 when any run finds lost, unexpected, reordered or diverged messages (or a crash).
 */
import { Command } from 'commander';
import { NEMESIS_NAMES } from './nemesis/registry.js';
import { MATRIX_NEMESES, matrixTable, runMatrix } from './runner/run-matrix.js';
import { runTest } from './runner/run-test.js';
import type { RunOptions } from './runner/run-test.js';
import type { ModeChoice } from './runner/create-network.js';
import { WORKLOADS } from './runner/workloads.js';

interface RunFlags {
  workload: string;
  nemesis: string;
  time: string;
  seed?: string;
  mode: ModeChoice;
  store: string;
  nodes: string;
  basePort: string;
  unsafeAckBeforeCommit?: boolean;
}

function optionsFrom(flags: RunFlags, seed: number): RunOptions {
  const replay = [
    'node dist/jepsen-like-tests/cli.js run',
    `--workload ${flags.workload}`,
    `--nemesis ${flags.nemesis}`,
    `--time ${flags.time}`,
    `--seed ${seed}`,
    `--mode ${flags.mode}`,
    `--nodes ${flags.nodes}`,
    flags.unsafeAckBeforeCommit ? '--unsafe-ack-before-commit' : '',
  ].filter(Boolean);
  return {
    workload: flags.workload,
    nemesis: flags.nemesis,
    seed,
    timeLimitS: Number(flags.time),
    mode: flags.mode,
    storeDir: flags.store,
    nodes: Number(flags.nodes),
    basePort: Number(flags.basePort),
    unsafeAckBeforeCommit: flags.unsafeAckBeforeCommit === true,
    replayCommand: replay.join(' '),
    log: (line) => console.log(`[jepsen] ${line}`),
  };
}

const program = new Command();
program.name('jepsen-like-tests').description('LedgerMQ fault-injection harness');

program
  .command('run')
  .description('one workload under one nemesis')
  .option('--workload <name>', `workload: ${Object.keys(WORKLOADS).join(', ')}`, 'queue')
  .option('--nemesis <name>', `nemesis: none, ${NEMESIS_NAMES.join(', ')}`, 'smoke')
  .option('--time <seconds>', 'seconds of workload under faults', '60')
  .option('--seed <n>', 'seed (default: random, printed)')
  .option('--mode <mode>', 'auto | netns | proxy', 'auto')
  .option('--store <dir>', 'folder for run folders', 'jepsen-like-tests/store')
  .option('--nodes <n>', 'nodes in the broker group', '3')
  .option('--base-port <port>', 'proxy mode: first port', String(23000 + (process.pid % 40) * 200))
  .option('--unsafe-ack-before-commit', 'TEST ONLY: brokers acknowledge before commit; the checkers must report losses')
  .action(async (flags: RunFlags) => {
    const seed = flags.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(flags.seed);
    const { summary, runDir } = await runTest(optionsFrom(flags, seed));
    printVerdict(summary, runDir);
    process.exit(summary.valid ? 0 : 1);
  });

program
  .command('matrix')
  .description('every nemesis with every workload, bounded runs, reports checked in headless Chromium')
  .option('--time <seconds>', 'seconds of workload under faults per run', '30')
  .option('--store <dir>', 'folder for run folders', 'jepsen-like-tests/store')
  .option('--workloads <list>', 'comma-separated workloads', Object.keys(WORKLOADS).join(','))
  .option('--nemeses <list>', 'comma-separated nemeses', MATRIX_NEMESES.join(','))
  .option('--base-port <port>', 'proxy mode: first port', String(23000 + (process.pid % 40) * 200))
  .action(async (flags: { time: string; store: string; workloads: string; nemeses: string; basePort: string }) => {
    const { rows, file } = await runMatrix({
      timeLimitS: Number(flags.time),
      storeDir: flags.store,
      workloads: flags.workloads.split(','),
      nemeses: flags.nemeses.split(','),
      basePort: Number(flags.basePort),
      log: (line) => console.log(`[jepsen] ${line}`),
    });
    console.log(matrixTable(rows));
    console.log(`[jepsen] matrix written to ${file}`);
    const bad = rows.filter((r) => r.verdict === 'INVALID' || r.verdict === 'error' || (r.browser !== undefined && r.browser !== 'rendered'));
    process.exit(bad.length === 0 ? 0 : 1);
  });

function printVerdict(summary: Awaited<ReturnType<typeof runTest>>['summary'], runDir: string): void {
  console.log(`[jepsen] ${summary.name} seed ${summary.seed} (${summary.mode}): ${summary.valid ? 'VALID' : 'INVALID'}`);
  console.log(`[jepsen]   sends ${summary.counts.sendInvoked} (ok ${summary.counts.sendOk}, unknown ${summary.counts.sendInfo}, failed ${summary.counts.sendFail}); deliveries ${summary.counts.received} (${summary.counts.receivedDistinct} distinct)`);
  for (const checker of summary.checkers) console.log(`[jepsen]   ${checker.valid ? 'ok ' : 'BAD'} ${checker.name}: ${checker.summary}`);
  console.log(`[jepsen]   report ${runDir}/report.html`);
  if (!summary.valid) console.log(`[jepsen]   replay: ${summary.replayCommand}`);
}

program.parseAsync().catch((error: unknown) => {
  console.error(error);
  process.exit(2);
});
