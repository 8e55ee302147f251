/**
 * Request signatures carried in gRPC metadata, the one place they are made and checked.
 *
 * Two schemes share the header layout of the RocketMQ v2 clients
 * (`authorization: <ALGORITHM> Credential=<id>, SignedHeaders=<names>, Signature=<hex>` plus
 * `x-mq-date-time: yyyyMMddTHHmmssZ`):
 *
 * | algorithm | who signs | signed text | key |
 * |---|---|---|---|
 * | `MQv2-HMAC-SHA1` | users (official clients, our client, the admin CLI) | the date-time | the user's SecretKey |
 * | `LMQ-HMAC-SHA256` | cluster members (Raft peers, brokers to NameServers, the Proxy) | date-time, newline, gRPC method path | the cluster secret |
 *
 * A signature is valid only while its date-time lies within the allowed skew of this process's
 * clock, which is also the window in which a captured header could be replayed: the v2 format signs
 * nothing else, so only TLS keeps headers from being captured. The cluster scheme binds the method
 * path as well, so a header captured from one call cannot open another kind of call.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const AUTHORIZATION_HEADER = 'authorization';
export const DATE_TIME_HEADER = 'x-mq-date-time';
export const USER_ALGORITHM = 'MQv2-HMAC-SHA1';
export const CLUSTER_ALGORITHM = 'LMQ-HMAC-SHA256';

/** Default bound on |request date-time − this clock| (AWS SigV4 allows 15 min; we keep it tighter). */
export const DEFAULT_MAX_SKEW_MS = 5 * 60 * 1000;

/** The parts of an `authorization` header. */
export interface ParsedAuthorization {
  algorithm: string;
  credential: string;
  signedHeaders: string[];
  signature: string;
}

/** Why a signature was refused (also the `reason` label of the refusal counters). */
export type SignatureRefusal = 'missing' | 'malformed' | 'stale' | 'unknown_credential' | 'bad_signature';

/** `yyyyMMddTHHmmssZ` in UTC, as the v2 clients send it. */
export function formatDateTime(atMs: number): string {
  return `${new Date(atMs).toISOString().slice(0, 19).replace(/[-:]/g, '')}Z`;
}

/** Milliseconds since the epoch of a `yyyyMMddTHHmmssZ` date-time; null when it is not one. */
export function parseDateTime(text: string): number | null {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!match) return null;
  const [, year, month, day, hour, minute, second] = match.map(Number);
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  // Date.UTC rolls over out-of-range fields (month 13): a round trip catches them.
  return Number.isFinite(ms) && formatDateTime(ms) === text ? ms : null;
}

/** Parses an `authorization` header; null when it does not have the expected shape. */
export function parseAuthorization(header: string): ParsedAuthorization | null {
  if (header.length > 1024) return null;
  const match = /^([A-Za-z0-9-]+) Credential=([^,\s]+), ?SignedHeaders=([^,\s]+), ?Signature=([0-9A-Fa-f]+)$/.exec(header.trim());
  if (!match) return null;
  return { algorithm: match[1], credential: match[2], signedHeaders: match[3].split(';'), signature: match[4] };
}

/** The v2 clients' signature: HMAC-SHA1 of the date-time with the SecretKey, upper-case hex. */
export function userSignature(secretKey: string, dateTime: string): string {
  return createHmac('sha1', secretKey).update(dateTime).digest('hex').toUpperCase();
}

/** The cluster members' signature: HMAC-SHA256 of `dateTime \n path` with the cluster secret. */
export function clusterSignature(clusterSecret: string, dateTime: string, path: string): string {
  return createHmac('sha256', clusterSecret).update(`${dateTime}\n${path}`).digest('hex').toUpperCase();
}

/** Headers that sign a user's request with its AccessKey/SecretKey at `atMs`. */
export function userHeaders(accessKey: string, secretKey: string, atMs: number): Record<string, string> {
  const dateTime = formatDateTime(atMs);
  return {
    [DATE_TIME_HEADER]: dateTime,
    [AUTHORIZATION_HEADER]: `${USER_ALGORITHM} Credential=${accessKey}, SignedHeaders=${DATE_TIME_HEADER}, Signature=${userSignature(secretKey, dateTime)}`,
  };
}

/** Headers that sign a cluster member's call to `path` at `atMs`; `memberId` names the signer. */
export function clusterHeaders(memberId: string, clusterSecret: string, path: string, atMs: number): Record<string, string> {
  const dateTime = formatDateTime(atMs);
  return {
    [DATE_TIME_HEADER]: dateTime,
    [AUTHORIZATION_HEADER]: `${CLUSTER_ALGORITHM} Credential=${memberId}, SignedHeaders=${DATE_TIME_HEADER};path, Signature=${clusterSignature(clusterSecret, dateTime, path)}`,
  };
}

/** Compares two hex signatures in constant time (case-insensitive). */
export function signaturesEqual(expected: string, given: string): boolean {
  const a = Buffer.from(expected.toUpperCase());
  const b = Buffer.from(given.toUpperCase());
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Checks a date-time header against `nowMs`: null when fresh, else the refusal. */
export function checkDateTime(dateTime: string, nowMs: number, maxSkewMs: number): SignatureRefusal | null {
  const atMs = parseDateTime(dateTime);
  if (atMs === null) return 'malformed';
  return Math.abs(nowMs - atMs) > maxSkewMs ? 'stale' : null;
}
