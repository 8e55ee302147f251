import { expect } from 'chai';
import { applyChange, coreMembership, decodeMembership, encodeMembership, initialMembership } from './group-membership.js';

describe('group membership (single-server changes)', () => {
  const three = initialMembership(new Map([['n0', 'h:1'], ['n1', 'h:2'], ['n2', 'h:3']]), 'n0', false);

  it('adds a learner, promotes it, removes a voter; the record round-trips', () => {
    const added = applyChange(three, { kind: 'addLearner', id: 'n3', raftAddress: 'h:4' });
    expect(coreMembership(added)).to.deep.equal({ voters: ['n0', 'n1', 'n2'], learners: ['n3'] });
    const promoted = applyChange(added, { kind: 'promote', id: 'n3' });
    expect(coreMembership(promoted)).to.deep.equal({ voters: ['n0', 'n1', 'n2', 'n3'], learners: [] });
    const removed = applyChange(promoted, { kind: 'remove', id: 'n0' });
    expect(coreMembership(removed).voters).to.deep.equal(['n1', 'n2', 'n3']);
    expect(decodeMembership(encodeMembership(removed))).to.deep.equal(removed);
  });

  it('refuses changes that do not apply', () => {
    expect(() => applyChange(three, { kind: 'addLearner', id: 'n1', raftAddress: 'h:9' })).to.throw(/already a voter/);
    expect(() => applyChange(three, { kind: 'addLearner', id: 'n3', raftAddress: 'h:2' })).to.throw(/already n1's/);
    expect(() => applyChange(three, { kind: 'addLearner', id: 'n 3', raftAddress: 'h:9' })).to.throw(/node id/);
    expect(() => applyChange(three, { kind: 'promote', id: 'n1' })).to.throw(/already a voter/);
    expect(() => applyChange(three, { kind: 'remove', id: 'n7' })).to.throw(/not a member/);
    const one = applyChange(applyChange(three, { kind: 'remove', id: 'n1' }), { kind: 'remove', id: 'n2' });
    expect(() => applyChange(one, { kind: 'remove', id: 'n0' })).to.throw(/last voter/);
  });

  it('a joining node starts as a learner of the configured group', () => {
    const joining = initialMembership(new Map([['n0', 'h:1'], ['n1', 'h:2'], ['n3', 'h:4']]), 'n3', true);
    expect(coreMembership(joining)).to.deep.equal({ voters: ['n0', 'n1'], learners: ['n3'] });
  });

  it('rejects malformed records', () => {
    expect(() => decodeMembership(Buffer.from('{"version":2,"members":[]}'))).to.throw(/version/);
    expect(() => decodeMembership(Buffer.from('{"version":1,"members":[{"id":"n0","raftAddress":"h:1","voter":false}]}'))).to.throw(/no voter/);
    expect(() => decodeMembership(Buffer.from('{"version":1,"members":[{"id":"n0","raftAddress":"h:1","voter":true},{"id":"n0","raftAddress":"h:2","voter":true}]}'))).to.throw(/twice/);
    expect(() => decodeMembership(Buffer.from('not json'))).to.throw();
  });
});
