import { RETRIABLE_CODES, StatusCode, statusCodeName } from './status-codes.js';
import type { StatusCodeName } from './status-codes.js';

/**
 * The one base error of LedgerMQ. Every expected failure that reaches a wire carries a code from
 * {@link StatusCode}; protocol adapters map it to a response in exactly one place each.
 */
export class LedgerError extends Error {
  /** Name of the status code, e.g. `'ILLEGAL_TOPIC'`. */
  readonly code: StatusCodeName;
  /** Whether the same request may succeed if retried (perhaps on another node). */
  readonly retriable: boolean;

  constructor(code: StatusCodeName, message: string, options?: { cause?: unknown; retriable?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LedgerError';
    this.code = code;
    this.retriable = options?.retriable ?? RETRIABLE_CODES.has(code);
  }

  /** Numeric wire value of {@link code}. */
  get statusValue(): number {
    return StatusCode[this.code];
  }
}

/** This node is not the leader of its broker group; `leaderId`/`leaderAddress` say who is, if known. */
export class NotLeaderError extends LedgerError {
  readonly leaderId: string | null;
  readonly leaderAddress: string | null;

  /** `reason` replaces the default message when no leader is named (e.g. a hand-over in progress). */
  constructor(leaderId: string | null, leaderAddress: string | null, reason?: string) {
    super('NOT_LEADER', leaderAddress ? `not the leader; leader is ${leaderId ?? '?'} at ${leaderAddress}` : reason ?? 'not the leader; no leader known');
    this.name = 'NotLeaderError';
    this.leaderId = leaderId;
    this.leaderAddress = leaderAddress;
  }
}

/** A checksum failed on a record that should be durable: the store must not serve it. */
export class CorruptRecordError extends LedgerError {
  readonly segmentFile: string;
  readonly position: number;
  /** Index of the damaged entry, when known. */
  readonly index: number | undefined;

  constructor(segmentFile: string, position: number, detail: string, index?: number) {
    super('INTERNAL_SERVER_ERROR', `corrupt record at position ${position} in ${segmentFile}: ${detail}`, { retriable: false });
    this.name = 'CorruptRecordError';
    this.segmentFile = segmentFile;
    this.position = position;
    this.index = index;
  }
}

/** Plain data form of a status, as carried by the internal protocol. */
export interface WireStatus {
  code: number;
  message: string;
  leaderId?: string;
  leaderAddress?: string;
}

/** Turns any thrown value into a wire status; unexpected errors become INTERNAL_ERROR. */
export function toWireStatus(error: unknown): WireStatus {
  if (error instanceof NotLeaderError) {
    return { code: error.statusValue, message: error.message, leaderId: error.leaderId ?? '', leaderAddress: error.leaderAddress ?? '' };
  }
  if (error instanceof LedgerError) return { code: error.statusValue, message: error.message };
  const message = error instanceof Error ? error.message : String(error);
  return { code: StatusCode.INTERNAL_ERROR, message: `internal error: ${message}` };
}

/** Rebuilds the error a wire status stands for; returns `null` for OK. */
export function fromWireStatus(status: WireStatus | null | undefined): LedgerError | null {
  if (!status) return new LedgerError('INTERNAL_ERROR', 'response carried no status');
  if (status.code === StatusCode.OK) return null;
  const name = statusCodeName(status.code) ?? 'INTERNAL_ERROR';
  if (name === 'NOT_LEADER') return new NotLeaderError(status.leaderId || null, status.leaderAddress || null);
  return new LedgerError(name, status.message);
}

/** Throws the error a non-OK wire status stands for. */
export function throwIfNotOk(status: WireStatus | null | undefined): void {
  const error = fromWireStatus(status);
  if (error) throw error;
}
