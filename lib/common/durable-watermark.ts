/**
 * A test hook for the fault harness's power-loss fault: each node keeps, in a small file, the
 * highest CommitLog index it has fsynced, written with a synchronous write right after the fsync
 * returns (so it is in the page cache, which a kill -9 keeps, before anything is acknowledged).
 * After killing every node, the harness cuts each log after that index: what a power cut would
 * lose if the page cache held nothing else.
 *
 * Enabled only by LEDGERMQ_TEST_DURABLE_WATERMARK_DIR (a folder); the file is
 * `<dir>/durable-<node>`, 20 ASCII digits. Not for production (a synchronous write per fsync).
 */
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export class DurableWatermark {
  private constructor(private readonly fd: number) {}

  /** The watermark for `node` when LEDGERMQ_TEST_DURABLE_WATERMARK_DIR is set, else null. */
  static fromEnvironment(node: string): DurableWatermark | null {
    const dir = process.env.LEDGERMQ_TEST_DURABLE_WATERMARK_DIR;
    if (!dir) return null;
    // Startup only: synchronous opens are fine here. Created if missing, then opened without
    // O_APPEND so that each record overwrites the previous one at offset 0.
    const file = DurableWatermark.fileOf(dir, node);
    closeSync(openSync(file, 'a'));
    return new DurableWatermark(openSync(file, 'r+'));
  }

  static fileOf(dir: string, node: string): string {
    return join(dir, `durable-${node}`);
  }

  /** The last index written for `node`, or null when there is no file. */
  static read(dir: string, node: string): number | null {
    try {
      const text = readFileSync(DurableWatermark.fileOf(dir, node), 'utf8').trim();
      return text === '' ? null : Number(text);
    } catch {
      return null;
    }
  }

  /** Records `index` as fsynced (a synchronous write, deliberately: see the file comment). */
  record(index: number): void {
    writeSync(this.fd, String(index).padStart(20, '0'), 0);
  }

  close(): void {
    closeSync(this.fd);
  }
}
