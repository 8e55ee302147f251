import type { Registry } from 'prom-client';
import { ServerLimitGuard } from '../common/server-limits.js';
import { receiveLimitOf } from '../common/receive-limit.js';
import { LedgerError } from '../common/errors.js';
import { v2Status } from './v2-codec.js';

/**
 * The v2 Proxy's limits. The message rules themselves (body, properties, batch, names) are the
 * brokers': the Proxy forwards a send whole and hands back the broker's status (the official
 * client gets e.g. MESSAGE_BODY_TOO_LARGE unchanged), and tells clients `maxBodyBytes` in their
 * Telemetry settings so they refuse a larger body before sending it.
 */
export interface ProxyLimits {
  /** Told to clients as `publishing.max_body_size` (keep it equal to the brokers' `maxBodyBytes`). */
  maxBodyBytes: number;
  /** Largest SendMessage accepted (the brokers' `maxBatchBytes`); larger ones end with RESOURCE_EXHAUSTED unread. */
  maxBatchBytes: number;
  /** Request and answer bytes being read or forwarded at once in the whole Proxy; requests wait, unread, for room (see lib/common/inflight-budget.ts). */
  maxInflightBytes: number;
  /** Decoded bytes one client (its `x-mq-client-id`, else its connection) may hold before its next request waits. */
  maxInflightBytesPerClient: number;
  /** Connections open at once from one client IP address. */
  maxConnectionsPerAddress: number;
  /** Calls open at once on one connection (each parked ReceiveMessage holds one). */
  maxStreamsPerConnection: number;
  /** ReceiveMessage calls held (long polling at a broker) at once; one more answers TOO_MANY_REQUESTS. */
  maxParkedReceives: number;
  /** Telemetry sessions (client instances) open at once with one `x-mq-client-id`; one more is answered TOO_MANY_REQUESTS and ended. */
  maxSessionsPerClientId: number;
}

/** Defaults: RocketMQ's 4 MiB body and the brokers' 8 MiB batch. */
export const DEFAULT_PROXY_LIMITS: ProxyLimits = {
  maxBodyBytes: 4 * 1024 * 1024,
  maxBatchBytes: 8 * 1024 * 1024,
  maxInflightBytes: 128 * 1024 * 1024,
  maxInflightBytesPerClient: 64 * 1024 * 1024,
  maxConnectionsPerAddress: 1_000,
  maxStreamsPerConnection: 20_000,
  maxParkedReceives: 10_000,
  maxSessionsPerClientId: 16,
};

/** The Proxy's transport limits (see `../common/server-limits.ts`); refusals answer v2 TOO_MANY_REQUESTS. */
export function proxyLimitGuard(limits: ProxyLimits, registry: Registry): ServerLimitGuard {
  return new ServerLimitGuard({
    limits,
    registry,
    // Every v2 answer but Telemetry's (a stream, not admitted here) has a status field.
    bodyMethods: new Set(['SendMessage']),
    busyAnswer: (_method, message) => ({ status: v2Status('TOO_MANY_REQUESTS', message) }),
  });
}

/**
 * Parses `key=value` settings (`ledgermq namesrv --proxy-set`): each key must be one of
 * {@link ProxyLimits} and each value a positive integer. Throws LedgerError BAD_REQUEST naming the bad one.
 */
export function parseProxyLimits(assignments: readonly string[]): Partial<ProxyLimits> {
  const limits: Partial<Record<keyof ProxyLimits, number>> = {};
  for (const assignment of assignments) {
    const [key, raw] = assignment.split('=', 2);
    if (!Object.hasOwn(DEFAULT_PROXY_LIMITS, key)) throw new LedgerError('BAD_REQUEST', `unknown Proxy limit "${key}" (known: ${Object.keys(DEFAULT_PROXY_LIMITS).join(', ')})`);
    const value = Number(raw);
    if (!Number.isSafeInteger(value) || value <= 0) throw new LedgerError('BAD_REQUEST', `Proxy limit ${key} must be a positive integer, got ${JSON.stringify(raw)}`);
    limits[key as keyof ProxyLimits] = value;
  }
  checkProxyLimits({ ...DEFAULT_PROXY_LIMITS, ...limits });
  return limits;
}

/** Throws LedgerError BAD_REQUEST when the limits contradict each other (budgets a send cannot fit in). */
export function checkProxyLimits(limits: ProxyLimits): void {
  const receiveLimit = receiveLimitOf(limits.maxBatchBytes);
  if (limits.maxInflightBytesPerClient > limits.maxInflightBytes) throw new LedgerError('BAD_REQUEST', 'Proxy limit maxInflightBytesPerClient must not exceed maxInflightBytes');
  if (limits.maxInflightBytesPerClient < receiveLimit) throw new LedgerError('BAD_REQUEST', `Proxy limit maxInflightBytesPerClient must be at least maxBatchBytes + 1 MiB (${receiveLimit})`);
  if (limits.maxBodyBytes > limits.maxBatchBytes) throw new LedgerError('BAD_REQUEST', 'Proxy limit maxBodyBytes must not exceed maxBatchBytes');
}
