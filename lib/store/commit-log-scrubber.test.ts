import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CorruptRecordError } from '../common/errors.js';
import { silentLogger } from '../common/logger.js';
import { CommitLog } from './commit-log.js';
import type { AppendEntry, AppendedEntry } from './commit-log.js';
import { CommitLogScrubber } from './commit-log-scrubber.js';
import type { CommitLogScrubberOptions } from './commit-log-scrubber.js';
import { EntryType, RecordField, parseSegmentFileName } from './record-format.js';

const SEGMENT_BYTES = 64 * 1024;

function entries(from: number, to: number): AppendEntry[] {
  const list: AppendEntry[] = [];
  for (let index = from; index <= to; index += 1) list.push({ term: 1, type: EntryType.MESSAGES, storeTimestampMs: 1_700_000_000_000, body: Buffer.from(`record-${index}-${'y'.repeat(200 + (index % 50))}`) });
  return list;
}

async function waitUntil(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('CommitLogScrubber', () => {
  const logger = silentLogger();
  let dir: string;
  let log: CommitLog;
  let appended: AppendedEntry[];
  let scrubber: CommitLogScrubber | null;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledgermq-scrub-'));
    const writer = await CommitLog.open({ dir, segmentSizeBytes: SEGMENT_BYTES, logger });
    appended = await writer.append(entries(1, 1000));
    await writer.flush();
    await writer.close();
    scrubber = null;
  });

  afterEach(async () => {
    await scrubber?.stop();
    await log?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** XORs the byte `offset` bytes into record `index` on disk. */
  function damage(index: number, offset: number): void {
    const position = appended[index - 1].position + offset;
    const files = fs.readdirSync(dir).map((name) => ({ name, start: parseSegmentFileName(name) ?? -1 })).filter((file) => file.start >= 0 && file.start <= position);
    const file = files.sort((a, b) => b.start - a.start)[0];
    const fd = fs.openSync(path.join(dir, file.name), 'r+');
    try {
      const byte = Buffer.alloc(1);
      fs.readSync(fd, byte, 0, 1, position - file.start);
      byte[0] ^= 0x5a;
      fs.writeSync(fd, byte, 0, 1, position - file.start);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Opens the log as a restarted node does after a checkpoint at its end: recovery checks nothing. */
  async function reopen(): Promise<void> {
    const last = appended[appended.length - 1];
    log = await CommitLog.open({ dir, segmentSizeBytes: SEGMENT_BYTES, logger, recoverFromPosition: last.position + last.totalSize });
  }

  function scrub(overrides: Partial<CommitLogScrubberOptions> = {}): { found: CorruptRecordError[]; counters: { bytes: number; passes: number; damaged: number } } {
    const found: CorruptRecordError[] = [];
    const counters = { bytes: 0, passes: 0, damaged: 0 };
    scrubber = new CommitLogScrubber({
      commitLog: log,
      limitIndex: () => log.lastIndex,
      isHeld: () => false,
      onDamage: (error) => {
        found.push(error);
        return false;
      },
      bytesPerSecond: 1024 * 1024 * 1024,
      intervalMs: 0,
      logger,
      counters: { bytes: { inc: (value) => { counters.bytes += value; } }, passes: { inc: () => { counters.passes += 1; } }, damaged: { inc: () => { counters.damaged += 1; } } },
      ...overrides,
    });
    scrubber.start();
    return { found, counters };
  }

  it('checks every committed record of every segment in one pass', async () => {
    await reopen();
    const { found, counters } = scrub();
    await waitUntil('one pass', () => counters.passes === 1);
    const last = appended[appended.length - 1];
    expect(fs.readdirSync(dir).length, 'several segments').to.be.greaterThan(3);
    expect(found).to.deep.equal([]);
    expect(counters.bytes).to.equal(last.position + last.totalSize - appended[0].position);
    expect(scrubber!.status()).to.include({ passes: 1, nextIndex: 1001, damagedFound: 0 });
  });

  it('finds a byte flipped in a body, a CRC, a size field and a magic of cold records, at their index', async () => {
    damage(37, 100);
    damage(420, RecordField.CRC + 1);
    damage(600, RecordField.TOTAL_SIZE + 3);
    damage(800, RecordField.MAGIC);
    await reopen();
    expect(log.recovery.corruptRecords, 'recovery did not look at them').to.deep.equal([]);
    const { found, counters } = scrub();
    await waitUntil('one pass', () => counters.passes === 1);
    // A single node steps over the rest of a damaged segment (each of these is in its own segment).
    expect(found.map((error) => error.index)).to.deep.equal([37, 420, 600, 800]);
    expect(found.map((error) => error.position)).to.deep.equal([37, 420, 600, 800].map((index) => appended[index - 1].position));
    expect(counters.damaged).to.equal(4);
    expect(scrubber!.status().nextIndex).to.equal(1001);
  });

  it('reads nothing past the limit (uncommitted records may still be cut by Raft)', async () => {
    damage(900, 100);
    await reopen();
    const { found, counters } = scrub({ limitIndex: () => 800 });
    await waitUntil('one pass', () => counters.passes === 1);
    expect(found).to.deep.equal([]);
    expect(scrubber!.status().nextIndex).to.equal(801);
  });

  it('hands damage to the repair, holds while it cuts at the damaged header and refetches, then finishes the pass', async () => {
    damage(300, RecordField.MAGIC);
    await reopen();
    let held = false;
    const { found, counters } = scrub({
      isHeld: () => held,
      onDamage: (error) => {
        found.push(error);
        held = true;
        return true;
      },
    });
    await waitUntil('the damage', () => found.length === 1);
    // The repair, as RaftNode does it: cut just before the damaged record (a cold segment whose
    // header walk stops at the damage), then store the same records again from an intact copy.
    await log.truncateAfter(found[0].index! - 1);
    const counted = counters.bytes;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(counters.bytes - counted, 'bytes read while held').to.equal(0);
    await log.append(entries(300, 1000));
    await log.flush();
    held = false;
    await waitUntil('the pass to end', () => counters.passes === 1);
    expect(found.map((error) => error.index)).to.deep.equal([300]);
    expect(scrubber!.status().nextIndex).to.equal(1001);
    for (const index of [1, 299, 300, 301, 1000]) expect((await log.read(index)).body.toString()).to.match(new RegExp(`^record-${index}-`));
  });

  it('starts again from a segment start after a cut under a running pass, and reads the rewritten records', async () => {
    await reopen();
    const { found, counters } = scrub({ bytesPerSecond: 256 * 1024 });
    await waitUntil('the first read', () => counters.bytes > 0);
    const firstRead = counters.bytes;
    const cursorBefore = scrubber!.status().nextIndex;
    // A cut below the cursor, then other (longer) records at the same indexes.
    await log.truncateAfter(10);
    await log.append(entries(11, 1000).map((entry) => ({ ...entry, body: Buffer.concat([entry.body, Buffer.from('-rewritten')]) })));
    await log.flush();
    await waitUntil('the pass to end', () => counters.passes === 1);
    expect(found, 'a cut is not damage').to.deep.equal([]);
    expect(scrubber!.status().nextIndex).to.equal(1001);
    // Records rewritten in segments before the cursor's are left to the next pass; from the start
    // of the segment now holding the cursor's index on, every rewritten record was read.
    const restart = log.cursorAt(cursorBefore).position;
    const last = await log.read(1000);
    expect(counters.bytes - firstRead).to.equal(last.position + last.record.length - restart);
  });

  it('keeps to its read rate and stops at once when asked', async () => {
    await reopen();
    const { counters } = scrub({ bytesPerSecond: 64 * 1024 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    // One read is at most one 64 KiB segment, then a second's pause; the log holds more than 200 KiB.
    expect(counters.passes).to.equal(0);
    expect(counters.bytes).to.be.at.most(2 * 64 * 1024);
    const stopping = Date.now();
    await scrubber!.stop();
    expect(Date.now() - stopping).to.be.below(1_000);
    expect(scrubber!.status().running).to.equal(false);
  });
});
