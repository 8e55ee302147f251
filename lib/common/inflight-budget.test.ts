import { expect } from 'chai';
import { InflightBudget } from './inflight-budget.js';
import type { InflightBudgetLimits, Reservation } from './inflight-budget.js';

const limits: InflightBudgetLimits = { maxInflightBytes: 100, maxInflightBytesPerClient: 60, maxReadingPerClient: 2, maxReadingPerConnection: 3, maxWaiting: 4, maxWaitingPerClient: 3 };

interface Asked {
  granted: Reservation | null;
  answer: ReturnType<InflightBudget['request']>;
}

/** Asks and records the grant (or the refusal). */
function ask(budget: InflightBudget, client: string, bytes: number, connection = `conn-${client}`): Asked {
  const slot: Asked = { granted: null, answer: 'read_queue_node' };
  slot.answer = budget.request(client, connection, bytes, (r) => {
    slot.granted = r;
  });
  return slot;
}

describe('InflightBudget', () => {
  it('grants reads under the process budget and makes the others wait, unrefused, until bytes come back', () => {
    const budget = new InflightBudget(() => limits);
    const a = ask(budget, 'c1', 40);
    const b = ask(budget, 'c2', 40);
    const c = ask(budget, 'c3', 40); // 120 > 100: waits
    expect([a.granted, b.granted].every((g) => g !== null)).to.equal(true);
    expect(c.granted).to.equal(null);
    expect(typeof c.answer).to.equal('function');
    expect(budget.waitingRequests).to.equal(1);
    a.granted!.resize(5); // decoded: 5 bytes
    expect(c.granted).to.not.equal(null);
    expect(budget.usedBytes).to.equal(85);
  });

  it('gives one client at most maxReadingPerClient reads at once, and none that would pass its share of bytes', () => {
    const budget = new InflightBudget(() => ({ ...limits, maxInflightBytes: 1_000 }));
    const reads = [ask(budget, 'c1', 10), ask(budget, 'c1', 10), ask(budget, 'c1', 10)];
    expect(reads.map((r) => r.granted !== null)).to.deep.equal([true, true, false]);
    reads[0].granted!.resize(45); // decoded: c1 holds 55, a read of 10 would pass its 60
    reads[1].granted!.resize(10);
    expect(reads[2].granted).to.equal(null);
    const other = ask(budget, 'c2', 10);
    expect(other.granted).to.not.equal(null);
    reads[0].granted!.release();
    expect(reads[2].granted).to.not.equal(null);
    // A grant larger than a client's whole share is given when it holds nothing.
    expect(ask(budget, 'c3', 80).granted).to.not.equal(null);
  });

  it('never holds more request bytes than the budget, whatever the order of asks, decodes and releases', () => {
    const budget = new InflightBudget(() => ({ ...limits, maxWaiting: 1_000, maxWaitingPerClient: 1_000 }));
    const held: Reservation[] = [];
    let seed = 7;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let step = 0; step < 5_000; step++) {
      if (random() < 0.55) {
        const grant = 1 + Math.floor(random() * 40);
        const client = `c${Math.floor(random() * 3)}`;
        budget.request(client, client, grant, (r) => {
          held.push(r);
          // Decoded: never more than the grant (the receive limit).
          r.resize(Math.min(grant, Math.floor(random() * 10)));
        });
      } else if (held.length > 0) {
        held.splice(Math.floor(random() * held.length), 1)[0].release();
      }
      expect(budget.usedBytes).to.be.at.most(limits.maxInflightBytes);
    }
    // Each release may grant a waiting request, which joins `held`.
    while (held.length > 0) held.shift()!.release();
    expect(budget.usedBytes).to.equal(0);
    expect(budget.waitingRequests).to.equal(0);
    expect(budget.clientBytes('c0') + budget.clientBytes('c1') + budget.clientBytes('c2')).to.equal(0);
  });

  it('refuses once the wait is full, for one client and in the process', () => {
    const budget = new InflightBudget(() => limits);
    ask(budget, 'c1', 100);
    for (let i = 0; i < 3; i++) expect(typeof ask(budget, 'c1', 10).answer).to.equal('function');
    expect(ask(budget, 'c1', 10).answer).to.equal('read_queue_client');
    expect(typeof ask(budget, 'c2', 10).answer).to.equal('function');
    expect(ask(budget, 'c3', 10).answer).to.equal('read_queue_node');
  });

  it('grants round robin across clients: one flooding client does not starve another', () => {
    const budget = new InflightBudget(() => ({ ...limits, maxWaiting: 100, maxWaitingPerClient: 50 }));
    const first = ask(budget, 'flood', 100);
    const order: string[] = [];
    for (let i = 0; i < 10; i++) budget.request('flood', 'f', 100, (r) => { order.push('flood'); r.release(); });
    budget.request('quiet', 'q', 100, (r) => { order.push('quiet'); r.release(); });
    first.granted!.release();
    expect(order.indexOf('quiet')).to.be.at.most(1);
    expect(order).to.have.length(11);
  });

  it('a cancelled wait is never granted, and answers are held without waiting', () => {
    const budget = new InflightBudget(() => limits);
    const a = ask(budget, 'c1', 100);
    const b = ask(budget, 'c1', 10);
    (b.answer as () => void)();
    const answer = budget.hold('c1', 500);
    expect(budget.usedBytes).to.equal(600);
    answer.release();
    a.granted!.release();
    expect(b.granted).to.equal(null);
    expect(budget.usedBytes).to.equal(0);
    expect(budget.waitingRequests).to.equal(0);
  });

  it('caps reads per connection whatever client ids it names', () => {
    const budget = new InflightBudget(() => ({ ...limits, maxInflightBytes: 1_000 }));
    const reads = ['a', 'b', 'c', 'd'].map((id) => ask(budget, id, 10, 'one-connection'));
    expect(reads.map((r) => r.granted !== null)).to.deep.equal([true, true, true, false]);
    reads[0].granted!.resize(1); // decoded: no longer being read
    expect(reads[3].granted).to.not.equal(null);
  });

  it('grants nothing while the extra condition is false, and grants on wake', () => {
    let open = false;
    const budget = new InflightBudget(() => limits, () => open);
    const a = ask(budget, 'c1', 1);
    expect(a.granted).to.equal(null);
    open = true;
    budget.wake();
    expect(a.granted).to.not.equal(null);
  });
});
