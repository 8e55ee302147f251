/**
 * Whose signature the Proxy's broker calls carry. While the Proxy serves an official client's
 * request, the broker calls it makes for that request carry **the client's own** `authorization`
 * and `x-mq-date-time` headers (or none, when the client sent none), so brokers with `aclEnabled`
 * authenticate and authorize the user themselves. The Proxy's own calls, made outside a client's
 * request (Telemetry settings, transaction-check watches), are signed as a cluster member.
 *
 * The client's headers follow the request through its async work with an AsyncLocalStorage, so
 * the broker gateway's retries and failovers keep them.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type * as grpc from '@grpc/grpc-js';
import type { ClusterAuth } from '../security/cluster-auth.js';
import { AUTHORIZATION_HEADER, DATE_TIME_HEADER } from '../security/request-signature.js';
import type { CallHeaders } from '../security/signing-interceptor.js';
import { CLIENT_ID_HEADER } from '../common/request-limits.js';

/** The member id the Proxy names in its cluster signature. */
const PROXY_MEMBER_ID = 'proxy';

const callerHeaders = new AsyncLocalStorage<Record<string, string>>();

/** The headers of a client's call passed on: the two its signature is made of, and its client id (brokers share their in-flight budget fairly by it). */
function signatureOf(metadata: grpc.Metadata): Record<string, string> {
  const headers: Record<string, string> = {};
  const clientId = metadata.get(CLIENT_ID_HEADER)[0];
  if (typeof clientId === 'string' && clientId !== '') headers[CLIENT_ID_HEADER] = clientId;
  const authorization = metadata.get(AUTHORIZATION_HEADER)[0];
  const dateTime = metadata.get(DATE_TIME_HEADER)[0];
  if (typeof authorization === 'string' && typeof dateTime === 'string') {
    headers[AUTHORIZATION_HEADER] = authorization;
    headers[DATE_TIME_HEADER] = dateTime;
  }
  return headers;
}

/** Runs `serve` (a handler serving one client call) so that its broker calls carry the client's signature. */
export function asCaller<T>(metadata: grpc.Metadata, serve: () => T): T {
  return callerHeaders.run(signatureOf(metadata), serve);
}

/** Runs `work` as the Proxy itself (its broker calls signed as a cluster member), whatever call it runs within. */
export function asProxy<T>(work: () => T): T {
  return callerHeaders.exit(work);
}

/**
 * The Proxy gateway's signer: the current client's headers within {@link asCaller}, else the
 * cluster signature (nothing without a cluster secret).
 */
export function proxySigner(clusterAuth: ClusterAuth | null): CallHeaders {
  return (path) => callerHeaders.getStore() ?? (clusterAuth === null ? {} : clusterAuth.headersFor(PROXY_MEMBER_ID, path));
}

/** Handlers that serve the Proxy's own session with a client (not one request): signed as the Proxy. */
const PROXY_SESSIONS: ReadonlySet<string> = new Set(['Telemetry']);

/**
 * Wraps each MessagingService handler in {@link asCaller} (Telemetry, the client's long-lived
 * session, in {@link asProxy}: a signature from its start would go stale).
 */
export function withCallerSignature<T extends object>(handlers: T): T {
  const wrapped: Record<string, unknown> = {};
  for (const [method, handler] of Object.entries(handlers)) {
    const serve = handler as (call: { metadata: grpc.Metadata }, callback?: unknown) => void;
    wrapped[method] = PROXY_SESSIONS.has(method)
      ? (call: { metadata: grpc.Metadata }, callback?: unknown) => asProxy(() => serve(call, callback))
      : (call: { metadata: grpc.Metadata }, callback?: unknown) => asCaller(call.metadata, () => serve(call, callback));
  }
  return wrapped as T;
}
