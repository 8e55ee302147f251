import { expect } from 'chai';
import { LedgerError } from '../common/errors.js';
import { ANY_QUEUE, PollWaiters } from './poll-waiters.js';

/** Which of the named waits have resolved so far. */
function track(waits: Record<string, Promise<void>>): Set<string> {
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
    await first;
    expect(waiters.size).to.equal(0);
    await waiters.wait('T', 0, 1);
  });
});
