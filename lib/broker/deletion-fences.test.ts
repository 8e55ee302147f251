import { expect } from 'chai';
import { DeletionFences } from './deletion-fences.js';

describe('DeletionFences', () => {
  it('marks the entries between a delete and the next create dead, whatever the apply order', () => {
    const fences = new DeletionFences();
    expect(fences.deadAt('topic', 'T', 100)).to.equal(false);
    fences.deleted('topic', 'T', 105);
    expect(fences.deadAt('topic', 'T', 104)).to.equal(false);
    expect(fences.deadAt('topic', 'T', 106)).to.equal(true);
    expect(fences.deadAt('group', 'T', 106), 'kinds are apart').to.equal(false);
    fences.created('topic', 'T', 110);
    // A replay that already knows the re-create decides as the first run did.
    expect(fences.deadAt('topic', 'T', 106)).to.equal(true);
    expect(fences.deadAt('topic', 'T', 110)).to.equal(false);
    expect(fences.deadAt('topic', 'T', 111)).to.equal(false);
    expect(fences.created('topic', 'T', 112), 'no open interval to close').to.equal(null);
  });

  it('keeps the last intervals only, and a second delete while deleted keeps the first', () => {
    const fences = new DeletionFences();
    fences.deleted('group', 'G', 10);
    const again = fences.deleted('group', 'G', 12);
    expect(again).to.deep.equal([{ from: 10, to: null }]);
    for (let i = 0; i < 20; i++) {
      fences.created('group', 'G', 20 + i * 2);
      fences.deleted('group', 'G', 21 + i * 2);
    }
    expect(fences.deleted('group', 'G', 100)).to.have.length(8);
  });
});
