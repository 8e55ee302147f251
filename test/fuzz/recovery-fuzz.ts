/**
 * Recovery fuzz of the CommitLog (in process, no network): a log of known records is closed, its
 * segment files are damaged (bit flips, truncation, zeroed ranges, garbage appended, a segment
 * removed, a stray segment-named file), and it is opened again, from position 0 or from a
 * checkpoint (segments below it are trusted at open). The log must either refuse to open with a
 * LedgerError, or open and then, for every index it holds, return exactly the record first
 * written or throw CorruptRecordError: it never serves a changed record, and it still takes
 * appends after the damage. test/store-damage.test.ts and test/raft-damage.test.ts cover what a
 * broker and its group do with such a log; this fuzzes the store rule underneath them.
 */
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CorruptRecordError, LedgerError } from '../../lib/common/errors.js';
import { silentLogger } from '../../lib/common/logger.js';
import { CommitLog } from '../../lib/store/commit-log.js';
import { EntryType } from '../../lib/store/record-format.js';
import { FuzzRandom } from '../../lib/fuzz/fuzz-random.js';
import { damageFile } from './file-damage.js';

export interface RecoveryFuzzOptions {
  seed: number;
  cases: number;
}

export interface RecoveryFuzzReport {
  cases: number;
  byDamage: Record<string, number>;
  /** opened / refused, and records served / refused as corrupt / cut. */
  outcomes: Record<string, number>;
  findings: string[];
}

const RECORDS = 150;
const SEGMENT_BYTES = 4096;

const bump = (counts: Record<string, number>, key: string, by = 1): void => {
  counts[key] = (counts[key] ?? 0) + by;
};

function segmentFiles(dir: string): string[] {
  return readdirSync(dir).filter((name) => /^\d{20}$/.test(name)).sort().map((name) => join(dir, name));
}

/** Applies one random damage to the log in `dir`: to one segment, or a segment removed, or a stray one added. */
function damage(dir: string, random: FuzzRandom): string {
  const files = segmentFiles(dir);
  const roll = random.float();
  if (roll < 0.75) return damageFile(random.chance(0.5) ? files[files.length - 1] : random.pick(files), random);
  if (roll < 0.87) {
    if (files.length < 2) return 'none';
    rmSync(random.pick(files));
    return 'remove';
  }
  writeFileSync(join(dir, String(random.int(0, 10 * SEGMENT_BYTES * 20)).padStart(20, '0')), random.bytes(200));
  return 'stray';
}

/** Writes the reference log; returns its records by index and the record boundaries. */
async function writeReference(dir: string, random: FuzzRandom): Promise<{ records: Buffer[]; positions: number[] }> {
  const log = await CommitLog.open({ dir, segmentSizeBytes: SEGMENT_BYTES, logger: silentLogger() });
  const appended = await log.append(Array.from({ length: RECORDS }, (_, i) => ({ term: 1 + Math.floor(i / 50), type: EntryType.MESSAGES, storeTimestampMs: 1_700_000_000_000 + i, body: random.bytes(180) })));
  await log.flush();
  const records: Buffer[] = [];
  for (let index = 1; index <= RECORDS; index += 1) records.push((await log.read(index)).record);
  await log.close();
  return { records, positions: appended.map((entry) => entry.position) };
}

/** Runs `options.cases` damaged copies of one reference log; see the file comment. */
export async function runRecoveryFuzz(options: RecoveryFuzzOptions): Promise<RecoveryFuzzReport> {
  const random = new FuzzRandom(options.seed);
  const root = mkdtempSync(join(tmpdir(), 'ledgermq-recovery-fuzz-'));
  const report: RecoveryFuzzReport = { cases: 0, byDamage: {}, outcomes: {}, findings: [] };
  try {
    const reference = join(root, 'reference');
    const { records, positions } = await writeReference(reference, random);
    for (let n = 0; n < options.cases; n += 1) {
      const copy = join(root, `case-${n}`);
      cpSync(reference, copy, { recursive: true });
      const damages = Array.from({ length: random.int(1, 3) }, () => damage(copy, random));
      for (const kind of damages) bump(report.byDamage, kind);
      const recoverFromPosition = random.chance(0.5) ? 0 : random.pick(positions);
      const what = `case ${n} (SEED=${options.seed}, damage ${damages.join('+')}, recoverFromPosition ${recoverFromPosition})`;
      report.cases += 1;
      let log: CommitLog;
      try {
        log = await CommitLog.open({ dir: copy, segmentSizeBytes: SEGMENT_BYTES, logger: silentLogger(), recoverFromPosition });
      } catch (error) {
        bump(report.outcomes, 'refusedToOpen');
        if (!(error instanceof LedgerError)) report.findings.push(`${what}: open failed without a LedgerError: ${String(error)}`);
        rmSync(copy, { recursive: true, force: true });
        continue;
      }
      try {
        bump(report.outcomes, 'opened');
        if (log.lastIndex > RECORDS) report.findings.push(`${what}: recovered up to index ${log.lastIndex}, past the ${RECORDS} written`);
        for (let index = Math.max(1, log.firstIndex); index <= Math.min(log.lastIndex, RECORDS); index += 1) {
          try {
            const entry = await log.read(index);
            if (!entry.record.equals(records[index - 1])) report.findings.push(`${what}: served a changed record at index ${index}`);
            else bump(report.outcomes, 'served');
          } catch (error) {
            if (error instanceof CorruptRecordError) bump(report.outcomes, 'refusedCorrupt');
            else report.findings.push(`${what}: read of index ${index} failed without CorruptRecordError: ${String(error)}`);
          }
        }
        bump(report.outcomes, 'cut', RECORDS - Math.min(log.lastIndex, RECORDS));
        // The damaged log keeps working: an append after the cut reads back.
        const [next] = await log.append([{ term: 9, type: EntryType.NOOP, storeTimestampMs: 1, body: Buffer.from('after') }]);
        await log.flush();
        if (!(await log.read(next.index)).body.equals(Buffer.from('after'))) report.findings.push(`${what}: an append after recovery did not read back`);
      } catch (error) {
        report.findings.push(`${what}: ${String(error)}`);
      } finally {
        await log.close().catch(() => undefined);
        rmSync(copy, { recursive: true, force: true });
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return report;
}
