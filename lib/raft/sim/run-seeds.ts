/**
 * `make sim SEEDS=N [FIRST=S] [NODES=3]`: runs the randomized Raft simulation over many seeds and
 * prints each failing seed with its violations (replay one with `SEED=S make sim`). Exits 1 on any
 * violation.
 */
import { runSimulation } from './simulation.js';

const env = process.env;
const first = Number(env.SEED ?? env.FIRST ?? 1);
const count = env.SEED !== undefined ? 1 : Number(env.SEEDS ?? 10_000);
const nodes = Number(env.NODES ?? 3);
const startedAt = Date.now();
let failed = 0;
let acknowledged = 0;
let installs = 0;
for (let seed = first; seed < first + count; seed += 1) {
  const result = runSimulation(seed, { nodes });
  acknowledged += result.stats.acknowledged;
  installs += result.stats.installs;
  if (result.violations.length > 0) {
    failed += 1;
    console.log(`FAIL seed ${seed} (replay: SEED=${seed} NODES=${nodes} make sim)\n  ${result.violations.join('\n  ')}`);
  }
  if (count === 1) console.log(JSON.stringify(result.stats));
}
const seconds = (Date.now() - startedAt) / 1000;
console.log(`${count} seeds from ${first}, ${nodes} nodes: ${failed} failing, ${acknowledged} acknowledged proposals checked, ${installs} installs, ${seconds.toFixed(1)} s`);
process.exitCode = failed > 0 ? 1 : 0;
