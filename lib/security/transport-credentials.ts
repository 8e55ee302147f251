/**
 * gRPC credentials from LedgerMQ's TLS settings, one function per side, so that every bind and
 * channel site changes by one call.
 */
import * as grpc from '@grpc/grpc-js';
import type { ClientTls, ServerTls } from './tls-config.js';

/**
 * What a listener serves. `client`: NameServer, Proxy and broker ports (server authentication;
 * clients need no certificate). `peer`: the Raft port (mutual TLS: a certificate from the cluster
 * CA is required).
 */
export type ListenerRole = 'client' | 'peer';

/**
 * Server credentials for `role`: insecure when `tls` is null (mode off), else TLS with this
 * process's certificate, asking peers for a certificate signed by the CA only for role `peer`.
 */
export function serverCredentials(tls: ServerTls | null, role: ListenerRole): grpc.ServerCredentials {
  if (tls === null) return grpc.ServerCredentials.createInsecure();
  return grpc.ServerCredentials.createSsl(tls.ca, [{ private_key: tls.key, cert_chain: tls.cert }], role === 'peer');
}

/**
 * Channel credentials: insecure when `tls` is undefined, else TLS verifying the server against
 * `tls.ca` (the system's roots without one) and presenting `tls.cert` when given.
 */
export function channelCredentials(tls: ClientTls | undefined): grpc.ChannelCredentials {
  if (tls === undefined) return grpc.credentials.createInsecure();
  return grpc.credentials.createSsl(tls.ca ?? null, tls.key ?? null, tls.cert ?? null);
}
