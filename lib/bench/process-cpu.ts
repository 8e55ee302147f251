/**
 * CPU time of another process on Linux, from `/proc/<pid>/stat` (utime + stime, in clock ticks):
 * the benchmarks measure one broker's CPU without counting their own.
 */
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';

let clockTicksPerSecond: number | undefined;

/** `getconf CLK_TCK` (read once; 100 when getconf fails). */
export function clockTicks(): number {
  if (clockTicksPerSecond === undefined) {
    try {
      clockTicksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicksPerSecond = 100;
    }
  }
  return clockTicksPerSecond;
}

/** User plus system CPU seconds `pid` has used so far. Throws when the process does not exist. */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at field 3; utime and stime are 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicks();
}

/** CPU use of a process over a wall-clock window. */
export interface CpuWindow {
  wallSeconds: number;
  cpuSeconds: number;
  /** CPU seconds per wall second, in percent of one core. */
  percentOfCore: number;
}

/**
 * Measures the CPU of each of `pids` over the same `windowMs` of wall time (tick resolution: 10 ms
 * at CLK_TCK 100), in the order given.
 */
export async function measureCpu(pids: readonly number[], windowMs: number): Promise<CpuWindow[]> {
  const startCpu = await Promise.all(pids.map(cpuSeconds));
  const startWall = performance.now();
  await new Promise((resolve) => setTimeout(resolve, windowMs));
  const endCpu = await Promise.all(pids.map(cpuSeconds));
  const wallSeconds = (performance.now() - startWall) / 1000;
  return pids.map((_, i) => {
    const used = endCpu[i] - startCpu[i];
    return { wallSeconds, cpuSeconds: used, percentOfCore: (100 * used) / wallSeconds };
  });
}
