import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { LedgerError } from '../common/errors.js';
import { CorruptRecordError } from '../common/errors.js';
import { silentLogger } from '../common/logger.js';
import { CommitLog } from './commit-log.js';
import type { AppendEntry } from './commit-log.js';
import { FatalStoreError } from './fatal-store-error.js';
import { decodeStoredMessage, encodeMessageBatch } from './message-codec.js';
import { EntryType, RECORD_HEADER_SIZE_BYTES, segmentFileName } from './record-format.js';

function entry(term: number, text: string): AppendEntry {
  return { term, type: EntryType.MESSAGES, storeTimestampMs: 1_700_000_000_000, body: Buffer.from(text) };
}

function bodyOf(index: number): string {
  return `entry-${index}-${'x'.repeat(index % 37)}`;
}

async function expectRejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

function segmentFiles(dir: string): string[] {
  return fs.readdirSync(dir).sort();
}

describe('CommitLog', () => {
  let dir: string;
  const logger = silentLogger();

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledgermq-commit-log-'));
  });

  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function filled(count: number, segmentSizeBytes = 1024): Promise<CommitLog> {
    const log = await CommitLog.open({ dir, segmentSizeBytes, logger });
    const entries: AppendEntry[] = [];
    for (let index = 1; index <= count; index += 1) entries.push(entry(1 + Math.floor(index / 100), bodyOf(index)));
    await log.append(entries);
    await log.flush();
    return log;
  }

  it('round-trips entries across segment rolls, also after reopening', async () => {
    const log = await filled(600);
    expect(log.firstIndex).to.equal(1);
    expect(log.lastIndex).to.equal(600);
    expect(log.lastTerm).to.equal(7);
    expect(log.durableIndex).to.equal(600);
    const files = segmentFiles(dir);
    expect(files.length).to.be.greaterThan(10);
    expect(files[0]).to.equal(segmentFileName(0));
    for (const file of files) expect(fs.statSync(path.join(dir, file)).size).to.be.at.most(1024);
    const endPosition = log.endPosition;
    await log.close();

    const reopened = await CommitLog.open({ dir, segmentSizeBytes: 1024, logger });
    expect(reopened.lastIndex).to.equal(600);
    expect(reopened.endPosition).to.equal(endPosition);
    expect(reopened.recovery.truncatedAtPosition).to.equal(null);
    for (const index of [1, 2, 255, 256, 257, 300, 599, 600]) {
      const read = await reopened.read(index);
      expect(read.index).to.equal(index);
      expect(read.body.toString()).to.equal(bodyOf(index));
      expect(await reopened.termAt(index)).to.equal(1 + Math.floor(index / 100));
    }
    const range = await reopened.readRange(250, 1_000_000, 420);
    expect(range.map((e) => e.index)).to.deep.equal(Array.from({ length: 171 }, (_, i) => 250 + i));
    expect(range.every((e) => e.body.toString() === bodyOf(e.index))).to.equal(true);
    const small = await reopened.readRange(10, 1);
    expect(small.map((e) => e.index)).to.deep.equal([10]);
    expect((await reopened.readRange(600, 0)).map((e) => e.index)).to.deep.equal([600]);
    const appended = await reopened.append([entry(9, 'after reopen')]);
    expect(appended[0].index).to.equal(601);
    expect((await reopened.readBytes(appended[0].bodyPosition, 12)).toString()).to.equal('after reopen');
    await expectRejection(reopened.read(602)).then((error) => expect((error as LedgerError).code).to.equal('NOT_FOUND'));
    await reopened.close();
  });

  it('assigns indexes in call order to overlapping appends and serves unwritten bytes', async () => {
    const log = await CommitLog.open({ dir, segmentSizeBytes: 4096, logger });
    const first = log.append([entry(1, 'a'), entry(1, 'b')]);
    const second = log.append([entry(1, 'c')]);
    expect(log.lastIndex).to.equal(3);
    const [a, c] = await Promise.all([first, second]);
    expect(a.map((e) => e.index)).to.deep.equal([1, 2]);
    expect(c[0].index).to.equal(3);
    expect(c[0].position).to.equal(a[1].position + a[1].totalSize);
    expect(c[0].bodyPosition).to.equal(c[0].position + RECORD_HEADER_SIZE_BYTES);
    const pending = log.append([entry(2, 'pending-bytes')]);
    const [{ bodyPosition }] = [{ bodyPosition: log.endPosition - 'pending-bytes'.length }];
    expect((await log.readBytes(bodyPosition, 13)).toString()).to.equal('pending-bytes');
    await pending;
    await expectRejection(log.append([entry(1, 'older term')])).then((error) => expect((error as LedgerError).code).to.equal('PRECONDITION_FAILED'));
    await log.close();
  });

  it('group commit: many concurrent appends and flushes share fewer fsyncs', async () => {
    const log = await CommitLog.open({ dir, segmentSizeBytes: 1 << 20, logger });
    const calls: Array<Promise<unknown>> = [];
    for (let i = 0; i < 200; i += 1) {
      calls.push(log.append([entry(1, `m${i}`)]));
      calls.push(log.flush());
    }
    await Promise.all(calls);
    expect(log.durableIndex).to.equal(200);
    expect(log.stats.fsyncCalls).to.be.greaterThan(0);
    expect(log.stats.fsyncCalls).to.be.lessThan(200);
    expect(log.stats.writeCalls).to.be.lessThan(200);
    await log.close();
  });

  it('applies back-pressure without losing order', async () => {
    const log = await CommitLog.open({ dir, segmentSizeBytes: 1 << 20, maxPendingBytes: 200, logger });
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => log.append([entry(1, `payload-${i}-${'p'.repeat(30)}`)])));
    expect(results.map((r) => r[0].index)).to.deep.equal(Array.from({ length: 50 }, (_, i) => i + 1));
    for (const index of [1, 25, 50]) expect((await log.read(index)).body.toString()).to.match(new RegExp(`^payload-${index - 1}-`));
    await log.close();
  });

  it('rejects oversized records', async () => {
    const log = await CommitLog.open({ dir, logger });
    const error = await expectRejection(log.append([{ ...entry(1, ''), body: Buffer.alloc(64 * 1024 * 1024) }]));
    expect((error as LedgerError).code).to.equal('PAYLOAD_TOO_LARGE');
    await log.close();
  });

  it('cuts a torn tail at reopen and keeps every earlier record', async () => {
    const log = await filled(300);
    const last = await log.read(300);
    await log.close();
    const files = segmentFiles(dir);
    const lastFile = path.join(dir, files.at(-1)!);
    const start = Number(files.at(-1));
    fs.truncateSync(lastFile, last.position - start + 10);
    const reopened = await CommitLog.open({ dir, segmentSizeBytes: 1024, logger });
    expect(reopened.lastIndex).to.equal(299);
    expect(reopened.recovery.truncatedAtPosition).to.equal(last.position);
    expect(reopened.recovery.bytesCut).to.equal(10);
    expect(reopened.recovery.reason).to.match(/torn/);
    expect(reopened.endPosition).to.equal(last.position);
    expect((await reopened.read(299)).body.toString()).to.equal(bodyOf(299));
    expect((await reopened.append([entry(5, 'next')]))[0].index).to.equal(300);
    await reopened.close();
  });

  it('cuts garbage after the tail', async () => {
    const log = await filled(20, 1 << 20);
    const endPosition = log.endPosition;
    await log.close();
    fs.appendFileSync(path.join(dir, segmentFileName(0)), Buffer.from('this is not a record, just garbage bytes of some length'));
    const reopened = await CommitLog.open({ dir, segmentSizeBytes: 1 << 20, logger });
    expect(reopened.lastIndex).to.equal(20);
    expect(reopened.recovery.truncatedAtPosition).to.equal(endPosition);
    expect(fs.statSync(path.join(dir, segmentFileName(0))).size).to.equal(endPosition);
    await reopened.close();
  });

  it('keeps a record corrupt in place, reports it, and fails only its reads', async () => {
    const log = await filled(50, 1 << 20);
    const victim = await log.read(20);
    await log.close();
    const file = path.join(dir, segmentFileName(0));
    const bytes = fs.readFileSync(file);
    bytes[victim.position + RECORD_HEADER_SIZE_BYTES + 3] ^= 0xff;
    fs.writeFileSync(file, bytes);
    const reopened = await CommitLog.open({ dir, segmentSizeBytes: 1 << 20, logger });
    expect(reopened.lastIndex).to.equal(50);
    expect(reopened.recovery.truncatedAtPosition).to.equal(null);
    expect(reopened.recovery.corruptRecords).to.deep.equal([{ segmentFile: segmentFileName(0), position: victim.position, index: 20 }]);
    const error = await expectRejection(reopened.read(20));
    expect(error).to.be.instanceOf(CorruptRecordError);
    expect((error as CorruptRecordError).position).to.equal(victim.position);
    expect((await reopened.read(19)).body.toString()).to.equal(bodyOf(19));
    expect((await reopened.read(21)).body.toString()).to.equal(bodyOf(21));
    await expectRejection(reopened.readRange(18, 1_000_000)).then((e) => expect(e).to.be.instanceOf(CorruptRecordError));
    await reopened.close();
  });

  it('cuts a corrupt last record (nothing valid follows it)', async () => {
    const log = await filled(10, 1 << 20);
    const victim = await log.read(10);
    await log.close();
    const file = path.join(dir, segmentFileName(0));
    const bytes = fs.readFileSync(file);
    bytes[victim.position + RECORD_HEADER_SIZE_BYTES] ^= 0x01;
    fs.writeFileSync(file, bytes);
    const reopened = await CommitLog.open({ dir, logger });
    expect(reopened.lastIndex).to.equal(9);
    expect(reopened.recovery.truncatedAtPosition).to.equal(victim.position);
    expect(reopened.recovery.reason).to.match(/crc/);
    await reopened.close();
  });

  it('recovers from a checkpoint position and still knows earlier indexes', async () => {
    const log = await filled(400);
    const checkpoint = (await log.read(350)).position;
    await log.close();
    const reopened = await CommitLog.open({ dir, segmentSizeBytes: 1024, logger, recoverFromPosition: checkpoint });
    expect(reopened.recovery.scannedFromPosition).to.equal(checkpoint);
    expect(reopened.firstIndex).to.equal(1);
    expect(reopened.lastIndex).to.equal(400);
    expect(reopened.lastTerm).to.equal(5);
    for (const index of [1, 100, 349, 350, 400]) expect((await reopened.read(index)).body.toString()).to.equal(bodyOf(index));
    await reopened.close();
  });

  it('truncateAfter drops later entries durably, across segments', async () => {
    const log = await filled(300);
    const cutAt = await log.read(101);
    await log.truncateAfter(100);
    expect(log.lastIndex).to.equal(100);
    expect(log.lastTerm).to.equal(2);
    expect(log.endPosition).to.equal(cutAt.position);
    await expectRejection(log.read(101)).then((error) => expect((error as LedgerError).code).to.equal('NOT_FOUND'));
    const [appended] = await log.append([entry(3, 'replacement')]);
    expect(appended.index).to.equal(101);
    await log.close();
    const reopened = await CommitLog.open({ dir, segmentSizeBytes: 1024, logger });
    expect(reopened.lastIndex).to.equal(101);
    expect((await reopened.read(101)).body.toString()).to.equal('replacement');
    expect((await reopened.read(100)).body.toString()).to.equal(bodyOf(100));
    await reopened.close();
  });

  it('makes a failed fsync fatal for every later call', async () => {
    let failing = false;
    const log = await CommitLog.open({ dir, logger, faults: { failFsync: () => failing } });
    await log.append([entry(1, 'ok')]);
    await log.flush();
    failing = true;
    await log.append([entry(1, 'not durable')]);
    const first = await expectRejection(log.flush());
    expect(first).to.be.instanceOf(FatalStoreError);
    failing = false;
    expect(await expectRejection(log.flush())).to.equal(first);
    expect(await expectRejection(log.append([entry(1, 'later')]))).to.be.instanceOf(FatalStoreError);
    expect(log.durableIndex).to.equal(1);
    await log.close();
  });

  it('serves one stored message through readBytes at record position + 40 + offset', async () => {
    const log = await CommitLog.open({ dir, segmentSizeBytes: 4096, logger });
    const message = { topic: 'orders', queueId: 1, body: Buffer.from('payload'), tag: 'TagA', keys: ['k'], properties: { p: 'v' }, messageId: 'id-1', bornTimestampMs: 5, bornHost: 'h:1', messageGroup: '', deliveryTimestampMs: 0, messageType: 0 };
    const batch = encodeMessageBatch([message, { ...message, messageId: 'id-2' }]);
    const [appended] = await log.append([{ term: 1, type: EntryType.MESSAGES, storeTimestampMs: 9, body: batch.body }]);
    const second = batch.messages[1];
    const bytes = await log.readBytes(appended.position + RECORD_HEADER_SIZE_BYTES + second.offset, second.size);
    expect(decodeStoredMessage(bytes)).to.deep.equal({ ...message, messageId: 'id-2' });
    await expectRejection(log.readBytes(log.endPosition - 2, 10)).then((error) => expect((error as LedgerError).code).to.equal('BAD_REQUEST'));
    await log.close();
  });

  it('makes a failed write fatal and never reports it durable', async () => {
    let failing = false;
    const log = await CommitLog.open({ dir, logger, faults: { failWrite: () => failing } });
    await log.append([entry(1, 'ok')]);
    failing = true;
    const error = await expectRejection(log.append([entry(1, 'lost')]));
    expect(error).to.be.instanceOf(FatalStoreError);
    expect(await expectRejection(log.flush())).to.equal(error);
    expect(log.durableIndex).to.be.at.most(1);
    await log.close();
    const reopened = await CommitLog.open({ dir, logger });
    expect(reopened.lastIndex).to.equal(1);
    await reopened.close();
  });
});
