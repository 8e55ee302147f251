import { expect } from 'chai';
import { LedgerError } from '../common/errors.js';
import type { BrokerRegistration } from '../gen/internal/ledgermq/v1/BrokerRegistration.js';
import { RouteTable } from './route-table.js';

/** A registration of node `nodeId` in group `group` (cluster `c1`), overridable field by field. */
function registration(group: string, nodeId: string, fields: Partial<BrokerRegistration> = {}): BrokerRegistration {
  return {
    cluster: 'c1',
    group,
    nodeId,
    brokerAddress: `10.0.0.${nodeId.slice(1)}:10911`,
    role: 'follower',
    term: 1,
    leaderId: '',
    leaderAddress: '',
    topics: [{ name: 'orders', readQueues: 8, writeQueues: 8, perm: 6 }],
    ...fields,
  };
}

function expectLedgerError(action: () => unknown, code: string): LedgerError {
  try {
    action();
  } catch (error: unknown) {
    expect(error).to.be.instanceOf(LedgerError);
    expect((error as LedgerError).code).to.equal(code);
    return error as LedgerError;
  }
  expect.fail(`expected a LedgerError ${code}`);
}

describe('RouteTable', () => {
  let nowMs: number;
  let table: RouteTable;

  beforeEach(() => {
    nowMs = 1_000_000;
    table = new RouteTable({ clock: () => nowMs });
  });

  it('routes a topic to the group leader with every live node', () => {
    table.register(registration('g1', 'n1', { role: 'leader', term: 2 }));
    table.register(registration('g1', 'n2', { term: 2, leaderId: 'n1', leaderAddress: '10.0.0.1:10911' }));
    table.register(registration('g1', 'n3', { term: 2, leaderId: 'n1', leaderAddress: '10.0.0.1:10911' }));

    const route = table.route('orders');
    expect(route.topic).to.equal('orders');
    expect(route.groups).to.have.length(1);
    const [group] = route.groups;
    expect(group).to.include({ cluster: 'c1', group: 'g1', leaderId: 'n1', leaderAddress: '10.0.0.1:10911' });
    expect(group.nodes.map((node) => [node.nodeId, node.role])).to.deep.equal([
      ['n1', 'leader'],
      ['n2', 'follower'],
      ['n3', 'follower'],
    ]);
    expect(group.topic).to.deep.include({ name: 'orders', readQueues: 8, writeQueues: 8, perm: 6 });
  });

  it('replaces a node registration on each heartbeat and refreshes its liveness', () => {
    expect(table.register(registration('g1', 'n1', { role: 'leader' })).isNew).to.equal(true);
    nowMs += 100_000;
    const again = table.register(registration('g1', 'n1', { role: 'leader', topics: [{ name: 'payments' }] }));
    expect(again.isNew).to.equal(false);
    expect(table.brokers()).to.have.length(1);
    expect(table.brokers()[0].lastHeartbeatMs).to.equal(nowMs);
    expectLedgerError(() => table.route('orders'), 'TOPIC_NOT_FOUND');
    expect(table.route('payments').groups).to.have.length(1);

    // 100 s after the refresh the node is still live although 200 s passed since it first registered.
    nowMs += 100_000;
    expect(table.expire()).to.deep.equal([]);
    expect(table.route('payments').groups[0].leaderId).to.equal('n1');
  });

  it('expires a node silent for more than 120 s, and only then', () => {
    table.register(registration('g1', 'n1', { role: 'leader' }));
    nowMs += 60_000;
    table.register(registration('g1', 'n2', { leaderId: 'n1', leaderAddress: '10.0.0.1:10911' }));

    nowMs += 60_000; // n1 silent for exactly 120 s: still live
    expect(table.expire()).to.deep.equal([]);
    nowMs += 1;
    const dropped = table.expire();
    expect(dropped.map((broker) => broker.nodeId)).to.deep.equal(['n1']);
    expect(table.brokers().map((broker) => broker.nodeId)).to.deep.equal(['n2']);
    // n1 gone: its follower's report of it is the only leader information left.
    expect(table.route('orders').groups[0]).to.include({ leaderId: 'n1', leaderAddress: '10.0.0.1:10911' });
    expect(table.route('orders').groups[0].nodes.map((node) => node.nodeId)).to.deep.equal(['n2']);

    nowMs += 60_000;
    expect(table.expire().map((broker) => broker.nodeId)).to.deep.equal(['n2']);
    expectLedgerError(() => table.route('orders'), 'TOPIC_NOT_FOUND');
    expect(table.groups()).to.deep.equal([]);
  });

  it('hides silent nodes from queries even before expire() runs', () => {
    table.register(registration('g1', 'n1', { role: 'leader' }));
    nowMs += 120_001;
    expect(table.brokers()).to.deep.equal([]);
    expectLedgerError(() => table.route('orders'), 'TOPIC_NOT_FOUND');
    // A heartbeat after that gap counts as a new registration.
    expect(table.register(registration('g1', 'n1', { role: 'leader' })).isNew).to.equal(true);
  });

  it('ignores a stale leader claim when another node reports a higher term', () => {
    // n1 led term 3, was partitioned away, and still says so; n2 won term 4.
    table.register(registration('g1', 'n1', { role: 'leader', term: 3 }));
    table.register(registration('g1', 'n2', { role: 'leader', term: 4 }));
    table.register(registration('g1', 'n3', { term: 4, leaderId: 'n2', leaderAddress: '10.0.0.2:10911' }));
    expect(table.route('orders').groups[0]).to.include({ leaderId: 'n2', leaderAddress: '10.0.0.2:10911' });

    // Registration order must not matter: n1's stale claim arrives last.
    nowMs += 1_000;
    table.register(registration('g1', 'n1', { role: 'leader', term: 3 }));
    expect(table.route('orders').groups[0].leaderId).to.equal('n2');
  });

  it('falls back to the leader reported by the freshest follower at the highest term', () => {
    // n2 became leader at term 5 but its registration still says follower at term 4.
    table.register(registration('g1', 'n2', { term: 4, leaderId: 'n1', leaderAddress: '10.0.0.1:10911' }));
    nowMs += 1_000;
    table.register(registration('g1', 'n3', { term: 5, leaderId: 'n2', leaderAddress: '10.0.0.2:10911' }));
    // n1 was leader at term 4 and claims it still: stale against n3's term 5.
    table.register(registration('g1', 'n1', { role: 'leader', term: 4 }));
    expect(table.route('orders').groups[0]).to.include({ leaderId: 'n2', leaderAddress: '10.0.0.2:10911' });
  });

  it('reports no leader while an election is under way', () => {
    table.register(registration('g1', 'n1', { role: 'leader', term: 6 }));
    table.register(registration('g1', 'n2', { role: 'candidate', term: 7 }));
    // n3 still names n1, but from term 6: that report must not revive n1's stale claim.
    table.register(registration('g1', 'n3', { term: 6, leaderId: 'n1', leaderAddress: '10.0.0.1:10911' }));
    const [group] = table.route('orders').groups;
    expect(group).to.include({ leaderId: '', leaderAddress: '' });
    expect(group.nodes).to.have.length(3);
  });

  it('takes the topic list from the leader, else from the freshest node', () => {
    table.register(registration('g1', 'n1', { role: 'leader', term: 2, topics: [{ name: 'orders' }, { name: 'new-topic', writeQueues: 8 }] }));
    nowMs += 1_000;
    // A lagging follower that does not know new-topic yet heartbeats later.
    table.register(registration('g1', 'n2', { term: 2, leaderId: 'n1', leaderAddress: '10.0.0.1:10911' }));
    expect(table.route('new-topic').groups[0].topic).to.deep.include({ name: 'new-topic', writeQueues: 8 });

    // Without a leader claim the freshest node decides.
    table.unregister('c1', 'g1', 'n1');
    expectLedgerError(() => table.route('new-topic'), 'TOPIC_NOT_FOUND');
    expect(table.route('orders').groups).to.have.length(1);
  });

  it('routes a topic over several groups and lists every group with its leader', () => {
    table.register(registration('g2', 'n1', { role: 'leader', topics: [{ name: 'orders' }] }));
    table.register(registration('g1', 'n1', { role: 'leader', topics: [{ name: 'orders' }, { name: 'audit' }] }));
    table.register(registration('g3', 'n4', { role: 'leader', topics: [{ name: 'audit' }] }));
    table.register(registration('g1', 'n2', { leaderId: 'n1', leaderAddress: '10.0.0.1:10911' }));

    expect(table.route('orders').groups.map((group) => group.group)).to.deep.equal(['g1', 'g2']);
    expect(table.route('audit').groups.map((group) => group.group)).to.deep.equal(['g1', 'g3']);
    expect(table.groups().map((group) => [group.group, group.leaderId, group.nodes.length])).to.deep.equal([
      ['g1', 'n1', 2],
      ['g2', 'n1', 1],
      ['g3', 'n4', 1],
    ]);
    expectLedgerError(() => table.route('unknown'), 'TOPIC_NOT_FOUND');
  });

  it('keeps same-named groups of different clusters apart', () => {
    table.register(registration('g1', 'n1', { role: 'leader' }));
    table.register(registration('g1', 'n1', { cluster: 'c2', role: 'leader', brokerAddress: '10.9.0.1:10911' }));
    const route = table.route('orders');
    expect(route.groups.map((group) => [group.cluster, group.leaderAddress])).to.deep.equal([
      ['c1', '10.0.0.1:10911'],
      ['c2', '10.9.0.1:10911'],
    ]);
  });

  it('unregisters a node and says whether it was known', () => {
    table.register(registration('g1', 'n1', { role: 'leader' }));
    expect(table.unregister('c1', 'g1', 'n1')).to.equal(true);
    expect(table.unregister('c1', 'g1', 'n1')).to.equal(false);
    expect(table.brokers()).to.deep.equal([]);
  });

  it('parses int64 fields given as strings', () => {
    table.register(registration('g1', 'n1', { role: 'leader', term: '12', commitIndex: '9007199254740991' }));
    expect(table.brokers()[0]).to.include({ term: 12, commitIndex: Number.MAX_SAFE_INTEGER });
  });

  for (const [label, fields] of [
    ['an empty cluster', { cluster: '' }],
    ['an empty group', { group: '' }],
    ['a group id with a slash', { group: 'g/1' }],
    ['a node id over 64 characters', { nodeId: 'n'.repeat(65) }],
    ['an empty node id', { nodeId: '' }],
    ['an empty address', { brokerAddress: '' }],
    ['an address without a port', { brokerAddress: '10.0.0.1' }],
    ['an unknown role', { role: 'king' }],
    ['a negative term', { term: -1 }],
    ['a non-numeric term', { term: 'x' }],
    ['a topic without a name', { topics: [{ name: '' }] }],
    ['a topic listed twice', { topics: [{ name: 'a' }, { name: 'a' }] }],
  ] as Array<[string, Partial<BrokerRegistration>]>) {
    it(`refuses a registration with ${label} as BAD_REQUEST and stores nothing`, () => {
      expectLedgerError(() => table.register(registration('g1', 'n1', fields)), 'BAD_REQUEST');
      expect(table.brokers()).to.deep.equal([]);
    });
  }

  it('refuses new nodes beyond maxBrokers but still accepts their heartbeats', () => {
    table = new RouteTable({ clock: () => nowMs, maxBrokers: 2 });
    table.register(registration('g1', 'n1'));
    table.register(registration('g1', 'n2'));
    expectLedgerError(() => table.register(registration('g1', 'n3')), 'TOO_MANY_REQUESTS');
    expect(table.register(registration('g1', 'n2')).isNew).to.equal(false);
  });
});
