/**
 * Clock jumps on one node with libfaketime (Debian package `faketime`): every broker process runs
 * with the library preloaded and reads its offset from a file the nemesis rewrites, so one node's
 * wall clock (Date.now, CLOCK_REALTIME) jumps forwards or backwards by up to minutes while the
 * others keep real time. The monotonic clock is left alone, as a real NTP step would leave it.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FaultStart, Nemesis, NemesisContext } from './nemesis.js';
import { pick } from './nemesis.js';

const LIBFAKETIME = ['/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1', '/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1'];
const JUMPS_S = [-300, -60, -10, 10, 60, 300];

function library(): string | null {
  return LIBFAKETIME.find((path) => existsSync(path)) ?? null;
}

function offsetFile(runDir: string, nodeId: string): string {
  return join(runDir, `faketime-${nodeId}`);
}

export class ClockJumpNemesis implements Nemesis {
  readonly name = 'clock-jump';
  private target: string | null = null;

  unsupportedReason(): string | null {
    return library() === null ? 'clock-jump needs libfaketime (Debian: apt-get install faketime)' : null;
  }

  environment(runDir: string, nodeId: string): Record<string, string> {
    const lib = library();
    if (lib === null) return {};
    writeFileSync(offsetFile(runDir, nodeId), '+0\n');
    return {
      LD_PRELOAD: lib,
      FAKETIME_TIMESTAMP_FILE: offsetFile(runDir, nodeId),
      FAKETIME_DONT_FAKE_MONOTONIC: '1',
      // Re-read the file every second (not on every call: that would cost a syscall per clock read).
      FAKETIME_CACHE_DURATION: '1',
    };
  }

  start(context: NemesisContext): Promise<FaultStart> {
    const reason = this.unsupportedReason();
    if (reason) throw new Error(reason);
    this.target = pick(context.random, context.db.nodeIds, 1)[0];
    const jumpS = JUMPS_S[Math.floor(context.random() * JUMPS_S.length)];
    writeFileSync(offsetFile(context.runDir, this.target), `${jumpS >= 0 ? '+' : ''}${jumpS}s\n`);
    return Promise.resolve({ targets: [this.target], detail: `wall clock ${jumpS >= 0 ? '+' : ''}${jumpS} s` });
  }

  stop(context: NemesisContext): Promise<void> {
    if (this.target !== null) writeFileSync(offsetFile(context.runDir, this.target), '+0\n');
    this.target = null;
    return Promise.resolve();
  }
}
