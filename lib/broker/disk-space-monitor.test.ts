import { expect } from 'chai';
import { silentLogger } from '../common/logger.js';
import { LedgerError } from '../common/errors.js';
import { DiskSpaceMonitor, diskThresholds, isNoSpaceError, nextDiskLevel } from './disk-space-monitor.js';
import type { DiskLevel, DiskSample, DiskWatermarks } from './disk-space-monitor.js';

const MIB = 1024 * 1024;
/** A 1000 MiB filesystem: refuse under 100 MiB free (0.90), resume at 150 MiB (0.85), critical under 10 MiB, left at 20 MiB. */
const marks: DiskWatermarks = {
  diskSpaceWarningLevelRatio: 0.9, diskSpaceResumeLevelRatio: 0.85, diskMinFreeBytes: 50 * MIB, diskResumeFreeBytes: 60 * MIB, diskCriticalFreeBytes: 10 * MIB,
};
const size = 1000 * MIB;
const at = (freeMib: number): DiskSample => ({ freeBytes: freeMib * MIB, sizeBytes: size });

describe('disk-space watermarks', () => {
  it('takes the larger of the ratio and the absolute floor', () => {
    expect(diskThresholds(marks, size)).to.deep.equal({ refuseBelow: 100 * MIB, resumeAt: 150 * MIB, criticalBelow: 10 * MIB, criticalResumeAt: 20 * MIB });
    // A small filesystem: the byte floors win.
    expect(diskThresholds(marks, 100 * MIB)).to.include({ refuseBelow: 50 * MIB, resumeAt: 60 * MIB });
  });

  it('refuses under the low mark and resumes only above the high one (hysteresis), both levels', () => {
    const walk = (frees: number[]): DiskLevel[] => {
      let level: DiskLevel = 'ok';
      return frees.map((free) => (level = nextDiskLevel(level, at(free), marks)));
    };
    expect(walk([500, 101, 99, 120, 149, 150, 120])).to.deep.equal(['ok', 'ok', 'producers-refused', 'producers-refused', 'producers-refused', 'ok', 'ok']);
    expect(walk([99, 9, 15, 19, 20, 149, 150])).to.deep.equal(['producers-refused', 'critical', 'critical', 'critical', 'producers-refused', 'producers-refused', 'ok']);
  });

  it('the monitor answers DISK_FULL by level and counts refusals by kind', async () => {
    let free = 500;
    const refused: string[] = [];
    const monitor = new DiskSpaceMonitor({ dir: '/nowhere', marks, intervalMs: 60_000, logger: silentLogger(), onRefused: (kind) => refused.push(kind), sample: () => Promise.resolve(at(free)) });
    await monitor.start();
    try {
      monitor.checkProducerWrite();
      free = 50;
      await monitor.checkNow();
      expect(() => monitor.checkProducerWrite()).to.throw(LedgerError).with.property('code', 'DISK_FULL');
      monitor.checkInternalWrite();
      expect(monitor.acceptsReplicatedEntries()).to.equal(true);
      free = 5;
      await monitor.checkNow();
      expect(() => monitor.checkInternalWrite()).to.throw(LedgerError, /DISK_FULL/);
      expect(monitor.acceptsReplicatedEntries()).to.equal(false);
      expect(refused).to.deep.equal(['producer', 'internal', 'replication']);
      expect(monitor.status()).to.include({ level: 'critical', freeBytes: 5 * MIB });
    } finally {
      monitor.stop();
    }
  });

  it('recognises ENOSPC from Node and from LMDB, through causes', () => {
    const node = Object.assign(new Error('write failed'), { code: 'ENOSPC' });
    expect(isNoSpaceError(new Error('wrapped', { cause: node }))).to.equal(true);
    expect(isNoSpaceError(Object.assign(new Error('lmdb'), { code: 28 }))).to.equal(true);
    expect(isNoSpaceError(Object.assign(new Error('other'), { code: 'EIO' }))).to.equal(false);
  });
});
