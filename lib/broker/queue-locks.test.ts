import { expect } from 'chai';
import { QueueLocks } from './queue-locks.js';

describe('QueueLocks', () => {
  const q = (queueId: number): { topic: string; queueId: number } => ({ topic: 'T', queueId });

  it('grants a free queue to one client, refuses it to others until unlocked or expired, and renews for its owner', () => {
    let now = 0;
    const locks = new QueueLocks(60_000, 100, () => now);
    expect(locks.lock('g', 'a', [q(0), q(1)])).to.deep.equal([q(0), q(1)]);
    expect(locks.lock('g', 'b', [q(0), q(2)])).to.deep.equal([q(2)]);
    expect(locks.lock('other-group', 'b', [q(0)])).to.deep.equal([q(0)]);
    now = 59_000;
    expect(locks.lock('g', 'a', [q(0)])).to.deep.equal([q(0)]); // renewed until 119 s
    now = 100_000;
    expect(locks.lock('g', 'b', [q(0), q(1)])).to.deep.equal([q(1)]); // q(1) expired at 60 s
    locks.unlock('g', 'b', [q(0)]); // not b's: left alone
    expect(locks.lock('g', 'b', [q(0)])).to.deep.equal([]);
    locks.unlock('g', 'a', [q(0)]);
    expect(locks.lock('g', 'b', [q(0)])).to.deep.equal([q(0)]);
  });

  it('is bounded: expired locks are swept, then TOO_MANY_REQUESTS', () => {
    let now = 0;
    const locks = new QueueLocks(1_000, 2, () => now);
    locks.lock('g', 'a', [q(0), q(1)]);
    expect(() => locks.lock('g', 'a', [q(2)])).to.throw().with.property('code', 'TOO_MANY_REQUESTS');
    now = 2_000;
    expect(locks.lock('g', 'a', [q(2)])).to.deep.equal([q(2)]);
    expect(locks.size).to.equal(1);
  });
});
