/**
 * Binds a gRPC server with the TLS of its role and mode (see {@link TlsMode}), optionally behind a
 * {@link ConnectionGate} (connections per remote address):
 *
 * - mode off, or a client port in strict mode: gRPC's own bind (plaintext, or TLS); with a gate, our
 *   own TCP listener admits each socket and hands it to a connection injector of the same
 *   credentials.
 * - a client port in permissive mode: one TCP port for both. The first byte of a connection tells
 *   them apart (0x16 starts a TLS ClientHello; an HTTP/2 preface starts with "P"), and the socket
 *   goes to a TLS or a plaintext connection injector of the same gRPC server.
 * - the Raft port in either TLS mode: mutual TLS, with the handshake done here (a `tls.Server` that
 *   never listens) so that refused connections are seen: plaintext, no certificate, a certificate
 *   the cluster CA did not sign. Each is reported to `onRefused` and closed before gRPC sees it;
 *   an authenticated socket goes to a plaintext injector (it is already TLS).
 */
import * as grpc from '@grpc/grpc-js';
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { ConnectionGate } from '../common/connection-gate.js';
import { LedgerError } from '../common/errors.js';
import type { ServerTls } from './tls-config.js';
import { serverCredentials } from './transport-credentials.js';
import type { ListenerRole } from './transport-credentials.js';

/** Why a connection to a mutual-TLS port was refused (the `reason` label of the metric). */
export type RefusalReason = 'plaintext' | 'no_certificate' | 'untrusted_certificate' | 'handshake_failed';

/** Options of {@link listenGrpc}. */
export interface ListenOptions {
  /** Loaded TLS material; null: mode off. */
  tls: ServerTls | null;
  role: ListenerRole;
  /** Told of every connection a mutual-TLS port refused, before the socket is closed. */
  onRefused?: (reason: RefusalReason, remoteAddress: string, error: Error | null) => void;
  /** Counts connections per remote address and closes those over its cap, before TLS or HTTP/2. */
  gate?: ConnectionGate;
}

/** A bound listener. */
export interface BoundListener {
  /** The port bound (the real one when 0 was asked). */
  readonly port: number;
  /**
   * Stops accepting connections. Connections already handed to gRPC are the gRPC server's to end
   * (`tryShutdown` / `forceShutdown`); call both. Idempotent.
   */
  close(): void;
}

/** First byte of a TLS record carrying a handshake message (the ClientHello). */
const TLS_HANDSHAKE_RECORD = 0x16;
/** A connection that sends nothing for this long before it is routed is closed. */
const FIRST_BYTE_TIMEOUT_MS = 10_000;

/**
 * Binds `server` on `address` (`host:port`, `[v6]:port`) as described in the file comment.
 *
 * @throws Error when the address cannot be bound; LedgerError BAD_REQUEST when it is malformed.
 */
export async function listenGrpc(server: grpc.Server, address: string, options: ListenOptions): Promise<BoundListener> {
  const material = options.tls;
  const single = material === null || (options.role === 'client' && material.mode === 'strict');
  if (single && !options.gate) {
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(address, serverCredentials(material, options.role), (error, bound) => (error ? reject(error) : resolve(bound)));
    });
    return { port, close: () => undefined };
  }
  let accept: (socket: net.Socket) => void;
  if (single) {
    const only = server.createConnectionInjector(serverCredentials(material, options.role));
    accept = (socket) => only.injectConnection(socket);
  } else {
    const route = tlsRouter(server, material, options);
    accept = (socket) => routeByFirstByte(socket, route);
  }
  const gate = options.gate;
  const listener = net.createServer({ noDelay: true }, (socket) => {
    if (!gate || gate.admit(socket)) accept(socket);
  });
  const { host, port } = splitHostPort(address);
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen({ host, port }, () => {
      listener.off('error', reject);
      resolve();
    });
  });
  return {
    port: (listener.address() as net.AddressInfo).port,
    close: () => {
      if (listener.listening) listener.close();
    },
  };
}

/** Where a socket goes once its first byte says TLS or not: permissive client ports, mutual-TLS Raft ports. */
function tlsRouter(server: grpc.Server, material: ServerTls, options: ListenOptions): (socket: net.Socket, isTls: boolean) => void {
  const plaintext = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  let route: (socket: net.Socket, isTls: boolean) => void;
  if (options.role === 'client') {
    const secure = server.createConnectionInjector(serverCredentials(material, 'client'));
    route = (socket, isTls) => (isTls ? secure : plaintext).injectConnection(socket);
  } else {
    const refuse = (reason: RefusalReason, socket: net.Socket, error: Error | null): void => {
      options.onRefused?.(reason, `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`, error);
      socket.destroy();
    };
    // Certificates are checked in 'secureConnection' rather than by rejectUnauthorized, which
    // closes the socket without telling why (the reason would be lost in TLS 1.3).
    const handshakes = tls.createServer({
      key: material.key, cert: material.cert, ca: material.ca, requestCert: true, rejectUnauthorized: false, ALPNProtocols: ['h2'],
    });
    handshakes.on('secureConnection', (socket: tls.TLSSocket) => {
      if (socket.authorized) plaintext.injectConnection(socket);
      else refuse(hasCertificate(socket) ? 'untrusted_certificate' : 'no_certificate', socket, socket.authorizationError ?? null);
    });
    handshakes.on('tlsClientError', (error: Error, socket: tls.TLSSocket) => refuse('handshake_failed', socket, error));
    route = (socket, isTls) => {
      if (isTls) handshakes.emit('connection', socket);
      else refuse('plaintext', socket, null);
    };
  }
  return route;
}

/** Waits for a connection's first bytes, puts them back, and routes the socket by the first one. */
function routeByFirstByte(socket: net.Socket, route: (socket: net.Socket, isTls: boolean) => void): void {
  // Until gRPC or TLS owns the socket, a reset is nobody's error: drop it quietly.
  const dropQuietly = (): void => undefined;
  const onIdle = (): void => {
    socket.destroy();
  };
  socket.on('error', dropQuietly);
  socket.setTimeout(FIRST_BYTE_TIMEOUT_MS);
  socket.once('timeout', onIdle);
  socket.once('data', (chunk: Buffer) => {
    socket.setTimeout(0);
    socket.off('timeout', onIdle);
    socket.off('error', dropQuietly);
    socket.pause();
    // TLS and HTTP/2 both read bytes already buffered on the socket before its handle.
    socket.unshift(chunk);
    route(socket, chunk[0] === TLS_HANDSHAKE_RECORD);
  });
}

/** Whether the peer of `socket` sent a certificate at all. */
function hasCertificate(socket: tls.TLSSocket): boolean {
  return Object.keys(socket.getPeerCertificate()).length > 0;
}

function splitHostPort(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  const port = Number(address.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) throw new LedgerError('BAD_REQUEST', `listen address "${address}" is not host:port`);
  const host = address.slice(0, colon);
  return { host: host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host, port };
}
