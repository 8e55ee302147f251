/**
 * Authentication of cluster members by a shared cluster secret (see request-signature.ts for the
 * header format). Raft peers, brokers registering with NameServers and the Proxy calling brokers
 * sign every call they open; the receiving side checks the signature, the date-time window and
 * the method path before anything else. Mutual TLS, when configured, is checked by the TLS layer
 * on top of this; with neither, anyone who reaches a port is taken for a member.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { LedgerError } from '../common/errors.js';
import {
  AUTHORIZATION_HEADER, CLUSTER_ALGORITHM, DATE_TIME_HEADER, DEFAULT_MAX_SKEW_MS,
  checkDateTime, clusterHeaders, clusterSignature, parseAuthorization, signaturesEqual,
} from './request-signature.js';
import type { SignatureRefusal } from './request-signature.js';

/** Reads one metadata value by key ('' when absent); keeps grpc types out of this module. */
export type HeaderReader = (key: string) => string;

/** Outcome of a check: the signer's member id, or why the call is refused. */
export type ClusterAuthOutcome = { ok: true; memberId: string } | { ok: false; reason: SignatureRefusal; detail: string };

/** Shortest cluster secret accepted (bytes of text): a short one could be guessed offline from one header. */
export const MIN_CLUSTER_SECRET_LENGTH = 16;

/**
 * Writes a new random cluster secret (32 bytes, hex) to `file`, readable by its owner only.
 * Startup only: synchronous write.
 */
export function writeRandomClusterSecret(file: string): void {
  writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
}

/** Signs and checks cluster members' calls with one cluster secret. */
export class ClusterAuth {
  constructor(
    private readonly clusterSecret: string,
    private readonly maxSkewMs: number = DEFAULT_MAX_SKEW_MS,
    private readonly now: () => number = Date.now,
  ) {
    if (clusterSecret.length < MIN_CLUSTER_SECRET_LENGTH) {
      throw new LedgerError('BAD_REQUEST', `the cluster secret must be at least ${MIN_CLUSTER_SECRET_LENGTH} characters`);
    }
  }

  /**
   * Reads the secret from `file` (surrounding whitespace trimmed). Throws LedgerError BAD_REQUEST
   * when the file cannot be read or the secret is too short. Startup only: synchronous read.
   */
  static fromFile(file: string, maxSkewMs?: number): ClusterAuth {
    let secret: string;
    try {
      secret = readFileSync(file, 'utf8').trim();
    } catch (error) {
      throw new LedgerError('BAD_REQUEST', `cannot read the cluster secret file ${file}: ${error instanceof Error ? error.message : String(error)}`);
    }
    return new ClusterAuth(secret, maxSkewMs);
  }

  /** Headers that sign a call of `memberId` to the gRPC method `path` (e.g. `/ledgermq.raft.v1.RaftService/Stream`). */
  headersFor(memberId: string, path: string): Record<string, string> {
    return clusterHeaders(memberId, this.clusterSecret, path, this.now());
  }

  /** Checks the headers of a call to `path`. Never throws. */
  verify(header: HeaderReader, path: string): ClusterAuthOutcome {
    const authorization = header(AUTHORIZATION_HEADER);
    const dateTime = header(DATE_TIME_HEADER);
    if (!authorization || !dateTime) return { ok: false, reason: 'missing', detail: 'the call carries no cluster signature' };
    const parsed = parseAuthorization(authorization);
    if (parsed === null || parsed.algorithm !== CLUSTER_ALGORITHM) return { ok: false, reason: 'malformed', detail: `authorization is not ${CLUSTER_ALGORITHM}` };
    const stale = checkDateTime(dateTime, this.now(), this.maxSkewMs);
    if (stale !== null) return { ok: false, reason: stale, detail: `x-mq-date-time ${JSON.stringify(dateTime.slice(0, 40))} is ${stale === 'stale' ? `more than ${this.maxSkewMs} ms from this clock` : 'not yyyyMMddTHHmmssZ'}` };
    if (!signaturesEqual(clusterSignature(this.clusterSecret, dateTime, path), parsed.signature)) {
      return { ok: false, reason: 'bad_signature', detail: 'the cluster signature does not match' };
    }
    return { ok: true, memberId: parsed.credential };
  }
}
