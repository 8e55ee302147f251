/**
 * Everything a LedgerMQ gRPC server (broker, Proxy) needs to enforce its transport limits, built
 * in one place so the servers' own files only pass it along:
 *
 * - `grpc.max_receive_message_length`: a request larger than the configured batch (or body)
 *   limit plus headroom is refused by grpc-js from its 5-byte length prefix with RESOURCE_EXHAUSTED,
 *   before its body is buffered (measured: 640 MiB of oversized sends left a server's RSS as it was);
 * - `grpc.max_concurrent_streams`: calls open at once on one connection;
 * - the in-flight bytes budget per process and per client, taken before a request is read
 *   ({@link requestLimitsInterceptor});
 * - connections per remote address ({@link ConnectionGate}, asked by {@link listenGrpc});
 * - `ledgermq_limit_refusals_total{reason}`, one counter for every refusal by a limit.
 */
import type * as grpc from '@grpc/grpc-js';
import { Counter } from 'prom-client';
import type { Registry } from 'prom-client';
import { listenGrpc } from '../security/secure-listener.js';
import type { BoundListener, ListenOptions } from '../security/secure-listener.js';
import { ConnectionGate } from './connection-gate.js';
import { receiveLimitOf } from './receive-limit.js';
import { InflightBudget } from './inflight-budget.js';
import { requestLimitsInterceptor, sizedService } from './request-limits.js';
import type { RequestRefusal } from './request-limits.js';

/** Reasons a request or connection is refused by a limit (the `reason` label). */
export type LimitRefusal =
  | RequestRefusal
  | 'connections_per_address'
  | 'parked_polls'
  | 'parked_receives'
  | 'client_sessions';

/**
 * The transport limits of one server, as a broker's config or the Proxy's limits hold them. The
 * object is read at each use, so live config changes apply at once; `maxBatchBytes` (the receive
 * limit) and `maxStreamsPerConnection` are read when the server is built.
 */
export interface ServerLimits {
  /** Largest batch: requests up to {@link receiveLimitOf} it are read. */
  readonly maxBatchBytes: number;
  /** Calls open at once on one connection (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS). */
  readonly maxStreamsPerConnection: number;
  readonly maxInflightBytes: number;
  readonly maxInflightBytesPerClient: number;
  readonly maxConnectionsPerAddress: number;
}

/** Requests waiting, unread, for the in-flight budget: in the process, for one client. */
export const MAX_WAITING_REQUESTS = 1_024;
export const MAX_WAITING_REQUESTS_PER_CLIENT = 128;
/** Sends of one client, and on one connection, being read at once. */
export const MAX_READING_PER_CLIENT = 8;
export const MAX_READING_PER_CONNECTION = 16;
/**
 * Requests of methods other than sends being read at once in the process, for one client and on
 * one connection: each may be up to the receive limit, so these bound what such reads can hold
 * (32 × the receive limit).
 */
export const MAX_OTHER_READS = 32;
export const MAX_OTHER_READS_PER_CLIENT = 4;
export const MAX_OTHER_READS_PER_CONNECTION = 8;

export interface ServerLimitGuardOptions {
  limits: ServerLimits;
  /** Where `ledgermq_limit_refusals_total` is registered. */
  registry: Registry;
  /** A refused call's answer: a response with status TOO_MANY_REQUESTS, or null for RESOURCE_EXHAUSTED. */
  busyAnswer: (method: string, message: string) => object | null;
  /** Methods whose requests carry message bodies (sends); see {@link requestLimitsInterceptor}. */
  bodyMethods: ReadonlySet<string>;
}


/** See the file comment. One per server. */
export class ServerLimitGuard {
  readonly budget: InflightBudget;
  /** Read slots of the methods other than sends. */
  private readonly readSlots: InflightBudget;
  private readonly refusals: Counter<'reason'>;
  private readonly gate: ConnectionGate;
  /** The largest request read (grpc-js refuses larger ones from their length prefix). */
  private readonly receiveLimit: number;

  constructor(private readonly options: ServerLimitGuardOptions) {
    const { limits } = options;
    this.budget = new InflightBudget(() => ({
      maxInflightBytes: limits.maxInflightBytes,
      maxInflightBytesPerClient: limits.maxInflightBytesPerClient,
      maxReadingPerClient: MAX_READING_PER_CLIENT,
      maxReadingPerConnection: MAX_READING_PER_CONNECTION,
      maxWaiting: MAX_WAITING_REQUESTS,
      maxWaitingPerClient: MAX_WAITING_REQUESTS_PER_CLIENT,
    }));
    this.readSlots = new InflightBudget(() => ({
      maxInflightBytes: MAX_OTHER_READS,
      maxInflightBytesPerClient: Number.MAX_SAFE_INTEGER,
      maxReadingPerClient: MAX_OTHER_READS_PER_CLIENT,
      maxReadingPerConnection: MAX_OTHER_READS_PER_CONNECTION,
      maxWaiting: MAX_WAITING_REQUESTS,
      maxWaitingPerClient: MAX_WAITING_REQUESTS_PER_CLIENT,
    }), (client) => this.budget.hasRoom(client));
    // A read slot waits for room in the byte budget too: wake the slots when bytes come back.
    this.budget.onRoom(() => this.readSlots.wake());
    this.refusals = new Counter({
      name: 'ledgermq_limit_refusals_total',
      help: 'Requests and connections refused by a limit, by reason',
      labelNames: ['reason'],
      registers: [options.registry],
    });
    this.receiveLimit = receiveLimitOf(limits.maxBatchBytes);
    this.gate = new ConnectionGate({ maxConnectionsPerAddress: () => limits.maxConnectionsPerAddress, onRefused: () => this.refused('connections_per_address') });
  }

  /** Counts one refusal (also for limits enforced elsewhere: parked polls, parked receives, sessions). */
  refused(reason: LimitRefusal, count = 1): void {
    this.refusals.inc({ reason }, count);
  }

  /** Options for `new grpc.Server(...)`. */
  serverOptions(): grpc.ServerOptions {
    return {
      'grpc.max_receive_message_length': this.receiveLimit,
      'grpc.max_concurrent_streams': this.options.limits.maxStreamsPerConnection,
      interceptors: [requestLimitsInterceptor({
        budget: this.budget,
        requestGrantBytes: this.receiveLimit,
        bodyMethods: this.options.bodyMethods,
        readSlots: this.readSlots,
        busyAnswer: this.options.busyAnswer,
        onRefused: (reason) => this.refused(reason),
      })],
    };
  }

  /** `service` with message sizes noted for the budget: register this with `addService`. */
  service(service: grpc.ServiceDefinition): grpc.ServiceDefinition {
    return sizedService(service);
  }

  /** Binds `server` on `address` (TLS as `listen` says) behind the per-address connection cap. */
  listen(server: grpc.Server, address: string, listen: Omit<ListenOptions, 'gate'>): Promise<BoundListener> {
    return listenGrpc(server, address, { ...listen, gate: this.gate });
  }

  /** Connections open now. */
  get connections(): number {
    return this.gate.size;
  }

  /** Requests waiting now to be read, sends and others. */
  get waitingRequests(): number {
    return this.budget.waitingRequests + this.readSlots.waitingRequests;
  }
}
