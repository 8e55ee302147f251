/** Options every LedgerMQ client (producer, consumers, admin) shares, with their defaults. */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { ClientTlsFiles } from '../security/tls-config.js';
import { userHeaders } from '../security/request-signature.js';
import type { CallHeaders } from '../security/signing-interceptor.js';

export interface ClientOptions {
  /** NameServers as `host:port`; routes are asked from them, one at a time, until one answers. */
  nameServers: string[];
  /** Identifies this client instance to brokers (consumer groups, admin views). Default: host@pid@random. */
  clientId?: string;
  /** Deadline of one request, retries after a failover included (default 3,000 ms). */
  requestTimeoutMs?: number;
  /** How often routes and leaders are asked again (default 30,000 ms, RocketMQ's pollNameServerInterval). */
  routeRefreshIntervalMs?: number;
  /**
   * Connect to NameServers and brokers with TLS (clusters with `tlsMode` permissive or strict):
   * `caFile` is the cluster's CA (the system's roots without it); `certFile`/`keyFile` a client
   * certificate, for servers that ask for one. Absent: plaintext.
   */
  tls?: ClientTlsFiles;
  /**
   * A user's keys (brokers with `aclEnabled`): every call to a broker or NameServer is signed
   * (MQv2-HMAC-SHA1 over a fresh x-mq-date-time). Absent: calls are not signed.
   */
  credentials?: Credentials;
}

/** An ACL user's AccessKey and SecretKey (RocketMQ's SessionCredentials). */
export interface Credentials {
  accessKey: string;
  secretKey: string;
}

/** Headers that sign each call with `credentials`, or null without them (for signingOptions). */
export function credentialSigner(credentials: Credentials | undefined): CallHeaders | null {
  if (!credentials) return null;
  const { accessKey, secretKey } = credentials;
  return () => userHeaders(accessKey, secretKey, Date.now());
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 3_000;

/** A client id unique to this process and instance. */
export function newClientId(): string {
  return `${hostname()}@${process.pid}@${randomBytes(4).toString('hex')}`;
}

/** A message id: 32 upper-case hex digits, random (kept across a send's retries). */
export function newMessageId(): string {
  return randomBytes(16).toString('hex').toUpperCase();
}
