import { pino } from 'pino';
import type { Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * Creates the structured (JSON lines, pino) logger of one process or component. Level comes from
 * `LEDGERMQ_LOG_LEVEL` (default `info`); output goes to stdout, which `ledgermq up` redirects to
 * each node's log file.
 */
export function createLogger(name: string, bindings: Record<string, string> = {}): Logger {
  return pino({ name, level: process.env.LEDGERMQ_LOG_LEVEL ?? 'info', base: { pid: process.pid, ...bindings } });
}

/** A logger that drops everything (unit tests). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
