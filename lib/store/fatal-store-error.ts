import { LedgerError } from '../common/errors.js';

/**
 * A write, fsync, truncate or file creation of the store failed. The store that throws it is unusable
 * from then on (every later append, flush and truncate rejects with the same error): the bytes on disk
 * are in an unknown state and only a restart (recovery) may decide what survived. Never swallow it.
 */
export class FatalStoreError extends LedgerError {
  /** File the failing operation touched. */
  readonly file: string;

  constructor(file: string, operation: string, cause: unknown) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super('INTERNAL_SERVER_ERROR', `fatal store error: ${operation} failed on ${file}: ${detail}`, { cause, retriable: false });
    this.name = 'FatalStoreError';
    this.file = file;
  }
}
