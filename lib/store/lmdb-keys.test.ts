/**
 * Keys of long names come back from LMDB as arrays (lib/store/lmdb-keys.ts). Found by the fuzz
 * suite (`make fuzz` SEED=777): a consumer group's progress on a 127-character topic made every
 * later start of the node throw `key.split is not a function`.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keyText } from './lmdb-keys.js';
import { MetaStore, inflightKey } from './meta-store.js';

describe('MetaStore keys of long names', () => {
  it('reads progress, inflight and fence keys back as the strings written, however long', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ledgermq-meta-keys-'));
    try {
      const queueKey = `FuzzGroup\u0000${'x'.repeat(127)}\u00003`;
      const fenceKey = `topic\u0000${'y'.repeat(127)}`;
      let store = MetaStore.open(dir);
      await store.write({
        applied: { index: 1, nextPosition: 100 }, topics: [], groups: [], progress: [{ key: queueKey, value: { ackOffset: 4, popOffset: 5 } }],
        inflightPut: [{ key: inflightKey(queueKey, 4), value: { visibleAtMs: 1, attempts: 1, handleSeq: 1 } }], inflightDelete: [], topicsDelete: [], groupsDelete: [], progressDelete: [],
        fences: [{ key: fenceKey, intervals: [{ from: 0, to: 3 }] }], aclPut: [], aclDelete: [],
      });
      await store.close();
      store = MetaStore.open(dir);
      expect(store.progress().map((p) => p.key)).to.deep.equal([queueKey]);
      expect(store.inflight().map((i) => [i.queueKey, i.offset])).to.deep.equal([[queueKey, 4]]);
      expect(store.fences().map((f) => f.key)).to.deep.equal([fenceKey]);
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('joins array keys with NUL and leaves strings alone', () => {
    expect(keyText(['g', 't', '3'])).to.equal('g\u0000t\u00003');
    expect(keyText('g\u0000t\u00003')).to.equal('g\u0000t\u00003');
  });
});
