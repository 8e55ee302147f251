/**
 * Scripted Raft scenarios: each `testdata/NAME.script` runs through the trace harness and its trace
 * must equal the checked-in `testdata/NAME.trace`. After an intended behaviour change, regenerate
 * with `UPDATE_TRACES=1 make test` and review the diff like code.
 */
import { expect } from 'chai';
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runTraceScript } from './trace-harness.js';

// Tests run from dist/; the scripts stay in the source tree.
const TESTDATA = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../lib/raft/sim/testdata');

describe('raft scripted traces', () => {
  const scripts = readdirSync(TESTDATA).filter((name) => name.endsWith('.script')).sort();

  it('has scripts to run', () => {
    expect(scripts.length).to.be.greaterThan(0);
  });

  for (const script of scripts) {
    it(script.replace(/\.script$/, ''), () => {
      const trace = runTraceScript(readFileSync(join(TESTDATA, script), 'utf8'));
      const expectedFile = join(TESTDATA, script.replace(/\.script$/, '.trace'));
      if (process.env.UPDATE_TRACES) writeFileSync(expectedFile, trace);
      expect(existsSync(expectedFile), `${expectedFile} is missing (UPDATE_TRACES=1 writes it)`).to.equal(true);
      expect(trace).to.equal(readFileSync(expectedFile, 'utf8'));
    });
  }
});
