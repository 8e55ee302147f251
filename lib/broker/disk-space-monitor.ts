/**
 * Disk-space watermarks of one broker node (RocketMQ's diskSpaceWarningLevelRatio, with
 * hysteresis). The monitor samples the filesystem holding the node's data dir (`statfs`) every
 * `diskCheckIntervalMs`, and at once when asked ({@link DiskSpaceMonitor.checkNow}, e.g. after an
 * ENOSPC), and keeps one of three levels:
 *
 * - `ok`: every write is taken.
 * - `producers-refused`: free space fell under the low watermark. Producers' writes (sends,
 *   batches, delayed and transactional half messages) answer DISK_FULL before they reach the log;
 *   the small internal writes consumers need (pop, ack, offset commits, retries, META commands)
 *   still go through, so reads continue. Left once free space is back above the resume watermark.
 * - `critical`: free space fell under `diskCriticalFreeBytes`. Every write the broker proposes is
 *   refused, and a follower stops taking replicated entries (it lags, the leader resends later), so
 *   nothing reaches an ENOSPC: pulls of stored messages still work. Left at twice that.
 *
 * A watermark in bytes is the larger of its ratio of the filesystem and its absolute floor.
 */
import { statfs } from 'node:fs/promises';
import { LedgerError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';

/** Where the node stands; ordered from fine to worst. */
export type DiskLevel = 'ok' | 'producers-refused' | 'critical';

/** Numeric form of a level for the `ledgermq_disk_writes_refused` gauge. */
export const DISK_LEVEL_VALUE: Record<DiskLevel, number> = { ok: 0, 'producers-refused': 1, critical: 2 };

/** The watermark settings (BrokerConfig keys of the same names). */
export interface DiskWatermarks {
  /** Used share of the filesystem above which producers' writes are refused (RocketMQ's 0.90). */
  diskSpaceWarningLevelRatio: number;
  /** Producers' writes resume once the used share is back at or below this (RocketMQ resumes under 0.85). */
  diskSpaceResumeLevelRatio: number;
  /** Producers' writes are also refused while fewer bytes than this are free. */
  diskMinFreeBytes: number;
  /** ... and resume only once at least this many bytes are free (with the resume ratio). */
  diskResumeFreeBytes: number;
  /** Under this many free bytes every write is refused; left at twice this. */
  diskCriticalFreeBytes: number;
}

/** One `statfs` sample: bytes available to the broker's user, and the filesystem's size. */
export interface DiskSample {
  freeBytes: number;
  sizeBytes: number;
}

/** The free-byte thresholds a sample is compared with, for a filesystem of `sizeBytes`. */
export function diskThresholds(marks: DiskWatermarks, sizeBytes: number): { refuseBelow: number; resumeAt: number; criticalBelow: number; criticalResumeAt: number } {
  const refuseBelow = Math.max(marks.diskMinFreeBytes, sizeBytes - Math.floor(marks.diskSpaceWarningLevelRatio * sizeBytes));
  return {
    refuseBelow,
    resumeAt: Math.max(refuseBelow, marks.diskResumeFreeBytes, sizeBytes - Math.floor(marks.diskSpaceResumeLevelRatio * sizeBytes)),
    criticalBelow: marks.diskCriticalFreeBytes,
    criticalResumeAt: 2 * marks.diskCriticalFreeBytes,
  };
}

/**
 * The next level after `sample`, from `previous` (pure: the hysteresis lives here). Entering a
 * level needs free space under its low mark; leaving it needs free space at or above its resume
 * mark, so a disk hovering at one mark does not flap.
 */
export function nextDiskLevel(previous: DiskLevel, sample: DiskSample, marks: DiskWatermarks): DiskLevel {
  const t = diskThresholds(marks, sample.sizeBytes);
  const free = sample.freeBytes;
  if (free < t.criticalBelow || (previous === 'critical' && free < t.criticalResumeAt)) return 'critical';
  if (free < t.refuseBelow || (previous !== 'ok' && free < t.resumeAt)) return 'producers-refused';
  return 'ok';
}

/** Whether `error` (or one of its causes) is an ENOSPC (Node's code, or LMDB's errno 28). */
export function isNoSpaceError(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code as unknown;
    if (code === 'ENOSPC' || code === 28) return true;
  }
  return false;
}

/** Which writes a refusal was about (the `kind` label of `ledgermq_disk_refused_writes_total`). */
export type RefusedWriteKind = 'producer' | 'internal' | 'replication';

export interface DiskSpaceMonitorOptions {
  dir: string;
  marks: DiskWatermarks;
  intervalMs: number;
  logger: Logger;
  /** Counts each refused write by kind. */
  onRefused?: (kind: RefusedWriteKind) => void;
  /** Test seam: the filesystem sample. */
  sample?: (dir: string) => Promise<DiskSample>;
}

async function statfsSample(dir: string): Promise<DiskSample> {
  const stats = await statfs(dir);
  // bavail, not bfree: root may write into the reserved blocks, but a broker should not count on them.
  return { freeBytes: stats.bavail * stats.bsize, sizeBytes: stats.blocks * stats.bsize };
}

/** See the file comment. Starts at `ok` until the first sample ({@link start} takes one before it resolves). */
export class DiskSpaceMonitor {
  private current: DiskLevel = 'ok';
  private last: DiskSample | null = null;
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | null = null;
  private readonly sample: (dir: string) => Promise<DiskSample>;

  constructor(private readonly options: DiskSpaceMonitorOptions) {
    this.sample = options.sample ?? statfsSample;
  }

  /** Takes a first sample, then one every `intervalMs`. */
  async start(): Promise<void> {
    await this.checkNow();
    this.timer = setInterval(() => void this.checkNow(), this.options.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  get level(): DiskLevel {
    return this.current;
  }

  /** The last sample, or null before the first one. */
  get lastSample(): DiskSample | null {
    return this.last;
  }

  /** Samples now (concurrent callers share one statfs); a failed statfs keeps the level and is logged. */
  checkNow(): Promise<void> {
    this.checking ??= this.sample(this.options.dir).then((sample) => {
      this.last = sample;
      const next = nextDiskLevel(this.current, sample, this.options.marks);
      if (next !== this.current) {
        const t = diskThresholds(this.options.marks, sample.sizeBytes);
        const log = next === 'ok' ? this.options.logger.info.bind(this.options.logger) : this.options.logger.error.bind(this.options.logger);
        log({ from: this.current, to: next, freeBytes: sample.freeBytes, sizeBytes: sample.sizeBytes, ...t }, next === 'ok' ? 'disk space back above the resume watermark: writes resume' : `disk space under a watermark: ${next === 'critical' ? 'every write' : "producers' writes"} refused`);
        this.current = next;
      }
    }, (error: unknown) => {
      this.options.logger.warn({ err: error, dir: this.options.dir }, 'cannot read the free space of the data dir');
    }).finally(() => {
      this.checking = null;
    });
    return this.checking;
  }

  /** Throws DISK_FULL unless producers' writes are taken now. */
  checkProducerWrite(): void {
    if (this.current !== 'ok') this.refuse('producer');
  }

  /** Throws DISK_FULL when even the broker's internal writes (acks, offsets, META) are refused. */
  checkInternalWrite(): void {
    if (this.current === 'critical') this.refuse('internal');
  }

  /** Whether a follower may store replicated entries now (counts a refusal when not). */
  acceptsReplicatedEntries(): boolean {
    if (this.current !== 'critical') return true;
    this.options.onRefused?.('replication');
    return false;
  }

  /** The `/status` view. */
  status(): Record<string, unknown> {
    const sample = this.last;
    return { level: this.current, freeBytes: sample?.freeBytes ?? null, sizeBytes: sample?.sizeBytes ?? null, ...(sample ? diskThresholds(this.options.marks, sample.sizeBytes) : {}) };
  }

  private refuse(kind: RefusedWriteKind): never {
    this.options.onRefused?.(kind);
    const sample = this.last;
    const t = sample ? diskThresholds(this.options.marks, sample.sizeBytes) : null;
    const what = kind === 'producer' ? 'messages are not accepted' : 'no write is accepted';
    const detail = sample && t ? `${sample.freeBytes} bytes free of ${sample.sizeBytes}, under ${this.current === 'critical' ? t.criticalBelow : t.refuseBelow}` : 'free space under a watermark';
    throw new LedgerError('DISK_FULL', `DISK_FULL: the broker's disk is nearly full (${detail}); ${what} until space returns, reads continue`);
  }
}
