/**
 * A local certificate authority for development clusters and tests (`ledgermq certs`,
 * `ledgermq up --tls`): a CA and one node certificate it signs, ECDSA P-256, written as PEM files
 * into one folder. Made with @peculiar/x509 over Node's WebCrypto (`globalThis.crypto`, its default provider), so no `openssl` binary is needed.
 *
 * Files in the folder ({@link LOCAL_CERT_FILES}): `ca.pem`, `ca-key.pem`, `node.pem`,
 * `node-key.pem` (keys mode 0600). The node certificate is for servers and for their calls to each
 * other (extended key usage serverAuth and clientAuth), valid for the given hosts (DNS names or
 * IP addresses in its subjectAltName). Every process of a local cluster uses it.
 */
// @peculiar/x509's dependency tsyringe needs the Reflect metadata API before it loads.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';

/** Paths of a certificate folder's files. */
export interface LocalCertFiles {
  caFile: string;
  caKeyFile: string;
  certFile: string;
  keyFile: string;
}

/** Options of {@link createLocalCertificates}. */
export interface LocalCertOptions {
  /** subjectAltNames of the node certificate (default `127.0.0.1`, `localhost`). */
  hosts?: string[];
  /** Validity in days (default 825, the longest browsers accept for a server certificate). */
  validDays?: number;
  /** Common name of the CA (default `LedgerMQ local CA`); tests make a second, foreign CA. */
  caName?: string;
}

/** File names inside a certificate folder. */
export const LOCAL_CERT_FILES = { caFile: 'ca.pem', caKeyFile: 'ca-key.pem', certFile: 'node.pem', keyFile: 'node-key.pem' } as const;

const DEFAULT_HOSTS = ['127.0.0.1', 'localhost'];
const DEFAULT_VALID_DAYS = 825;
const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const DAY_MS = 24 * 60 * 60 * 1000;

/** The file paths of the certificate folder `dir` (absolute). */
export function localCertFiles(dir: string): LocalCertFiles {
  const folder = resolve(dir);
  return {
    caFile: join(folder, LOCAL_CERT_FILES.caFile),
    caKeyFile: join(folder, LOCAL_CERT_FILES.caKeyFile),
    certFile: join(folder, LOCAL_CERT_FILES.certFile),
    keyFile: join(folder, LOCAL_CERT_FILES.keyFile),
  };
}

/**
 * Writes a new CA and node certificate into `dir` (created if missing), replacing what is there.
 * Synchronous file writes: a one-off command, not a server path.
 */
export async function createLocalCertificates(dir: string, options: LocalCertOptions = {}): Promise<LocalCertFiles> {
  const files = localCertFiles(dir);
  const validDays = options.validDays ?? DEFAULT_VALID_DAYS;
  const notBefore = new Date(Date.now() - DAY_MS);
  const notAfter = new Date(Date.now() + validDays * DAY_MS);
  const caKeys = await generateKeys();
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${options.caName ?? 'LedgerMQ local CA'}, O=LedgerMQ`,
    keys: caKeys, notBefore, notAfter, signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey, false),
    ],
  });
  const nodeKeys = await generateKeys();
  const hosts = options.hosts ?? DEFAULT_HOSTS;
  const node = await x509.X509CertificateGenerator.create({
    subject: 'CN=ledgermq-node, O=LedgerMQ', issuer: ca.subject,
    publicKey: nodeKeys.publicKey, signingKey: caKeys.privateKey, notBefore, notAfter, signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension(hosts.map((host) => ({ type: isIP(host) ? 'ip' as const : 'dns' as const, value: host }))),
      await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey, false),
    ],
  });
  mkdirSync(resolve(dir), { recursive: true });
  writeFileSync(files.caFile, ca.toString('pem') + '\n');
  writeFileSync(files.caKeyFile, await privateKeyPem(caKeys.privateKey), { mode: 0o600 });
  writeFileSync(files.certFile, node.toString('pem') + '\n');
  writeFileSync(files.keyFile, await privateKeyPem(nodeKeys.privateKey), { mode: 0o600 });
  return files;
}

/**
 * The certificate folder `dir`, created with {@link createLocalCertificates} when any of the CA
 * or node files is missing (an existing, complete folder is used as it is).
 */
export async function ensureLocalCertificates(dir: string, options: LocalCertOptions = {}): Promise<LocalCertFiles> {
  const files = localCertFiles(dir);
  if ([files.caFile, files.certFile, files.keyFile].every((file) => existsSync(file))) return files;
  return createLocalCertificates(dir, options);
}

/** The subject and subjectAltNames of a PEM certificate file (for `ledgermq certs` output). */
export function describeCertificate(file: string): { subject: string; issuer: string; notAfter: Date; altNames: string[] } {
  const certificate = new x509.X509Certificate(readFileSync(file, 'utf8'));
  const san = certificate.getExtension(x509.SubjectAlternativeNameExtension);
  return { subject: certificate.subject, issuer: certificate.issuer, notAfter: certificate.notAfter, altNames: san ? san.names.items.map((name) => name.value) : [] };
}

function generateKeys(): Promise<webcrypto.CryptoKeyPair> {
  return webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
}

async function privateKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY') + '\n';
}
