/** Starting and stopping child processes that serve `/healthz` (local clusters, the fault harness). */
import type { ChildProcess } from 'node:child_process';

/** Polls `http://address/healthz` until 200, the child exits, or the deadline passes. */
export async function waitHealthy(address: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`process ${child.pid} exited before serving (${child.exitCode ?? child.signalCode})`);
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
