import { expect } from 'chai';
import { mergeCatchUp } from './core-boot.js';

describe('mergeCatchUp', () => {
  it('keeps the higher target, so a catch-up marker never goes down', () => {
    expect(mergeCatchUp({ untilIndex: 95 }, { untilIndex: 110 })).to.deep.equal({ untilIndex: 110 });
    expect(mergeCatchUp({ untilIndex: 120 }, { untilIndex: 110 })).to.deep.equal({ untilIndex: 120 });
  });

  it('prefers a known index to "the leader commit at first contact", and keeps whichever exists', () => {
    expect(mergeCatchUp({ untilIndex: null }, { untilIndex: 110 })).to.deep.equal({ untilIndex: 110 });
    expect(mergeCatchUp({ untilIndex: 110 }, { untilIndex: null })).to.deep.equal({ untilIndex: 110 });
    expect(mergeCatchUp({ untilIndex: null }, null)).to.deep.equal({ untilIndex: null });
    expect(mergeCatchUp(null, { untilIndex: 7 })).to.deep.equal({ untilIndex: 7 });
    expect(mergeCatchUp(null, null)).to.equal(null);
  });
});
