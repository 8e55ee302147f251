/**
 * Focused RaftCore cases that the trace language cannot stage (several messages between two
 * Readies). Scenario tests live in ../sim/testdata; randomized ones in ../sim/simulation.test.ts.
 */
import { expect } from 'chai';
import { MAX_TERM_STEP, RaftCore } from './raft-core.js';
import { asIndex, asTerm } from './types.js';
import type { Message, Ready } from './types.js';

function newCore(extra: { installMinEntries?: number } = {}): RaftCore<string> {
  return new RaftCore<string>(
    { id: 'n0', electionTicks: 10, heartbeatTicks: 1, preVote: false, checkQuorum: false, maxInflightAppends: 8, maxEntriesPerAppend: 16, random: () => 0, ...extra },
    { hardState: { term: asTerm(0), vote: null, commit: asIndex(0) }, membership: { voters: ['n0', 'n1', 'n2'], learners: [] }, log: { lastIndex: asIndex(0), termRuns: [] } },
  );
}

/** Handles the pending Ready like a driver would (nothing to store in this test) and returns it. */
function handle(core: RaftCore<string>): Ready<string> {
  const ready = core.ready();
  if (ready === null) throw new Error('no Ready');
  core.advance();
  return ready;
}

describe('RaftCore', () => {
  it('drops the appends it queued as leader when a newer leader makes it truncate in the same Ready', () => {
    const core = newCore();
    for (let i = 0; i < 10; i += 1) core.tick();
    expect(core.role).to.equal('candidate');
    handle(core);
    core.step({ type: 'voteResponse', from: 'n1', to: 'n0', term: asTerm(1), preVote: false, granted: true });
    expect(core.role).to.equal('leader');
    handle(core); // 1/1 no-op
    core.step({ type: 'appendResponse', from: 'n1', to: 'n0', term: asTerm(1), success: true, matchIndex: asIndex(1), rejectedPrevIndex: asIndex(0), hintIndex: asIndex(0), hintTerm: asTerm(0) });
    expect(core.commitIndex).to.equal(1);
    expect(core.propose([{ kind: 'data', data: 'a' }, { kind: 'data', data: 'b' }]).ok).to.equal(true);
    handle(core); // 2/1 a, 3/1 b

    // Between two Readies: n2's heartbeat answer makes the leader queue an append to n2 ...
    core.step({ type: 'heartbeatResponse', from: 'n2', to: 'n0', term: asTerm(1) });
    // ... then the leader of term 2 overwrites entries 2 and 3.
    const newerAppend: Message<string> = {
      type: 'append', from: 'n1', to: 'n0', term: asTerm(2), prevIndex: asIndex(1), prevTerm: asTerm(1), commit: asIndex(1), count: 1,
      entries: [{ index: asIndex(2), term: asTerm(2), kind: 'noop', data: null }],
    };
    core.step(newerAppend);
    expect(core.role).to.equal('follower');

    const ready = handle(core);
    expect(ready.truncateAfter).to.equal(1);
    expect(ready.entries.map((e) => `${e.index}/${e.term}`)).to.deep.equal(['2/2']);
    // Filled after the truncation, an old-term append would carry 2/2 under term 1.
    expect(ready.messages.filter((m) => m.type === 'append' || m.type === 'heartbeat' || m.type === 'timeoutNow')).to.deep.equal([]);
    expect(ready.messagesAfterPersist.map((m) => m.type)).to.deep.equal(['appendResponse']);
  });

  it('drops an append whose entries are newer than its term or not contiguous', () => {
    const core = newCore();
    core.step({ type: 'append', from: 'n1', to: 'n0', term: asTerm(1), prevIndex: asIndex(0), prevTerm: asTerm(0), commit: asIndex(0), count: 1, entries: [{ index: asIndex(1), term: asTerm(5), kind: 'noop', data: null }] });
    core.step({ type: 'append', from: 'n1', to: 'n0', term: asTerm(1), prevIndex: asIndex(0), prevTerm: asTerm(0), commit: asIndex(0), count: 1, entries: [{ index: asIndex(3), term: asTerm(1), kind: 'noop', data: null }] });
    expect(core.lastIndex).to.equal(0);
    expect(core.ready()?.messagesAfterPersist ?? []).to.deep.equal([]);
  });

  // Found by the fuzz suite (lib/fuzz/raft-core-fuzz.ts, test/fuzz-corpus/raft-core-term-overflow.json):
  // a timeoutNow of term 2^53 - 1 made n0 campaign in term 2^53, which every peer's wire refuses.
  it('drops a message whose term is absurdly far ahead, and keeps its own term', () => {
    const core = newCore();
    core.step({ type: 'timeoutNow', from: 'n1', to: 'n0', term: asTerm(Number.MAX_SAFE_INTEGER) });
    core.step({ type: 'heartbeat', from: 'n1', to: 'n0', term: asTerm(MAX_TERM_STEP + 1), commit: asIndex(0) });
    expect(core.currentTerm).to.equal(0);
    expect(core.ready()).to.equal(null);
    core.step({ type: 'heartbeat', from: 'n1', to: 'n0', term: asTerm(MAX_TERM_STEP), commit: asIndex(0) });
    expect(core.currentTerm).to.equal(MAX_TERM_STEP);
  });

  it('ignores an append answer that matches past its log, and keeps replicating to that peer', () => {
    const core = leaderWithEntries(newCore(), 3);
    core.step(answer('n2', Number.MAX_SAFE_INTEGER));
    expect(core.peerProgress().get('n2')?.match).to.equal(0);
    core.propose([{ kind: 'data', data: 'after' }]);
    core.step({ type: 'heartbeatResponse', from: 'n2', to: 'n0', term: asTerm(1) });
    const appends = handle(core).messages.filter((m) => m.to === 'n2' && m.type === 'append');
    expect(appends, 'appends to n2 after the lie').to.have.length.greaterThan(0);
  });

  /** A leader of term 1 with `count` committed data entries after its no-op, n1 in sync, n2 silent. */
  function leaderWithEntries(core: RaftCore<string>, count: number): RaftCore<string> {
    for (let i = 0; i < 10; i += 1) core.tick();
    handle(core);
    core.step({ type: 'voteResponse', from: 'n1', to: 'n0', term: asTerm(1), preVote: false, granted: true });
    handle(core);
    core.propose(Array.from({ length: count }, (_, i) => ({ kind: 'data' as const, data: `v${i}` })));
    handle(core);
    core.step(answer('n1', count + 1));
    handle(core);
    expect(core.commitIndex).to.equal(count + 1);
    return core;
  }

  function answer(from: string, matchIndex: number, extra: Partial<Message<string>> = {}): Message<string> {
    return { type: 'appendResponse', from, to: 'n0', term: asTerm(1), success: true, matchIndex: asIndex(matchIndex), rejectedPrevIndex: asIndex(0), hintIndex: asIndex(0), hintTerm: asTerm(0), ...extra } as Message<string>;
  }

  it('installs a peer found far behind: no appends during the install, its answers move the match point, probing after it', () => {
    const core = newCore({ installMinEntries: 10 });
    leaderWithEntries(core, 20);
    // n2's answer to the leader's probe (no-op and the first entries): in sync, but 16 behind.
    core.step(answer('n2', 5));
    const decided = handle(core);
    expect(decided.messages.filter((m) => m.to === 'n2')).to.deep.equal([{ type: 'install', from: 'n0', to: 'n2', term: 1, prevIndex: 5, prevTerm: 1, commit: 21 }]);
    expect(core.peerProgress().get('n2')?.state).to.equal('install');
    core.propose([{ kind: 'data', data: 'x' }]);
    core.step({ type: 'heartbeatResponse', from: 'n2', to: 'n0', term: asTerm(1) });
    const during = handle(core);
    expect(during.messages.filter((m) => m.to === 'n2' && m.type !== 'heartbeat'), 'appends to a peer being installed').to.deep.equal([]);
    expect(during.messages.filter((m) => m.to === 'n1' && m.type === 'append')).to.have.length(1);
    // A refusal (of an append sent before the install) does not disturb it.
    core.step({ ...answer('n2', 0), success: false, rejectedPrevIndex: asIndex(9), hintIndex: asIndex(5) } as Message<string>);
    core.step(answer('n2', 15));
    expect(core.peerProgress().get('n2')).to.include({ match: 15, state: 'install' });
    core.endInstall('n2');
    const after = handle(core);
    expect(core.peerProgress().get('n2')?.state).to.equal('probe');
    expect(after.messages.find((m) => m.to === 'n2' && m.type === 'append')).to.include({ prevIndex: 15 });
  });

  it('replicates by appends to a peer found in sync within the install threshold', () => {
    const core = newCore({ installMinEntries: 10 });
    leaderWithEntries(core, 5);
    core.step(answer('n2', 1));
    handle(core);
    expect(core.peerProgress().get('n2')?.state).to.equal('replicate');
  });

  it('shows a catching-up peer as such, and counts what it acknowledges towards commits', () => {
    const core = leaderWithEntries(newCore(), 2);
    core.propose([{ kind: 'data', data: 'x' }]);
    handle(core);
    core.step(answer('n2', 4, { catchingUp: true }));
    if (core.ready() !== null) core.advance();
    expect(core.peerProgress().get('n2')).to.include({ match: 4, catchingUp: true });
    expect(core.commitIndex).to.equal(4);
    core.step(answer('n2', 4));
    expect(core.peerProgress().get('n2')).to.include({ catchingUp: false });
  });

  it('says in its append answers that it catches up until it has', () => {
    const core = new RaftCore<string>(
      { id: 'n0', electionTicks: 10, heartbeatTicks: 1, preVote: false, checkQuorum: false, maxInflightAppends: 8, maxEntriesPerAppend: 16, random: () => 0 },
      { hardState: { term: asTerm(0), vote: null, commit: asIndex(0) }, membership: { voters: ['n0', 'n1', 'n2'], learners: [] }, log: { lastIndex: asIndex(0), termRuns: [] }, catchUp: { untilIndex: null } },
    );
    const entries = [1, 2, 3].map((index) => ({ index: asIndex(index), term: asTerm(1), kind: 'noop' as const, data: null }));
    core.step({ type: 'append', from: 'n1', to: 'n0', term: asTerm(1), prevIndex: asIndex(0), prevTerm: asTerm(0), commit: asIndex(3), count: 2, entries: entries.slice(0, 2) });
    expect(handle(core).messagesAfterPersist).to.deep.include({ ...answer('n0', 2), from: 'n0', to: 'n1', catchingUp: true });
    core.step({ type: 'append', from: 'n1', to: 'n0', term: asTerm(1), prevIndex: asIndex(2), prevTerm: asTerm(1), commit: asIndex(3), count: 1, entries: entries.slice(2) });
    const last = handle(core).messagesAfterPersist[0];
    expect(last).to.include({ type: 'appendResponse', matchIndex: 3 });
    expect(last).to.not.have.property('catchingUp');
    expect(core.catchingUp).to.equal(false);
  });

  it('takes the part of an append after its commit index when the append starts before it', () => {
    const core = newCore();
    const entry = (index: number, term = 1): { index: ReturnType<typeof asIndex>; term: ReturnType<typeof asTerm>; kind: 'noop'; data: null } => ({ index: asIndex(index), term: asTerm(term), kind: 'noop', data: null });
    core.step({ type: 'append', from: 'n1', to: 'n0', term: asTerm(1), prevIndex: asIndex(0), prevTerm: asTerm(0), commit: asIndex(3), count: 3, entries: [1, 2, 3].map((i) => entry(i)) });
    handle(core);
    expect(core.commitIndex).to.equal(3);
    core.step({ type: 'append', from: 'n1', to: 'n0', term: asTerm(1), prevIndex: asIndex(1), prevTerm: asTerm(1), commit: asIndex(5), count: 4, entries: [2, 3, 4, 5].map((i) => entry(i)) });
    const ready = handle(core);
    expect(ready.entries.map((e) => e.index)).to.deep.equal([4, 5]);
    expect(ready.messagesAfterPersist[0]).to.include({ success: true, matchIndex: 5 });
    // An entry at the commit index with another term cannot come from a leader: dropped.
    core.step({ type: 'append', from: 'n1', to: 'n0', term: asTerm(2), prevIndex: asIndex(4), prevTerm: asTerm(1), commit: asIndex(5), count: 3, entries: [entry(5, 2), entry(6, 2), entry(7, 2)] });
    expect(core.lastIndex).to.equal(5);
  });

  it('probes a peer that lost entries it matched, found by a heartbeat answer in an idle group', () => {
    const core = leaderWithEntries(newCore(), 3);
    core.step(answer('n2', 4));
    if (core.ready() !== null) core.advance();
    expect(core.peerProgress().get('n2')).to.include({ match: 4, state: 'replicate' });
    core.step({ type: 'heartbeatResponse', from: 'n2', to: 'n0', term: asTerm(1) });
    expect(core.ready(), 'nothing to send to a peer in sync').to.equal(null);
    core.step({ type: 'heartbeatResponse', from: 'n2', to: 'n0', term: asTerm(1), missingEntries: true });
    const probe = handle(core).messages.find((m) => m.to === 'n2');
    expect(probe).to.include({ type: 'append', prevIndex: 4, count: 0 });
    // Its refusal at the match point resets the match: the leader probes down to what it has.
    core.step({ ...answer('n2', 0), success: false, rejectedPrevIndex: asIndex(4), hintIndex: asIndex(0) } as Message<string>);
    expect(core.peerProgress().get('n2')).to.include({ match: 0, next: 1 });
  });
});

describe('RaftCore membership changes', () => {
  function leaderOfThree(): RaftCore<string> {
    const core = newCore();
    for (let i = 0; i < 10; i += 1) core.tick();
    handle(core);
    core.step({ type: 'voteResponse', from: 'n1', to: 'n0', term: asTerm(1), preVote: false, granted: true });
    expect(core.role).to.equal('leader');
    handle(core); // 1/1 no-op
    return core;
  }
  const ack = (from: string, match: number): Message<string> => ({
    type: 'appendResponse', from, to: 'n0', term: asTerm(1), success: true, matchIndex: asIndex(match), rejectedPrevIndex: asIndex(0), hintIndex: asIndex(0), hintTerm: asTerm(0),
  });

  it('replicates to a learner without counting it towards commits, and counts it once promoted', () => {
    const core = leaderOfThree();
    core.step(ack('n1', 1));
    expect(core.commitIndex).to.equal(1);
    core.applyMembership({ voters: ['n0', 'n1', 'n2'], learners: ['n3'] });
    expect([...core.peerProgress().keys()].sort()).to.deep.equal(['n1', 'n2', 'n3']);
    const ready = handle(core);
    expect(ready.messages.some((m) => m.to === 'n3' && m.type === 'append')).to.equal(true);
    core.propose([{ kind: 'data', data: 'a' }]);
    handle(core); // 2/1
    core.step(ack('n3', 2));
    expect(core.commitIndex, 'a learner alone with the leader is no majority').to.equal(1);
    // Promoted: four voters, majority three (n0, n3 and one more).
    core.applyMembership({ voters: ['n0', 'n1', 'n2', 'n3'], learners: [] });
    expect(core.commitIndex).to.equal(1);
    core.step(ack('n2', 2));
    expect(core.commitIndex).to.equal(2);
  });

  it('commits at once when a removed voter was holding the commit back, and forgets the removed peer', () => {
    const core = leaderOfThree();
    core.applyMembership({ voters: ['n0', 'n1', 'n2', 'n3'], learners: [] });
    core.propose([{ kind: 'data', data: 'a' }]);
    handle(core); // 2/1
    core.step(ack('n1', 2));
    expect(core.commitIndex, 'two of four voters').to.equal(0);
    core.applyMembership({ voters: ['n0', 'n1', 'n2'], learners: [] });
    expect(core.commitIndex, 'two of three voters').to.equal(2);
    expect([...core.peerProgress().keys()].sort()).to.deep.equal(['n1', 'n2']);
    // Messages from the removed member are ignored.
    core.step({ type: 'heartbeatResponse', from: 'n3', to: 'n0', term: asTerm(1) });
    expect(core.role).to.equal('leader');
  });

  it('steps down when it is no longer a voter, and a learner never campaigns', () => {
    const core = leaderOfThree();
    core.applyMembership({ voters: ['n1', 'n2'], learners: ['n0'] });
    expect(core.role).to.equal('follower');
    for (let i = 0; i < 100; i += 1) core.tick();
    expect(core.role).to.equal('follower');
    expect(core.propose([{ kind: 'data', data: 'a' }]).ok).to.equal(false);
  });

  it('does not campaign while a committed config entry waits to be applied, and proposes no config until all are applied', () => {
    const follower = newCore();
    follower.step({ type: 'append', from: 'n1', to: 'n0', term: asTerm(1), prevIndex: asIndex(0), prevTerm: asTerm(0), commit: asIndex(1), count: 1, entries: [{ index: asIndex(1), term: asTerm(1), kind: 'config', data: 'remove n2' }] });
    handle(follower);
    expect(follower.commitIndex).to.equal(1);
    follower.setUnappliedConfigIndex(asIndex(1));
    for (let i = 0; i < 100; i += 1) follower.tick();
    expect(follower.role, 'its membership is stale until applied').to.equal('follower');
    follower.step({ type: 'timeoutNow', from: 'n1', to: 'n0', term: asTerm(1) });
    expect(follower.role).to.equal('follower');
    follower.setUnappliedConfigIndex(null);
    for (let i = 0; i < 20; i += 1) follower.tick();
    expect(follower.role).to.equal('candidate');

    const leader = leaderOfThree();
    leader.step(ack('n1', 1));
    leader.setUnappliedConfigIndex(asIndex(1));
    expect(leader.propose([{ kind: 'config', data: 'add n3' }])).to.deep.include({ ok: false, code: 'CONFIG_CHANGE_PENDING' });
    expect(leader.propose([{ kind: 'data', data: 'x' }]).ok, 'data entries still go').to.equal(true);
    leader.setUnappliedConfigIndex(null);
    expect(leader.propose([{ kind: 'config', data: 'add n3' }]).ok).to.equal(true);
  });

  it('takes one config entry at a time', () => {
    const core = leaderOfThree();
    core.step(ack('n1', 1));
    expect(core.propose([{ kind: 'config', data: 'add n3' }]).ok).to.equal(true);
    expect(core.propose([{ kind: 'config', data: 'add n4' }])).to.deep.include({ ok: false, code: 'CONFIG_CHANGE_PENDING' });
    handle(core); // 2/1
    core.step(ack('n1', 2));
    expect(core.commitIndex).to.equal(2);
    expect(core.propose([{ kind: 'config', data: 'promote n3' }]).ok).to.equal(true);
  });
});
