/**
 * What every client instance holds: its NameServer connection, the route cache and the broker
 * gateway (leader search, NOT_LEADER hints). One per Producer / consumer / admin client; closed
 * with it.
 */
import { NameServerClient } from '../namesrv/name-server-client.js';
import { BrokerGateway } from './broker-gateway.js';
import { DEFAULT_REQUEST_TIMEOUT_MS, credentialSigner, newClientId } from './client-options.js';
import type { ClientOptions } from './client-options.js';
import { NameServerRoutes } from './name-server-routes.js';
import { loadClientTls } from '../security/tls-config.js';
import { channelCredentials } from '../security/transport-credentials.js';

export class ClientContext {
  readonly clientId: string;
  readonly requestTimeoutMs: number;
  readonly names: NameServerClient;
  readonly routes: NameServerRoutes;
  readonly gateway: BrokerGateway;

  /** @throws RangeError when no NameServer is given; LedgerError BAD_REQUEST when a TLS file cannot be read. */
  constructor(options: ClientOptions) {
    this.clientId = options.clientId ?? newClientId();
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const credentials = channelCredentials(loadClientTls(options.tls));
    const sign = credentialSigner(options.credentials);
    this.names = new NameServerClient(options.nameServers, { callTimeoutMs: Math.min(this.requestTimeoutMs, 3_000), credentials, sign });
    this.routes = new NameServerRoutes(this.names, { refreshIntervalMs: options.routeRefreshIntervalMs });
    this.gateway = new BrokerGateway(this.routes, credentials, sign);
  }

  close(): void {
    this.gateway.close();
    this.names.close();
  }
}
