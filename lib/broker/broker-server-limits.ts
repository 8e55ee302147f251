import type { Registry } from 'prom-client';
import { StatusCode } from '../common/status-codes.js';
import { RECEIVE_HEADROOM_BYTES, ServerLimitGuard } from '../common/server-limits.js';
import type { BrokerConfig } from './broker-config.js';

/** BrokerService methods whose answer has no `status` field: refused with gRPC RESOURCE_EXHAUSTED. */
const NO_STATUS_FIELD: ReadonlySet<string> = new Set(['ListAclUsers', 'WatchTransactionChecks', 'PullStream']);

/**
 * The transport limits of a broker node's BrokerService (see `../common/server-limits.ts`): the
 * largest request is a batch at `maxBatchBytes` plus headroom (read at start), the budgets and the
 * connection cap are read from `config` at each request (live keys). A refused call is answered
 * `{ status: TOO_MANY_REQUESTS }`, or ends with RESOURCE_EXHAUSTED where its answer has no status.
 */
export function brokerLimitGuard(config: BrokerConfig, registry: Registry): ServerLimitGuard {
  return new ServerLimitGuard({
    limits: {
      maxReceiveMessageBytes: config.maxBatchBytes + RECEIVE_HEADROOM_BYTES,
      maxStreamsPerConnection: config.maxStreamsPerConnection,
      maxInflightBytes: () => config.maxInflightBytes,
      maxInflightBytesPerClient: () => config.maxInflightBytesPerClient,
      maxConnectionsPerAddress: () => config.maxConnectionsPerAddress,
    },
    registry,
    bodyMethods: new Set(['SendMessages']),
    busyAnswer: (method, message) => (NO_STATUS_FIELD.has(method) ? null : { status: { code: StatusCode.TOO_MANY_REQUESTS, message } }),
  });
}
