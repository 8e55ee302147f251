import { expect } from 'chai';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededRandom } from '../../lib/raft/sim/seeded-random.js';
import { flipByte, truncateTail } from './disk-faults.js';
import { cutBetween, ringCuts } from './partition-faults.js';

/** Which nodes `node` can still reach (both directions open) under `cuts`. */
function reachable(nodes: readonly string[], cuts: ReturnType<typeof ringCuts>, node: string): string[] {
  const cut = new Set(cuts.map((c) => `${c.from}>${c.to}`));
  return nodes.filter((other) => other === node || (!cut.has(`${node}>${other}`) && !cut.has(`${other}>${node}`)));
}

describe('nemesis parts', () => {
  it('cuts both directions between two sides and nothing within a side', () => {
    const cuts = cutBetween(['a'], ['b', 'c']);
    expect(cuts).to.have.length(4);
    expect(cuts.some((c) => (c.from === 'b' && c.to === 'c') || (c.from === 'c' && c.to === 'b'))).to.equal(false);
  });

  it('builds a ring in which every node sees a majority but neighbours see different ones', () => {
    for (const n of [5, 7]) {
      const nodes = Array.from({ length: n }, (_, i) => `n${i}`);
      const cuts = ringCuts(nodes);
      const views = nodes.map((node) => reachable(nodes, cuts, node).join(','));
      for (const view of views) expect(view.split(',').length).to.be.greaterThan(n / 2);
      for (let i = 0; i < n; i++) expect(views[i]).to.not.equal(views[(i + 1) % n]);
      expect(cuts.length).to.be.greaterThan(0);
    }
  });

  describe('disk damage', () => {
    let dir: string;
    let segment: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'ledgermq-nemesis-'));
      mkdirSync(join(dir, 'commitlog'));
      segment = join(dir, 'commitlog', '0'.repeat(20));
      writeFileSync(segment, Buffer.concat([Buffer.alloc(1000, 0x41), Buffer.from('p1-234'), Buffer.alloc(1000, 0x42)]));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('truncates the tail of the last segment by at least one byte', () => {
      const before = statSync(segment).size;
      const detail = truncateTail(dir, seededRandom(1));
      expect(statSync(segment).size).to.be.lessThan(before);
      expect(detail).to.match(/^cut \d+ bytes/);
    });

    it('flips exactly one byte inside the record holding the marker', () => {
      const before = readFileSync(segment);
      flipByte(dir, 'p1-234', seededRandom(1));
      const after = readFileSync(segment);
      const changed = [...before.keys()].filter((i) => before[i] !== after[i]);
      expect(changed).to.deep.equal([1003]);
    });
  });
});
