import { expect } from 'chai';
import { LedgerError } from '../common/errors.js';
import { performance } from 'node:perf_hooks';
import { ANY_QUEUE, PollWaiters, expiryGranularityMs } from './poll-waiters.js';

/** Which of the named waits have resolved so far. */
function track(waits: Record<string, Promise<unknown>>): Set<string> {
  const done = new Set<string>();
  for (const [name, wait] of Object.entries(waits)) void wait.then(() => done.add(name));
  return done;
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('PollWaiters', () => {
  it('wakes only the requests parked on the queue that got a message, and those parked on any queue of its topic', async () => {
    const waiters = new PollWaiters(100);
    const done = track({
      q1: waiters.wait('T', 1, 60_000),
      q2: waiters.wait('T', 2, 60_000),
      any: waiters.wait('T', ANY_QUEUE, 60_000),
      other: waiters.wait('U', 1, 60_000),
    });
    expect(waiters.size).to.equal(4);
    waiters.notify('T', 1);
    await tick();
    expect([...done].sort()).to.deep.equal(['any', 'q1']);
    expect(waiters.size).to.equal(2);
    waiters.notify('T');
    await tick();
    expect([...done].sort()).to.deep.equal(['any', 'q1', 'q2']);
    waiters.releaseAll();
    await tick();
    expect(done.size).to.equal(4);
    expect(waiters.size).to.equal(0);
  });

  it('releases a request when its time is up, and refuses one past the limit with TOO_MANY_REQUESTS', async () => {
    const waiters = new PollWaiters(1);
    const first = waiters.wait('T', 0, 5);
    const refused = await waiters.wait('T', 0, 5).then(() => null, (error: unknown) => error);
    expect(refused).to.be.instanceOf(LedgerError);
    expect((refused as LedgerError).code).to.equal('TOO_MANY_REQUESTS');
    expect(await first).to.equal('timeout');
    expect(waiters.size).to.equal(0);
    expect(await waiters.wait('T', 0, 1)).to.equal('timeout');
  });

  it('batches timeouts: waits due in one slot share a timer and end together, never early and at most a slot late', async () => {
    let now = 1_000_000;
    const waiters = new PollWaiters(100, () => now);
    expect(expiryGranularityMs(30_000)).to.equal(1_000);
    expect(expiryGranularityMs(5_000)).to.equal(100);
    expect(expiryGranularityMs(50)).to.equal(10);
    // Due at 1,030,001 .. 1,030,932 (clock): all in the slot that ends at 1,031,000.
    const started = performance.now();
    const waits = Array.from({ length: 50 }, (_, i) => {
      now = 1_000_001 + i * 19;
      return waiters.wait('T', i % 4, 30_000);
    });
    expect(waiters.size).to.equal(50);
    expect(waiters.timers, 'one timer for the slot, not one per request').to.equal(1);
    // A short wait gets a fine slot of its own.
    now = 1_000_000;
    const short = waiters.wait('T', 0, 25);
    expect(waiters.timers).to.equal(2);
    expect(await short).to.equal('timeout');
    expect(performance.now() - started).to.be.at.least(24).and.below(1_000);
    expect(waiters.timers).to.equal(1);
    // A 1.5 s wait sits in a 100 ms slot: not early, at most a slot late.
    const midStarted = performance.now();
    expect(await waiters.wait('U', 0, 1_500)).to.equal('timeout');
    expect(performance.now() - midStarted).to.be.at.least(1_499).and.below(1_500 + 100 + 500);
    waiters.notify('T', 1);
    await tick();
    expect(waiters.size).to.equal(50 - 13);
    waiters.releaseAll();
    expect(new Set(await Promise.all(waits))).to.deep.equal(new Set(['notified']));
    expect(waiters.timers, 'an empty slot disarms its timer').to.equal(0);
  });

  it('frees the slot of a request given up through its abort signal, at once and only that one', async () => {
    const waiters = new PollWaiters(2);
    const controller = new AbortController();
    const given = waiters.wait('T', 0, 60_000, { signal: controller.signal });
    const done = track({ given, kept: waiters.wait('T', 0, 60_000) });
    expect(waiters.size).to.equal(2);
    controller.abort();
    expect(await given).to.equal('aborted');
    await tick();
    expect([...done]).to.deep.equal(['given']);
    expect(waiters.size).to.equal(1);
    // Aborted before it parks: resolves at once and takes no slot.
    expect(await waiters.wait('T', 0, 60_000, { signal: controller.signal })).to.equal('aborted');
    expect(waiters.size).to.equal(1);
    waiters.releaseAll();
    await tick();
    expect(done.size).to.equal(2);
  });
});
