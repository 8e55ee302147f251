/** Starting and stopping child processes that serve `/healthz` (local clusters, the fault harness). */
import type { ChildProcess } from 'node:child_process';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** The last `maxBytes` of a log file as text ('' when it cannot be read): the reason a child died is usually there. */
export function logTail(logFile: string, maxBytes = 4096): string {
  try {
    const fd = openSync(logFile, 'r');
    try {
      const size = fstatSync(fd).size;
      const length = Math.min(size, maxBytes);
      const buffer = Buffer.alloc(length);
      readSync(fd, buffer, 0, length, size - length);
      return buffer.toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    return '';
  }
}

/**
 * Polls `http://address/healthz` until 200, the child exits, or the deadline passes. When the child
 * exits first, the error carries the tail of `logFile` (if given), so a failed start says why.
 */
export async function waitHealthy(address: string, child: ChildProcess, timeoutMs: number, logFile?: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const tail = logFile ? logTail(logFile).trimEnd() : '';
      throw new Error(`process ${child.pid} exited before serving (${child.exitCode ?? child.signalCode})${tail ? `; end of ${logFile}:\n${tail}` : ''}`);
    }
    try {
      const response = await fetch(`http://${address}/healthz`, { signal: AbortSignal.timeout(1_000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${address} did not become healthy within ${timeoutMs} ms`);
}

/** Sends `signal` and waits for the exit; SIGKILL after 10 s. Returns at once if it already exited. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
