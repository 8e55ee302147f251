/**
 * RocketMQ's delay levels (messageDelayLevel): level n (1-based) delays a message by the n-th
 * duration. Retries of a consumer group use level 3 + the number of earlier retries, so the
 * delays grow from 10 s to 2 h. Operators (and tests) may configure other durations.
 */
import { LedgerError } from '../common/errors.js';

/** RocketMQ's default. */
export const DEFAULT_DELAY_LEVELS = '1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses "1s 5s 10s ..." (units ms, s, m, h, d) into milliseconds. Throws BAD_REQUEST on a bad item. */
export function parseDelayLevels(text: string): number[] {
  const levels = text.trim().split(/\s+/).filter(Boolean).map((item) => {
    const match = /^(\d+)(ms|s|m|h|d)$/.exec(item);
    if (!match) throw new LedgerError('BAD_REQUEST', `delay level "${item}" is not a number with a unit (ms, s, m, h, d)`);
    return Number(match[1]) * UNIT_MS[match[2]];
  });
  if (levels.length === 0 || levels.length > 64) throw new LedgerError('BAD_REQUEST', 'messageDelayLevel needs 1..64 levels');
  return levels;
}

/** The level a retry uses after `reconsumeTimes` earlier retries (RocketMQ: 3 + reconsumeTimes), capped at the last. */
export function retryLevel(reconsumeTimes: number, levelCount: number): number {
  return Math.min(3 + reconsumeTimes, levelCount);
}
