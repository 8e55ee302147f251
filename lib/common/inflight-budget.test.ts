import { expect } from 'chai';
import { InflightBudget } from './inflight-budget.js';
import type { Reservation } from './inflight-budget.js';

const limits = { maxInflightBytes: 100, maxInflightBytesPerConnection: 60, maxWaiting: 4, maxWaitingPerConnection: 3 };

/** Asks and records the grant (or the refusal). */
function ask(budget: InflightBudget, connection: string, bytes: number): { granted: Reservation | null; answer: ReturnType<InflightBudget['request']> } {
  const slot: { granted: Reservation | null; answer: ReturnType<InflightBudget['request']> } = { granted: null, answer: 'read_queue_node' };
  slot.answer = budget.request(connection, bytes, (r) => {
    slot.granted = r;
  });
  return slot;
}

describe('InflightBudget', () => {
  it('grants at once under both budgets, and makes requests wait (not refused) over them', () => {
    const budget = new InflightBudget(() => limits);
    const a = ask(budget, 'c1', 50);
    expect(a.granted).to.not.equal(null);
    const b = ask(budget, 'c1', 50); // over c1's 60
    expect(b.granted).to.equal(null);
    expect(typeof b.answer).to.equal('function');
    const c = ask(budget, 'c2', 50); // c2 fits: 100 in all
    expect(c.granted).to.not.equal(null);
    expect(budget.usedBytes).to.equal(100);
    expect(budget.waitingRequests).to.equal(1);
    a.granted!.release();
    expect(b.granted).to.not.equal(null);
    expect(budget.usedBytes).to.equal(100);
    expect(budget.peakBytes).to.equal(100);
  });

  it('never holds more request bytes than the budget, whatever the order of asks and releases', () => {
    const budget = new InflightBudget(() => limits);
    const held: Reservation[] = [];
    let seed = 7;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let step = 0; step < 5_000; step++) {
      if (random() < 0.55) {
        const connection = `c${Math.floor(random() * 3)}`;
        budget.request(connection, 1 + Math.floor(random() * 40), (r) => {
          held.push(r);
          // Decoded: the grant shrinks to the real size.
          r.resize(Math.floor(random() * 10));
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
  });

  it('refuses once the wait is full, per connection and in the process', () => {
    const budget = new InflightBudget(() => limits);
    ask(budget, 'c1', 60);
    for (let i = 0; i < 3; i++) expect(typeof ask(budget, 'c1', 10).answer).to.equal('function');
    expect(ask(budget, 'c1', 10).answer).to.equal('read_queue_connection');
    ask(budget, 'c2', 40); // fills the node: c2 waits from now on
    expect(typeof ask(budget, 'c2', 10).answer).to.equal('function');
    expect(ask(budget, 'c3', 10).answer).to.equal('read_queue_node');
  });

  it('grants round robin across connections: one flooding connection does not starve another', () => {
    const budget = new InflightBudget(() => ({ ...limits, maxWaiting: 100, maxWaitingPerConnection: 50 }));
    const first = ask(budget, 'flood', 100);
    const order: string[] = [];
    for (let i = 0; i < 10; i++) budget.request('flood', 100, (r) => { order.push('flood'); r.release(); });
    budget.request('quiet', 100, (r) => { order.push('quiet'); r.release(); });
    first.granted!.release();
    expect(order.indexOf('quiet')).to.be.at.most(1);
    expect(order).to.have.length(11);
  });

  it('a cancelled wait is never granted, and answers are held without waiting', () => {
    const budget = new InflightBudget(() => limits);
    const a = ask(budget, 'c1', 60);
    const b = ask(budget, 'c1', 10);
    (b.answer as () => void)();
    const answer = budget.hold('c1', 500);
    expect(budget.usedBytes).to.equal(560);
    answer.release();
    a.granted!.release();
    expect(b.granted).to.equal(null);
    expect(budget.usedBytes).to.equal(0);
    expect(budget.waitingRequests).to.equal(0);
  });
});
