/**
 * Pending transactional (half) messages: stored in the half topic, invisible to consumers until
 * their producer commits them. Built by the state machine in dispatch order on every node, so a
 * new leader knows every pending one: a message dispatched to {@link HALF_TOPIC} adds its row; the
 * commit copy (which carries {@link TRANSACTION_END_PROPERTY}) or a `txn.rollback` META command
 * ends it; `txn.checked` counts a transaction check. A replay from the dispatch checkpoint redoes
 * these in the same order.
 *
 * Kept in memory (pending transactions are few and short-lived) and in LMDB db `txns` (restored at
 * startup): key `topic NUL messageId`, value {@link HalfMessage}. How each recent one ended is also
 * remembered in memory (bounded), so a repeated EndTransaction gets the same answer.
 */
import type { Database } from 'lmdb';
import { keyText } from './lmdb-keys.js';

/** The topic half messages wait in (one queue). */
export const HALF_TOPIC = 'RMQ_SYS_TRANS_HALF_TOPIC';

/** Property of a committed copy naming the pending transaction it ends (its dispatch ends it). */
export const TRANSACTION_END_PROPERTY = 'TRAN_END_OF';

/** How a transaction ended. */
export type TransactionOutcome = 'COMMIT' | 'ROLLBACK';

/** One pending half message. */
export interface HalfMessage {
  /** The real topic and the producer's message id. */
  topic: string;
  messageId: string;
  /** Where it is stored in the half topic. */
  position: number;
  size: number;
  queueOffset: number;
  entryIndex: number;
  storedAtMs: number;
  /** Transaction checks sent so far. */
  checks: number;
}

/** Outcomes remembered for repeated EndTransaction calls. */
const REMEMBERED_OUTCOMES = 100_000;

/** The key of a transaction: its real topic and message id. */
export function transactionKey(topic: string, messageId: string): string {
  return `${topic}\u0000${messageId}`;
}

/** See the file comment. */
export class TransactionTable {
  private readonly pending = new Map<string, HalfMessage>();
  private readonly ended = new Map<string, TransactionOutcome>();

  constructor(private readonly db: Database<HalfMessage, string>) {
    for (const { key, value } of db.getRange()) this.pending.set(keyText(key), value);
  }

  /** A half message was dispatched. */
  add(half: HalfMessage, onError: (error: unknown) => void): void {
    const key = transactionKey(half.topic, half.messageId);
    this.pending.set(key, half);
    this.ended.delete(key);
    this.db.put(key, half).catch(onError);
  }

  /** A transaction ended (commit copy dispatched, or rollback applied). Ending an unknown one is a no-op. */
  end(key: string, outcome: TransactionOutcome, onError: (error: unknown) => void): void {
    if (!this.pending.delete(key)) return;
    this.ended.set(key, outcome);
    if (this.ended.size > REMEMBERED_OUTCOMES) this.ended.delete(this.ended.keys().next().value as string);
    this.db.remove(key).catch(onError);
  }

  /** Checks were sent: `keys[i]` has now had `counts[i]` checks (absolute: replaying it sets the same count). */
  checked(keys: readonly string[], counts: readonly number[], onError: (error: unknown) => void): void {
    keys.forEach((key, i) => {
      const half = this.pending.get(key);
      if (!half || !Number.isInteger(counts[i])) return;
      const next = { ...half, checks: counts[i] };
      this.pending.set(key, next);
      this.db.put(key, next).catch(onError);
    });
  }

  /** The pending half message of a transaction key, if it is pending. */
  get(key: string): HalfMessage | undefined {
    return this.pending.get(key);
  }

  /** How a recently ended transaction ended (not remembered across restarts). */
  outcomeOf(key: string): TransactionOutcome | undefined {
    return this.ended.get(key);
  }

  /** Every pending half message with its key. */
  entries(): IterableIterator<[string, HalfMessage]> {
    return this.pending.entries();
  }

  get size(): number {
    return this.pending.size;
  }
}
