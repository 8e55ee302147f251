/**
 * The fuzz suite's short run for every `npm test` (issue 8): the corpus of earlier findings
 * (test/fuzz-corpus) replayed, a few hundred Raft core seeds, damaged CommitLog copies, and
 * `FUZZ_CI_SECONDS` (default 40) of random and mutated requests against a real 3-node group with
 * its NameServer/Proxy. `SEED=` replays a run; `make fuzz` runs it longer (test/fuzz/run-fuzz.ts).
 */
import { expect } from 'chai';
import { fuzzRaftCore } from '../lib/fuzz/raft-core-fuzz.js';
import { seedFromEnvironment } from '../lib/fuzz/fuzz-random.js';
import { runClusterFuzz } from './fuzz/cluster-fuzz.js';
import { grpcReplays, loadCorpus, queueFlips } from './fuzz/fuzz-corpus.js';
import { runRecoveryFuzz } from './fuzz/recovery-fuzz.js';
import { startCluster } from './cluster-helpers.js';

describe('fuzz suite (short run)', function () {
  this.timeout(300_000);
  const seed = seedFromEnvironment();
  const corpus = loadCorpus();
  before(() => console.log(`      fuzz SEED=${seed} (replay with SEED=${seed}); corpus: ${corpus.length} cases`));

  it('replays every Raft core and recovery case of the corpus without a finding', async () => {
    for (const entry of corpus) {
      if (entry.kind === 'raft-core') expect(fuzzRaftCore(entry.seed, entry.messages).findings, entry.file).to.deep.equal([]);
      if (entry.kind === 'recovery') expect((await runRecoveryFuzz({ seed: entry.seed, cases: entry.cases })).findings, entry.file).to.deep.equal([]);
    }
  });

  it('Raft core: 300 seeds of random and absurd peer messages', () => {
    const findings = Array.from({ length: 300 }, (_, i) => fuzzRaftCore(seed + i, 300).findings).flat();
    expect(findings.map((f) => `seed ${f.seed} step ${f.step}: ${f.problem}`)).to.deep.equal([]);
  });

  it('CommitLog recovery: 40 damaged copies either refuse to open or never serve a changed record', async () => {
    const report = await runRecoveryFuzz({ seed, cases: 40 });
    console.log(`      recovery: ${JSON.stringify(report.byDamage)} -> ${JSON.stringify(report.outcomes)}`);
    expect(report.findings).to.deep.equal([]);
    expect(report.outcomes.served, 'some records survive every damage').to.be.greaterThan(0);
  });

  it('a 3-node group with its Proxy answers every random, mutated and corpus request, stays up and keeps its data', async () => {
    const cluster = await startCluster({ nodes: 3 });
    try {
      const seconds = Number(process.env.FUZZ_CI_SECONDS ?? 40);
      const report = await runClusterFuzz(
        { seed, durationMs: seconds * 1000, concurrency: 6, deadlineMs: 15_000, damageRounds: 1, log: (line) => console.log(`      ${line}`), replays: grpcReplays(corpus, 3), queueFlips: queueFlips(corpus) },
        cluster,
      );
      console.log(`      ${report.requests} requests: ${JSON.stringify(report.byService)}; outcomes ${JSON.stringify(report.outcomes)}`);
      console.log(`      check messages ${JSON.stringify({ ...report.data, missing: report.data?.missing.length, corrupt: report.data?.corrupt.length })}; ${report.divergence}`);
      expect(report.findings.map((f) => `${f.kind}: ${f.detail}${f.plan ? ` ${JSON.stringify(f.plan)}` : ''}`)).to.deep.equal([]);
      expect(report.requests, 'requests sent').to.be.greaterThan(500);
      expect(report.data?.acknowledged, 'check messages acknowledged').to.be.greaterThan(0);
      for (const service of ['v2', 'broker', 'namesrv', 'raft', 'raw-tcp']) expect(report.byService[service] ?? 0, service).to.be.greaterThan(0);
    } finally {
      await cluster.dispose();
    }
  });
});
