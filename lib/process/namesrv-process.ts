import { Registry } from 'prom-client';
import { HttpEndpoint } from '../common/http-endpoint.js';
import type { Logger } from '../common/logger.js';
import { NameServer } from '../namesrv/name-server.js';
import { ProxyServer } from '../proxy/proxy-server.js';
import type { ProxyLimits } from '../proxy/proxy-limits.js';
import { collectProcessMetrics } from '../common/process-metrics.js';
import { startupFacts } from '../common/process-facts.js';
import { ClusterAuth } from '../security/cluster-auth.js';
import { loadServerTls } from '../security/tls-config.js';
import type { ServerTlsFiles } from '../security/tls-config.js';

export interface NamesrvProcessOptions {
  host: string;
  port: number;
  proxyPort: number;
  httpPort: number;
  logger: Logger;
  expireAfterMs?: number;
  /** File with the cluster secret brokers sign registrations with; absent: registrations are not authenticated. */
  clusterSecretFile?: string;
  /** TLS of the name service and Proxy ports (`--tls-*` flags); absent: off. The HTTP port stays plaintext. */
  tls?: ServerTlsFiles;
  /** The v2 Proxy's limits (defaults: DEFAULT_PROXY_LIMITS). */
  proxyLimits?: Partial<ProxyLimits>;
}

/**
 * What `ledgermq namesrv` runs: a NameServer, the v2 Proxy reading its routes, and the HTTP
 * endpoint (/metrics, /healthz, /status) of the process.
 */
export class NamesrvProcess {
  private constructor(
    readonly nameServer: NameServer,
    readonly proxy: ProxyServer,
    private readonly http: HttpEndpoint,
    private readonly logger: Logger,
  ) {}

  static async start(options: NamesrvProcessOptions): Promise<NamesrvProcess> {
    const startedAtMs = Date.now();
    const registry = new Registry();
    collectProcessMetrics(registry);
    const clusterAuth = options.clusterSecretFile ? ClusterAuth.fromFile(options.clusterSecretFile) : null;
    if (clusterAuth === null) options.logger.warn('no --cluster-secret-file: broker registrations are not authenticated');
    const tls = options.tls === undefined ? null : loadServerTls(options.tls, 'namesrv');
    const nameServer = await NameServer.start({ host: options.host, port: options.port, registry, logger: options.logger, expireAfterMs: options.expireAfterMs, clusterAuth, tls });
    const table = nameServer.routeTable;
    const proxy = await ProxyServer.start({
      host: options.host,
      port: options.proxyPort,
      logger: options.logger,
      tls,
      registry,
      limits: options.proxyLimits,
      routes: { route: (topic) => table.route(topic), groups: () => table.groups() },
      clusterAuth,
    });
    const http = await HttpEndpoint.start({
      host: options.host,
      port: options.httpPort,
      registry,
      status: () => ({
        ...nameServer.statusJson(), accessPoint: proxy.address, namesrv: nameServer.address,
        proxy: { inflightBytes: proxy.limitGuard.budget.usedBytes, peakInflightBytes: proxy.limitGuard.budget.peakBytes, connections: proxy.limitGuard.connections, rssBytes: process.memoryUsage().rss },
      }),
    });
    options.logger.info({ ...startupFacts(startedAtMs), namesrv: nameServer.address, accessPoint: proxy.address, http: http.address }, 'NameServer and v2 Proxy serving');
    if (tls !== null) options.logger.info({ tlsMode: tls.mode }, 'TLS on the name service and Proxy ports');
    return new NamesrvProcess(nameServer, proxy, http, options.logger);
  }

  async close(): Promise<void> {
    await this.proxy.close();
    await this.http.close();
    await this.nameServer.close();
    this.logger.info({ uptimeSeconds: Math.round(process.uptime()) }, 'NameServer and v2 Proxy stopped');
  }
}
