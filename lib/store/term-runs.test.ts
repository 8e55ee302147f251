import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { silentLogger } from '../common/logger.js';
import { CommitLog } from './commit-log.js';
import { EntryType } from './record-format.js';
import { findTermRuns } from './term-runs.js';

/** A log whose terms are given as an array (index 1 = terms[0]), counting reads. */
function arrayLog(terms: number[]): { firstIndex: number; lastIndex: number; reads: number; termAt(index: number): Promise<number> } {
  return {
    firstIndex: 1,
    lastIndex: terms.length,
    reads: 0,
    termAt(index: number) {
      this.reads += 1;
      return Promise.resolve(terms[index - 1]);
    },
  };
}

describe('findTermRuns', () => {
  it('finds where each term starts, with few reads', async () => {
    const terms = [...Array<number>(1000).fill(1), ...Array<number>(1).fill(2), ...Array<number>(5000).fill(5), ...Array<number>(3).fill(6)];
    const log = arrayLog(terms);
    expect(await findTermRuns(log)).to.deep.equal([
      { start: 1, term: 1 },
      { start: 1001, term: 2 },
      { start: 1002, term: 5 },
      { start: 6002, term: 6 },
    ]);
    expect(log.reads).to.be.lessThan(4 * 20);
  });

  it('returns nothing for an empty log and refuses decreasing terms', async () => {
    expect(await findTermRuns(arrayLog([]))).to.deep.equal([]);
    let error: unknown = null;
    await findTermRuns(arrayLog([1, 1, 3, 2, 3])).catch((e: unknown) => (error = e));
    expect(String(error)).to.match(/decrease/);
  });

  it('reads the runs of a real CommitLog across segments', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledgermq-term-runs-'));
    try {
      const log = await CommitLog.open({ dir, segmentSizeBytes: 2048, logger: silentLogger() });
      const terms = [1, 1, 1, 2, 2, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 9];
      await log.append(terms.map((term, i) => ({ term, type: EntryType.MESSAGES, storeTimestampMs: 0, body: Buffer.alloc(100 + i) })));
      await log.flush();
      expect(await findTermRuns(log)).to.deep.equal([
        { start: 1, term: 1 },
        { start: 4, term: 2 },
        { start: 6, term: 4 },
        { start: 21, term: 7 },
        { start: 40, term: 9 },
      ]);
      await log.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
