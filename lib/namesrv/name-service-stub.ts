/**
 * Typed promise wrapper over the generated NameService gRPC client for one NameServer.
 */
import * as grpc from '@grpc/grpc-js';
import type { GetClusterInfoResponse__Output } from '../gen/internal/ledgermq/v1/GetClusterInfoResponse.js';
import type { GetRouteRequest } from '../gen/internal/ledgermq/v1/GetRouteRequest.js';
import type { GetRouteResponse__Output } from '../gen/internal/ledgermq/v1/GetRouteResponse.js';
import type { NameServiceClient } from '../gen/internal/ledgermq/v1/NameService.js';
import type { RegisterBrokerRequest } from '../gen/internal/ledgermq/v1/RegisterBrokerRequest.js';
import type { RegisterBrokerResponse__Output } from '../gen/internal/ledgermq/v1/RegisterBrokerResponse.js';
import type { UnregisterBrokerRequest } from '../gen/internal/ledgermq/v1/UnregisterBrokerRequest.js';
import type { UnregisterBrokerResponse__Output } from '../gen/internal/ledgermq/v1/UnregisterBrokerResponse.js';
import { loadInternal } from '../protocol/proto-definitions.js';
import { unaryCall } from '../protocol/unary-call.js';
import { signingOptions } from '../security/signing-interceptor.js';
import type { CallHeaders } from '../security/signing-interceptor.js';

/**
 * One NameServer's NameService as promises. Each call rejects with a retriable LedgerError on a
 * transport failure or when `timeoutMs` passes (see `unaryCall`); a status inside the response
 * is left for the caller to check.
 */
export class NameServiceStub {
  private readonly client: NameServiceClient;

  /**
   * Creates the channel lazily connected to `address` (`host:port`; plaintext unless `credentials`
   * say otherwise); `sign` adds signature headers to every call (brokers sign registrations with
   * the cluster secret).
   */
  constructor(readonly address: string, credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(), sign: CallHeaders | null = null) {
    const NameService = loadInternal().ledgermq.v1.NameService;
    this.client = new NameService(address, credentials, signingOptions(sign));
  }

  /** RegisterBroker: registration and heartbeat. */
  registerBroker(request: RegisterBrokerRequest, timeoutMs: number): Promise<RegisterBrokerResponse__Output> {
    return unaryCall(this.client, (req: RegisterBrokerRequest, options, callback) => this.client.RegisterBroker(req, options, callback), request, timeoutMs);
  }

  /** UnregisterBroker: forget a node (OK even if unknown). */
  unregisterBroker(request: UnregisterBrokerRequest, timeoutMs: number): Promise<UnregisterBrokerResponse__Output> {
    return unaryCall(this.client, (req: UnregisterBrokerRequest, options, callback) => this.client.UnregisterBroker(req, options, callback), request, timeoutMs);
  }

  /** GetRoute: the topic's route, or TOPIC_NOT_FOUND in the status. */
  getRoute(request: GetRouteRequest, timeoutMs: number): Promise<GetRouteResponse__Output> {
    return unaryCall(this.client, (req: GetRouteRequest, options, callback) => this.client.GetRoute(req, options, callback), request, timeoutMs);
  }

  /** GetClusterInfo: every live registration. */
  getClusterInfo(timeoutMs: number): Promise<GetClusterInfoResponse__Output> {
    return unaryCall(this.client, (req: object, options, callback) => this.client.GetClusterInfo(req, options, callback), {}, timeoutMs);
  }

  /** Closes the channel; later calls fail. */
  close(): void {
    this.client.close();
  }
}
