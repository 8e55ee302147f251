import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { Registry } from 'prom-client';

/** What every LedgerMQ process serves over HTTP. */
export interface HttpEndpointOptions {
  host: string;
  port: number;
  /** Prometheus registry rendered at `/metrics`. */
  registry: Registry;
  /** JSON document served at `/status`; called per request. */
  status: () => unknown;
  /** `/healthz` answers 200 while this returns true, 503 otherwise. */
  isHealthy?: () => boolean;
  /**
   * `/readyz` answers 200 while this returns null (the process can serve), 503 with the reason
   * otherwise (load balancers and Kubernetes readiness probes). Without it: ready once listening.
   */
  notReadyReason?: () => string | null;
}

/**
 * The HTTP side of a process: `/metrics` (Prometheus text), `/healthz`, `/readyz` and `/status` (JSON).
 * Monitoring and the test harness rely on these paths and on the field names of `/status`.
 */
export class HttpEndpoint {
  private constructor(private readonly server: Server, readonly address: string) {}

  /** Binds and resolves once listening; rejects if the port cannot be bound. */
  static async start(options: HttpEndpointOptions): Promise<HttpEndpoint> {
    const server = createServer((request, response) => {
      const path = (request.url ?? '/').split('?')[0];
      const reply = (code: number, type: string, body: string): void => {
        response.writeHead(code, { 'content-type': type });
        response.end(body);
      };
      if (path === '/metrics') {
        options.registry.metrics().then(
          (text) => reply(200, options.registry.contentType, text),
          (error: unknown) => reply(500, 'text/plain', String(error)),
        );
      } else if (path === '/healthz') {
        const healthy = options.isHealthy ? options.isHealthy() : true;
        reply(healthy ? 200 : 503, 'text/plain', healthy ? 'ok\n' : 'unhealthy\n');
      } else if (path === '/readyz') {
        const reason = options.notReadyReason ? options.notReadyReason() : null;
        reply(reason === null ? 200 : 503, 'text/plain', reason === null ? 'ready\n' : `not ready: ${reason}\n`);
      } else if (path === '/status') {
        reply(200, 'application/json', JSON.stringify(options.status(), null, 2) + '\n');
      } else {
        reply(404, 'text/plain', 'not found\n');
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new HttpEndpoint(server, `${options.host}:${options.port}`);
  }

  /** Stops accepting connections and closes idle ones. */
  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
