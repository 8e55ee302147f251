/**
 * `make fuzz`: the fuzz suite for `FUZZ_SECONDS` (default 300) of cluster fuzzing with `SEED` (or a
 * fresh seed, printed), after the Raft core fuzz (`FUZZ_CORE_SEEDS` seeds, default 20,000) and the
 * store recovery fuzz (`FUZZ_RECOVERY_CASES`, default 200). Prints the counts and findings, and a
 * JSON line; exits 1 on any finding.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalCluster } from '../../lib/cluster/local-cluster.js';
import { fuzzRaftCore } from '../../lib/fuzz/raft-core-fuzz.js';
import { seedFromEnvironment } from '../../lib/fuzz/fuzz-random.js';
import { runClusterFuzz } from './cluster-fuzz.js';
import { grpcReplays, loadCorpus, queueFlips } from './fuzz-corpus.js';
import { runRecoveryFuzz } from './recovery-fuzz.js';

function envNumber(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number`);
  return value;
}

async function main(): Promise<void> {
  const seed = seedFromEnvironment();
  const seconds = envNumber('FUZZ_SECONDS', 300);
  console.log(`fuzz: SEED=${seed} FUZZ_SECONDS=${seconds}`);
  const problems: string[] = [];

  const coreSeeds = envNumber('FUZZ_CORE_SEEDS', 20_000);
  let coreMessages = 0;
  for (let i = 0; i < coreSeeds; i += 1) {
    const result = fuzzRaftCore(seed + i);
    coreMessages += result.messages;
    for (const finding of result.findings) problems.push(`raft core seed ${finding.seed} step ${finding.step}: ${finding.problem}`);
  }
  console.log(`raft core: ${coreSeeds} seeds, ${coreMessages} messages stepped`);

  const recovery = await runRecoveryFuzz({ seed, cases: envNumber('FUZZ_RECOVERY_CASES', 200) });
  console.log(`store recovery: ${recovery.cases} damaged copies (${Object.entries(recovery.byDamage).map(([k, v]) => `${k} ${v}`).join(', ')}); outcomes ${JSON.stringify(recovery.outcomes)}`);
  problems.push(...recovery.findings);

  const dir = mkdtempSync(join(tmpdir(), 'ledgermq-fuzz-'));
  const cluster = new LocalCluster({ dir, basePort: envNumber('FUZZ_BASE_PORT', 27000), nodes: 3 });
  await cluster.start(60_000);
  const report = await runClusterFuzz(
    { seed, durationMs: seconds * 1000, concurrency: envNumber('FUZZ_CONCURRENCY', 8), deadlineMs: 15_000, damageRounds: envNumber('FUZZ_DAMAGE_ROUNDS', 4), log: (line) => console.log(line), replays: grpcReplays(loadCorpus(), 3), queueFlips: queueFlips(loadCorpus()) },
    cluster,
  );
  if (report.findings.length > 0 || process.env.LEDGERMQ_KEEP_TEST_DIRS) console.log(`fuzz: cluster data and logs kept in ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
  console.log(`cluster: ${report.requests} requests in ${Math.round(report.elapsedMs / 1000)} s`);
  for (const [service, count] of Object.entries(report.byService)) console.log(`  ${service}: ${count}`);
  console.log('  by outcome (gRPC status / status code in the answer):');
  for (const [outcome, count] of Object.entries(report.outcomes).sort((a, b) => b[1] - a[1])) console.log(`    ${outcome}: ${count}`);
  if (process.env.FUZZ_VERBOSE) for (const [key, count] of Object.entries(report.methodOutcomes).sort()) console.log(`    ${key}: ${count}`);
  console.log(`  check messages: ${JSON.stringify({ ...report.data, missing: report.data?.missing.length, corrupt: report.data?.corrupt.length })}`);
  for (const round of report.damage) console.log(`  damage ${round.node} ${round.signal} ${round.damage.join(', ')}: ${round.start}`);
  console.log(`  committed logs: ${report.divergence}`);
  for (const finding of report.findings) problems.push(`cluster ${finding.kind}: ${finding.detail}${finding.plan ? `\n    request: ${JSON.stringify(finding.plan)}` : ''}`);
  console.log(problems.length === 0 ? 'fuzz: no findings' : `fuzz: ${problems.length} findings (SEED=${seed}):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  console.log(JSON.stringify({ seed, coreSeeds, coreMessages, recoveryCases: recovery.cases, requests: report.requests, byService: report.byService, outcomes: report.outcomes, findings: problems.length }));
  process.exitCode = problems.length === 0 ? 0 : 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
