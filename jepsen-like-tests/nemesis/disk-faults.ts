/**
 * Disk faults, each on one node (a minority) while it is down: kill -9 the node, damage its
 * CommitLog, and restart it when the fault stops.
 * - `truncate-tail`: cut up to 256 KiB off the end of its last segment (a torn write at a crash);
 * - `flip-bytes`: flip one byte inside a committed record, one that holds an acknowledged message
 *   (bit rot found only by the record's CRC).
 * And `power-loss`: kill -9 every node at once while acknowledgements flow, then cut each node's
 * log after the last index it fsynced (what a power cut loses with the page cache; read from the
 * test-only watermark file, see lib/common/durable-watermark.ts), and restart them all.
 */
import { closeSync, openSync, readdirSync, readFileSync, readSync, statSync, truncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../../lib/common/logger.js';
import { DurableWatermark } from '../../lib/common/durable-watermark.js';
import { CommitLog } from '../../lib/store/commit-log.js';
import type { FaultStart, Nemesis, NemesisContext } from './nemesis.js';
import { pick } from './nemesis.js';

function segmentFiles(dataDir: string): string[] {
  const dir = join(dataDir, 'commitlog');
  return readdirSync(dir)
    .filter((name) => /^\d{20}$/.test(name))
    .sort()
    .map((name) => join(dir, name));
}

/** Cuts up to 256 KiB off the end of the last segment; returns what it did. */
export function truncateTail(dataDir: string, random: () => number): string {
  const files = segmentFiles(dataDir);
  const last = files[files.length - 1];
  if (!last) return 'no segment to truncate';
  const size = statSync(last).size;
  const cut = Math.min(size, 1 + Math.floor(random() * 256 * 1024));
  truncateSync(last, size - cut);
  return `cut ${cut} bytes off ${last.split('/').pop()} (${size} → ${size - cut})`;
}

/** Flips one byte in the middle of the first place `marker` appears in a segment, else at a random place. */
export function flipByte(dataDir: string, marker: string | null, random: () => number): string {
  const files = segmentFiles(dataDir);
  let file: string | undefined;
  let position = -1;
  if (marker !== null) {
    for (const candidate of files) {
      const at = readFileSync(candidate).indexOf(marker);
      if (at >= 0) {
        file = candidate;
        position = at + Math.floor(marker.length / 2);
        break;
      }
    }
  }
  if (file === undefined) {
    file = files[Math.floor(random() * files.length)];
    if (!file) return 'no segment to damage';
    position = Math.floor(random() * Math.max(1, statSync(file).size / 2));
  }
  const fd = openSync(file, 'r+');
  try {
    const byte = Buffer.alloc(1);
    readSync(fd, byte, 0, 1, position);
    byte[0] ^= 0x20;
    writeSync(fd, byte, 0, 1, position);
  } finally {
    closeSync(fd);
  }
  return `flipped byte ${position} of ${file.split('/').pop()}${marker !== null && position >= 0 ? ` (in a record holding ${marker})` : ''}`;
}

export class DiskFaultNemesis implements Nemesis {
  readonly name: string;
  private target: string | null = null;

  constructor(private readonly kind: 'truncate-tail' | 'flip-bytes') {
    this.name = `disk-${kind}`;
  }

  async start(context: NemesisContext): Promise<FaultStart> {
    const target = pick(context.random, context.db.nodeIds, 1)[0];
    this.target = target;
    await context.db.kill(target);
    const dataDir = context.db.dataDir(target);
    const detail = this.kind === 'truncate-tail' ? truncateTail(dataDir, context.random) : flipByte(dataDir, context.sampleAcknowledged(), context.random);
    return { targets: [target], detail };
  }

  async stop(context: NemesisContext): Promise<void> {
    const target = this.target;
    this.target = null;
    if (target !== null && !context.db.isRunning(target)) await context.db.startNode(target);
  }
}

export class PowerLossNemesis implements Nemesis {
  readonly name = 'power-loss';
  private down: string[] = [];

  environment(runDir: string): Record<string, string> {
    return { LEDGERMQ_TEST_DURABLE_WATERMARK_DIR: runDir };
  }

  async start(context: NemesisContext): Promise<FaultStart> {
    this.down = [...context.db.nodeIds];
    await Promise.all(this.down.map((id) => context.db.kill(id)));
    const details: string[] = [];
    for (const id of this.down) {
      const durable = DurableWatermark.read(context.runDir, id);
      const log = await CommitLog.open({ dir: join(context.db.dataDir(id), 'commitlog'), logger: silentLogger() });
      try {
        const last = log.lastIndex;
        if (durable !== null && durable < last) {
          await log.truncateAfter(durable);
          details.push(`${id}: dropped ${last - durable} unsynced entries after ${durable}`);
        } else details.push(`${id}: nothing unsynced (last ${last}, fsynced ${durable ?? 'unknown'})`);
      } finally {
        await log.close();
      }
    }
    return { targets: this.down, detail: details.join('; ') };
  }

  async stop(context: NemesisContext): Promise<void> {
    const down = this.down;
    this.down = [];
    await Promise.all(down.filter((id) => !context.db.isRunning(id)).map((id) => context.db.startNode(id)));
  }
}
