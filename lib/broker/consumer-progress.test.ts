import { expect } from 'chai';
import { ConsumerRegistry } from './consumer-registry.js';
import { PopState } from './pop-state.js';

describe('PopState offset commits and resets', () => {
  const at = { group: 'g', topic: 't', queueId: 0 };

  it('moves progress forward on commit, never back, and forgets pops below it', () => {
    const state = new PopState();
    state.applyPop({ kind: 'pop', ...at, newPopOffset: 5, offsets: [0, 1, 2, 3, 4], visibleAtMs: 100 });
    expect(state.applyCommitOffset({ kind: 'offset.commit', ...at, offset: 3, resetVersion: 0 })).to.deep.equal({ ok: true, offset: 3, resetVersion: 0 });
    expect([...state.queue('g', 't', 0).inflight.keys()]).to.deep.equal([3, 4]);
    // A stale consumer's lower commit leaves progress where it is.
    expect(state.applyCommitOffset({ kind: 'offset.commit', ...at, offset: 1, resetVersion: 0 }).offset).to.equal(3);
    expect(state.applyCommitOffset({ kind: 'offset.commit', ...at, offset: 9, resetVersion: 0 })).to.deep.equal({ ok: true, offset: 9, resetVersion: 0 });
    expect(state.queue('g', 't', 0).popOffset).to.equal(9);
    expect(state.queue('g', 't', 0).inflight.size).to.equal(0);
  });

  it('resets backwards with a new version and refuses commits from before the reset', () => {
    const state = new PopState();
    state.applyCommitOffset({ kind: 'offset.commit', ...at, offset: 50, resetVersion: 0 });
    state.applyPop({ kind: 'pop', ...at, newPopOffset: 52, offsets: [50, 51], visibleAtMs: 100 });
    expect(state.applyResetOffset({ kind: 'offset.reset', ...at, offset: 10 })).to.deep.equal({ ok: true, offset: 10, resetVersion: 1 });
    const queue = state.queue('g', 't', 0);
    expect([queue.ackOffset, queue.popOffset, queue.inflight.size]).to.deep.equal([10, 10, 0]);
    expect(state.applyCommitOffset({ kind: 'offset.commit', ...at, offset: 60, resetVersion: 0 })).to.deep.equal({ ok: false, offset: 10, resetVersion: 1 });
    expect(state.applyCommitOffset({ kind: 'offset.commit', ...at, offset: 12, resetVersion: 1 })).to.deep.equal({ ok: true, offset: 12, resetVersion: 1 });
  });

  it('tells a queue nobody touched from one at offset 0', () => {
    const state = new PopState();
    expect(state.peek('g', 't', 0)).to.equal(undefined);
    state.applyCommitOffset({ kind: 'offset.commit', ...at, offset: 0, resetVersion: 0 });
    expect(state.peek('g', 't', 0)?.ackOffset).to.equal(0);
  });
});

describe('ConsumerRegistry', () => {
  function registry(now: { ms: number }, maxConnections = 10): ConsumerRegistry {
    return new ConsumerRegistry({ expiryMs: 1000, maxConnections, clock: () => now.ms });
  }
  const beat = (group: string) => ({ group, mode: 'CLUSTERING' as const, subscriptions: [{ topic: 't', filterType: 'TAG', filterExpression: '*' }], owned: [] });

  it('lists live members sorted, drops the silent and the unregistered', () => {
    const now = { ms: 0 };
    const consumers = registry(now);
    consumers.heartbeat('c-b', [beat('g')]);
    consumers.heartbeat('c-a', [beat('g'), beat('h')]);
    expect(consumers.members('g').map((m) => m.clientId)).to.deep.equal(['c-a', 'c-b']);
    now.ms = 900;
    consumers.heartbeat('c-a', [beat('g')]);
    now.ms = 1500;
    expect(consumers.members('g').map((m) => m.clientId)).to.deep.equal(['c-a']);
    consumers.unregister('c-a', []);
    expect(consumers.members('g')).to.deep.equal([]);
    expect(consumers.members('h')).to.deep.equal([]);
  });

  it('is settled only after listening for a full expiry, again after a restart', () => {
    const now = { ms: 0 };
    const consumers = registry(now);
    expect(consumers.settled).to.equal(false);
    now.ms = 1000;
    expect(consumers.settled).to.equal(true);
    consumers.heartbeat('c-a', [beat('g')]);
    consumers.restart();
    expect(consumers.settled).to.equal(false);
    expect(consumers.members('g')).to.deep.equal([]);
  });

  it('refuses memberships past its limit and bad input, with status codes', () => {
    const now = { ms: 0 };
    const consumers = registry(now, 2);
    consumers.heartbeat('c-a', [beat('g'), beat('h')]);
    expect(() => consumers.heartbeat('c-b', [beat('g')])).to.throw().with.property('code', 'TOO_MANY_REQUESTS');
    // Expired memberships make room again.
    now.ms = 2000;
    consumers.heartbeat('c-b', [beat('g')]);
    expect(() => consumers.heartbeat('', [beat('g')])).to.throw().with.property('code', 'CLIENT_ID_REQUIRED');
    expect(() => consumers.heartbeat('c-c', [{ ...beat('g'), mode: 'BOTH' as never }])).to.throw().with.property('code', 'BAD_REQUEST');
    expect(() => consumers.heartbeat('c-c', [beat('bad group!')])).to.throw().with.property('code', 'ILLEGAL_CONSUMER_GROUP');
  });
});
