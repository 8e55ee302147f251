/**
 * Read side of the name service for brokers, the admin tool and remote Proxies: asks a list of
 * independent NameServers, one at a time, until one gives an answer.
 */
import type { ChannelCredentials } from '@grpc/grpc-js';
import { LedgerError, throwIfNotOk } from '../common/errors.js';
import type { Status__Output } from '../gen/internal/ledgermq/v1/Status.js';
import { NameServiceStub } from './name-service-stub.js';
import type { CallHeaders } from '../security/signing-interceptor.js';
import { parseRegistration } from './registered-broker.js';
import type { RegisteredBroker } from './registered-broker.js';
import type { TopicRoute } from './route-table.js';

/** Options of {@link NameServerClient}. */
export interface NameServerClientOptions {
  /** Deadline of each attempt against one NameServer (default 3,000 ms). */
  callTimeoutMs?: number;
  /** Channel credentials (lib/security/transport-credentials.ts); default plaintext. */
  credentials?: ChannelCredentials;
  /** Signs every call (a user's credentials); route queries are open, so this is optional. */
  sign?: CallHeaders | null;
}

const DEFAULT_CALL_TIMEOUT_MS = 3_000;

/**
 * Queries NameServers given as `host:port`. Each call starts at the next server in rotation (to
 * spread load) and moves on to the following one when a server is unreachable, times out,
 * answers a retriable status, or answers TOPIC_NOT_FOUND (NameServers are independent, and one
 * that restarted recently knows no topic until the brokers' next heartbeat round).
 */
export class NameServerClient {
  private readonly stubs: NameServiceStub[];
  private readonly callTimeoutMs: number;
  private nextIndex = 0;
  private closed = false;

  /** @throws RangeError if `addresses` is empty. */
  constructor(addresses: readonly string[], options: NameServerClientOptions = {}) {
    if (addresses.length === 0) throw new RangeError('NameServerClient needs at least one NameServer address');
    this.stubs = addresses.map((address) => new NameServiceStub(address, options.credentials, options.sign ?? null));
    this.callTimeoutMs = options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
  }

  /** NameServer addresses, in the order given. */
  get addresses(): string[] {
    return this.stubs.map((stub) => stub.address);
  }

  /**
   * The route of `topic` (same shape as `RouteTable.route`).
   *
   * @throws LedgerError TOPIC_NOT_FOUND if every NameServer that answered says so (and at least
   *   one answered); another status code if a NameServer answered with it; a retriable
   *   INTERNAL_SERVER_ERROR / PROXY_TIMEOUT if no NameServer could be reached.
   */
  async getRoute(topic: string): Promise<TopicRoute> {
    const response = await this.ask((stub) => stub.getRoute({ topic }, this.callTimeoutMs));
    if (!response.route) throw new LedgerError('INTERNAL_ERROR', 'GetRoute answered OK without a route');
    return response.route;
  }

  /**
   * Every live broker registration one NameServer holds, sorted by cluster, group, node id.
   *
   * @throws LedgerError as {@link getRoute} (except TOPIC_NOT_FOUND).
   */
  async getClusterInfo(): Promise<RegisteredBroker[]> {
    const response = await this.ask((stub) => stub.getClusterInfo(this.callTimeoutMs));
    return response.brokers.map((info) => parseRegistration(info.registration, Number(info.lastHeartbeatMs)));
  }

  /** Closes the channels; later calls reject. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const stub of this.stubs) stub.close();
  }

  /**
   * Tries each server once, from the rotating start index, returning the first OK response.
   * `call` must not throw synchronously; transport failures arrive as rejected LedgerErrors.
   */
  private async ask<Res extends { status: Status__Output | null }>(call: (stub: NameServiceStub) => Promise<Res>): Promise<Res> {
    if (this.closed) throw new LedgerError('INTERNAL_ERROR', 'NameServerClient is closed');
    const start = this.nextIndex;
    this.nextIndex = (this.nextIndex + 1) % this.stubs.length;
    let answered: LedgerError | undefined;
    let unreachable: LedgerError | undefined;
    const transportFailures: string[] = [];
    for (let attempt = 0; attempt < this.stubs.length; attempt++) {
      const stub = this.stubs[(start + attempt) % this.stubs.length];
      let response: Res;
      try {
        response = await call(stub);
      } catch (error: unknown) {
        const failure = error instanceof LedgerError ? error : new LedgerError('INTERNAL_SERVER_ERROR', String(error), { cause: error, retriable: true });
        transportFailures.push(`${stub.address}: ${failure.message}`);
        unreachable = new LedgerError(failure.code, `no NameServer answered (${transportFailures.join('; ')})`, { cause: failure, retriable: true });
        continue;
      }
      try {
        throwIfNotOk(response.status);
        return response;
      } catch (error: unknown) {
        if (!(error instanceof LedgerError)) throw error;
        if (!error.retriable && error.code !== 'TOPIC_NOT_FOUND') throw error;
        // Keep the most informative answer: a definite TOPIC_NOT_FOUND beats a retriable failure.
        if (!answered || answered.retriable) answered = error;
      }
    }
    throw answered ?? unreachable ?? new LedgerError('INTERNAL_SERVER_ERROR', 'no NameServer answered', { retriable: true });
  }
}
