import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../common/logger.js';
import { loadV2 } from '../protocol/proto-definitions.js';
import { BrokerGateway } from '../client/broker-gateway.js';
import { messagingServiceHandlers } from './messaging-service.js';
import type { RouteSource } from '../client/route-source.js';
import { Registry } from 'prom-client';
import type { ServerLimitGuard } from '../common/server-limits.js';
import { DEFAULT_PROXY_LIMITS, checkProxyLimits, proxyLimitGuard } from './proxy-limits.js';
import type { ProxyLimits } from './proxy-limits.js';
import type { BoundListener } from '../security/secure-listener.js';
import { internalClientTls } from '../security/tls-config.js';
import type { ServerTls } from '../security/tls-config.js';
import { channelCredentials } from '../security/transport-credentials.js';
import type { ClusterAuth } from '../security/cluster-auth.js';
import { proxySigner, withCallerSignature } from './caller-signature.js';

export interface ProxyServerOptions {
  host: string;
  port: number;
  routes: RouteSource;
  logger: Logger;
  /** Limits (defaults: {@link DEFAULT_PROXY_LIMITS}). */
  limits?: Partial<ProxyLimits>;
  /** Where the Proxy's metrics (`ledgermq_limit_refusals_total`) are registered. */
  registry?: Registry;
  /**
   * TLS of the access point (permissive: TLS and plaintext on the one port) and of the calls to
   * brokers (checked against the CA, presenting this process's certificate); null or absent: plaintext.
   */
  tls?: ServerTls | null;
  /**
   * Signs the Proxy's own calls to brokers as a cluster member (needed when brokers enforce ACL);
   * calls made for a client carry the client's signature instead (caller-signature.ts). Null: the
   * Proxy's own calls are unsigned.
   */
  clusterAuth?: ClusterAuth | null;
}

/**
 * The v2 Proxy: serves `apache.rocketmq.v2.MessagingService` (the official clients' access point)
 * and forwards to broker group leaders. Stateless; several may run side by side.
 */
export class ProxyServer {
  private constructor(
    private readonly server: grpc.Server,
    private readonly gateway: BrokerGateway,
    private readonly listener: BoundListener,
    readonly address: string,
    /** The transport limits (in-flight bytes, connections); read by status and tests. */
    readonly limitGuard: ServerLimitGuard,
  ) {}

  static async start(options: ProxyServerOptions): Promise<ProxyServer> {
    const address = `${options.host}:${options.port}`;
    const gateway = new BrokerGateway(options.routes, channelCredentials(internalClientTls(options.tls ?? null)), proxySigner(options.clusterAuth ?? null));
    const limits: ProxyLimits = { ...DEFAULT_PROXY_LIMITS, ...options.limits };
    checkProxyLimits(limits);
    const limitGuard = proxyLimitGuard(limits, options.registry ?? new Registry());
    const server = new grpc.Server(limitGuard.serverOptions());
    server.addService(
      limitGuard.service(loadV2().apache.rocketmq.v2.MessagingService.service),
      withCallerSignature(messagingServiceHandlers({
        gateway,
        routes: options.routes,
        logger: options.logger,
        accessPoint: address,
        limits: { maxBodyBytes: limits.maxBodyBytes, receiveBatchSize: 32, longPollingTimeoutMs: 20_000 },
        requestLimits: { maxParkedReceives: limits.maxParkedReceives, maxSessionsPerClientId: limits.maxSessionsPerClientId, refused: (reason) => limitGuard.refused(reason) },
        brokerTimeoutMs: 5_000,
        maxPollMs: 20_000,
      })),
    );
    const listener = await limitGuard.listen(server, address, { tls: options.tls ?? null, role: 'client' });
    return new ProxyServer(server, gateway, listener, address, limitGuard);
  }

  async close(): Promise<void> {
    this.gateway.close();
    this.listener.close();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, 1000);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
