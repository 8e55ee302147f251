import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { LedgerError } from '../common/errors.js';
import { silentLogger } from '../common/logger.js';
import { ConsumeQueueStore, STORE_TOPIC_PATTERN } from './consume-queue-store.js';
import { TOPIC_NAME_PATTERN } from '../broker/name-rules.js';
import { segmentFileName } from './record-format.js';
import { tagHash } from './tag-hash.js';

const UNITS_PER_FILE = 10;

/** Unit i points at position 1000 + 100 i with size 50 + i. */
function unit(i: number): { position: number; size: number; tagHash: bigint } {
  return { position: 1000 + 100 * i, size: 50 + i, tagHash: i % 3 === 0 ? 0n : tagHash(`tag-${i % 3}`) };
}

describe('ConsumeQueue and ConsumeQueueStore', () => {
  let dir: string;
  const logger = silentLogger();

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledgermq-consume-queue-'));
  });

  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function open(): ConsumeQueueStore {
    return ConsumeQueueStore.open({ dir, unitsPerFile: UNITS_PER_FILE, logger });
  }

  it('appends, reads pending and written units across files, and reloads them', async () => {
    const store = open();
    const queue = store.queue('orders', 2);
    const offsets = Array.from({ length: 35 }, (_, i) => queue.append(unit(i)));
    expect(offsets).to.deep.equal(Array.from({ length: 35 }, (_, i) => i));
    expect(queue.maxOffset).to.equal(35);
    const early = await queue.read(8, 5);
    expect(early).to.deep.equal([8, 9, 10, 11, 12].map((i) => ({ offset: i, ...unit(i) })));
    await store.flushAll();
    expect(queue.pendingUnits).to.equal(0);
    const queueDir = path.join(dir, 'orders', '2');
    expect(fs.readdirSync(queueDir).sort()).to.deep.equal([0, 200, 400, 600].map(segmentFileName));
    expect(fs.statSync(path.join(queueDir, segmentFileName(600))).size).to.equal(5 * 20);
    await store.close();

    const reopened = open();
    expect([...reopened.queues()].map((q) => `${q.topic}/${q.queueId}`)).to.deep.equal(['orders/2']);
    const again = reopened.queue('orders', 2);
    expect(again.minOffset).to.equal(0);
    expect(again.maxOffset).to.equal(35);
    const all = await again.read(0, 100);
    expect(all).to.deep.equal(Array.from({ length: 35 }, (_, i) => ({ offset: i, ...unit(i) })));
    expect(await again.read(35, 10)).to.deep.equal([]);
    expect(again.append(unit(35))).to.equal(35);
    expect((await again.read(34, 10)).map((u) => u.offset)).to.deep.equal([34, 35]);
    await reopened.close();
  });

  it('truncateFromPosition removes units at and after a position, across files, durably', async () => {
    const store = open();
    const queue = store.queue('orders', 0);
    for (let i = 0; i < 35; i += 1) queue.append(unit(i));
    await queue.truncateFromPosition(unit(17).position - 1);
    expect(queue.maxOffset).to.equal(17);
    expect((await queue.read(15, 10)).map((u) => u.offset)).to.deep.equal([15, 16]);
    expect(queue.append(unit(17))).to.equal(17);
    await queue.truncateFromPosition(unit(10).position);
    expect(queue.maxOffset).to.equal(10);
    await queue.truncateFromPosition(99_999_999);
    expect(queue.maxOffset).to.equal(10);
    await store.close();
    const reopened = open();
    const again = reopened.queue('orders', 0);
    expect(again.maxOffset).to.equal(10);
    expect(fs.readdirSync(path.join(dir, 'orders', '0')).sort()).to.deep.equal([0, 200].map(segmentFileName));
    expect(again.append(unit(10))).to.equal(10);
    await reopened.truncateAllFromPosition(0);
    expect(again.maxOffset).to.equal(0);
    await reopened.close();
  });

  it('cuts a torn unit at load', async () => {
    const store = open();
    const queue = store.queue('t', 1);
    for (let i = 0; i < 4; i += 1) queue.append(unit(i));
    await store.close();
    fs.appendFileSync(path.join(dir, 't', '1', segmentFileName(0)), Buffer.from([1, 2, 3]));
    const reopened = open();
    const again = reopened.queue('t', 1);
    expect(again.maxOffset).to.equal(4);
    expect(fs.statSync(path.join(dir, 't', '1', segmentFileName(0))).size).to.equal(80);
    await reopened.close();
  });

  it('refuses unsafe topic names, bad queue ids and position regressions', async () => {
    const store = open();
    for (const topic of ['..', '../x', 'a/b', '', 't'.repeat(128), 'a.b']) {
      expect(() => store.queue(topic, 0), topic).to.throw().with.property('code', 'ILLEGAL_TOPIC');
    }
    expect(() => store.queue('ok', -1)).to.throw().with.property('code', 'BAD_REQUEST');
    const queue = store.queue('%RETRY%group-1', 0);
    queue.append(unit(5));
    try {
      queue.append(unit(4));
      expect.fail('accepted a position regression');
    } catch (error) {
      expect((error as LedgerError).code).to.equal('PRECONDITION_FAILED');
    }
    expect(queue.maxOffset).to.equal(1);
    await store.close();
  });
});

describe('ConsumeQueueStore names', () => {
  it('accepts exactly the topic names brokers accept, and no path tricks', () => {
    expect(STORE_TOPIC_PATTERN.source).to.equal(TOPIC_NAME_PATTERN.source);
    for (const name of ['||', '%RETRY%g', 'a|b', 'Topic_1-x']) expect(ConsumeQueueStore.unfitQueue(name, 0), name).to.equal(null);
    for (const name of ['..', 'a/b', 'a.b', '', 'x'.repeat(128)]) expect(ConsumeQueueStore.unfitQueue(name, 0), name).to.not.equal(null);
    expect(ConsumeQueueStore.unfitQueue('ok', -1)).to.not.equal(null);
  });
});
