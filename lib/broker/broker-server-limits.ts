import type { Registry } from 'prom-client';
import { StatusCode } from '../common/status-codes.js';
import { ServerLimitGuard } from '../common/server-limits.js';
import type { BrokerConfig } from './broker-config.js';

/**
 * Refused with gRPC RESOURCE_EXHAUSTED rather than a status answer: a transaction-check watch, whose
 * answers are checks (the watcher reopens it after a pause). Every other admitted method's answer
 * has a `status` field. PullStream is a bidirectional stream, never admitted.
 */
const REFUSED_BY_TRANSPORT: ReadonlySet<string> = new Set(['WatchTransactionChecks']);

/**
 * The transport limits of a broker node's BrokerService (see `../common/server-limits.ts`): the
 * largest request is a batch at `maxBatchBytes` plus headroom (read at start), the budgets and the
 * connection cap are read from `config` at each request (live keys). A refused call is answered
 * `{ status: TOO_MANY_REQUESTS }` (a transaction-check watch ends with RESOURCE_EXHAUSTED).
 */
export function brokerLimitGuard(config: BrokerConfig, registry: Registry): ServerLimitGuard {
  return new ServerLimitGuard({
    // Read at each use: updateBrokerConfig changes the live keys in this object.
    limits: config,
    registry,
    bodyMethods: new Set(['SendMessages']),
    busyAnswer: (method, message) => (REFUSED_BY_TRANSPORT.has(method) ? null : { status: { code: StatusCode.TOO_MANY_REQUESTS, message } }),
  });
}
