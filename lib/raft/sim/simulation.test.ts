/**
 * Randomized Raft simulation over many seeds (see simulation.ts for the invariants). CI runs
 * RAFT_SIM_SEEDS seeds (default 500) of a 3-node group and a fifth as many of a 5-node group;
 * `make sim SEEDS=N` runs many more and `SEED=N make sim` replays one.
 */
import { expect } from 'chai';
import { runSimulation } from './simulation.js';

describe('raft simulation', function () {
  this.timeout(600_000);

  for (const nodes of [3, 5]) {
    it(`keeps every invariant of a ${nodes}-node group under partitions, loss, delay, duplication and crashes`, () => {
      const count = Math.ceil(Number(process.env.RAFT_SIM_SEEDS ?? 500) / (nodes === 3 ? 1 : 5));
      checkSeeds(nodes, count);
    });
  }

  it('finds lost committed entries when a wiped node votes at once (the catch-up mode is what prevents them)', () => {
    let failing = 0;
    for (let seed = 1; seed <= 300 && failing === 0; seed += 1) {
      if (runSimulation(seed, { catchUpAfterWipe: false }).violations.length > 0) failing += 1;
    }
    expect(failing, 'wiped nodes voting at once never broke an invariant: the wipe fault tests nothing').to.be.greaterThan(0);
  });

  function checkSeeds(nodes: number, count: number): void {
    const failures: string[] = [];
    let acknowledged = 0;
    let installs = 0;
    for (let seed = 1; seed <= count; seed += 1) {
      const result = runSimulation(seed, { nodes });
      acknowledged += result.stats.acknowledged;
      installs += result.stats.installs;
      if (result.violations.length > 0) failures.push(`seed ${seed} (replay: SEED=${seed} NODES=${nodes} make sim):\n  ${result.violations.join('\n  ')}`);
    }
    expect(failures, failures.join('\n')).to.deep.equal([]);
    expect(acknowledged, 'the simulation acknowledged almost nothing: it tests nothing').to.be.greaterThan(count * 50);
    expect(installs, 'no leader ever streamed a far-behind peer: installs are not exercised').to.be.greaterThan(count);
  }
});
