/**
 * TLS settings of LedgerMQ's listeners and clients, and loading their PEM files. Servers take a
 * mode and certificate, key and CA files (broker config keys `tlsMode`, `tlsCertFile`,
 * `tlsKeyFile`, `tlsCaFile`; `ledgermq namesrv --tls-*` flags); clients take a CA file and,
 * optionally, a certificate and key of their own. Files are read once, at startup.
 */
import { readFileSync } from 'node:fs';
import { LedgerError } from '../common/errors.js';

/**
 * `off`: every port plaintext. `strict`: client ports (NameServer, Proxy, broker) take TLS only.
 * `permissive`: client ports take TLS and plaintext on the same port (as RocketMQ's Proxy does), for
 * a rolling switch. In both TLS modes the Raft port takes mutual TLS only (a certificate from the
 * cluster CA), and internal clients connect with TLS and present the node's certificate.
 */
export type TlsMode = 'off' | 'permissive' | 'strict';

/** Every {@link TlsMode}, for flag and config checks. */
export const TLS_MODES: readonly TlsMode[] = ['off', 'permissive', 'strict'];

/** A server's TLS settings as configured: file paths (empty strings when the mode is `off`). */
export interface ServerTlsFiles {
  mode: TlsMode;
  certFile: string;
  keyFile: string;
  caFile: string;
}

/** A server's TLS material, loaded; null everywhere stands for mode `off`. */
export interface ServerTls {
  mode: Exclude<TlsMode, 'off'>;
  /** PEM certificate chain of this process (server and, towards peers, client certificate). */
  cert: Buffer;
  key: Buffer;
  /** PEM CA certificates trusted for peers and for the servers this process calls. */
  ca: Buffer;
}

/** What a client needs for TLS: present means "use TLS". */
export interface ClientTlsFiles {
  /** PEM CA file that signed the servers' certificates; absent: the system's roots. */
  caFile?: string;
  /** Client certificate and key (both or neither), for servers that ask for one. */
  certFile?: string;
  keyFile?: string;
}

/** A client's TLS material, loaded. */
export interface ClientTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/** Whether `value` is a {@link TlsMode}. */
export function isTlsMode(value: unknown): value is TlsMode {
  return typeof value === 'string' && (TLS_MODES as readonly string[]).includes(value);
}

/**
 * Checks `files` without reading them: a TLS mode needs all three files.
 *
 * @throws LedgerError BAD_REQUEST naming what is missing or wrong (`what` prefixes the message).
 */
export function checkServerTlsFiles(files: ServerTlsFiles, what: string): void {
  if (!isTlsMode(files.mode)) throw new LedgerError('BAD_REQUEST', `${what}: TLS mode must be one of ${TLS_MODES.join(', ')}, got ${JSON.stringify(files.mode)}`);
  if (files.mode === 'off') return;
  const missing = (['certFile', 'keyFile', 'caFile'] as const).filter((key) => files[key] === '');
  if (missing.length > 0) throw new LedgerError('BAD_REQUEST', `${what}: TLS mode ${files.mode} needs ${missing.join(', ')}`);
}

/**
 * Reads the PEM files of `files`; null when the mode is `off`. Synchronous: called once at startup.
 *
 * @throws LedgerError BAD_REQUEST when a setting is missing or a file cannot be read.
 */
export function loadServerTls(files: ServerTlsFiles, what: string): ServerTls | null {
  checkServerTlsFiles(files, what);
  if (files.mode === 'off') return null;
  return { mode: files.mode, cert: readPem(files.certFile, what), key: readPem(files.keyFile, what), ca: readPem(files.caFile, what) };
}

/**
 * Reads a client's PEM files; undefined when `files` is undefined (plaintext).
 *
 * @throws LedgerError BAD_REQUEST when only one of certFile/keyFile is given or a file cannot be read.
 */
export function loadClientTls(files: ClientTlsFiles | undefined, what = 'client TLS'): ClientTls | undefined {
  if (files === undefined) return undefined;
  if ((files.certFile === undefined) !== (files.keyFile === undefined)) throw new LedgerError('BAD_REQUEST', `${what}: give both a certificate and a key file, or neither`);
  return {
    ca: files.caFile === undefined ? undefined : readPem(files.caFile, what),
    cert: files.certFile === undefined ? undefined : readPem(files.certFile, what),
    key: files.keyFile === undefined ? undefined : readPem(files.keyFile, what),
  };
}

/** The TLS of a server process's own outgoing calls (to NameServers, brokers, Raft peers): its CA and certificate. */
export function internalClientTls(server: ServerTls | null): ClientTls | undefined {
  return server === null ? undefined : { ca: server.ca, cert: server.cert, key: server.key };
}

function readPem(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new LedgerError('BAD_REQUEST', `${what}: cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}
