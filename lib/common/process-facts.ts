/**
 * What every LedgerMQ process puts in its one startup line: version, Node version, host, and
 * how long it took to start.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

let version: string | null = null;

/** The package version (read once from package.json beside dist/). */
export function ledgerVersion(): string {
  if (version === null) {
    try {
      version = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
    } catch {
      version = 'unknown';
    }
  }
  return version;
}

/** Fields for a startup log line (the logger adds the pid); `startedAtMs` is when the process began starting. */
export function startupFacts(startedAtMs: number): { version: string; nodejs: string; host: string; startupMs: number } {
  return { version: ledgerVersion(), nodejs: process.version, host: hostname(), startupMs: Date.now() - startedAtMs };
}
