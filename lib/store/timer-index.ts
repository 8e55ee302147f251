/**
 * The timer index: every delayed message waiting in the timer topic, ordered by the time it falls
 * due. It is the time-bucketed structure behind delayed and scheduled delivery: the leader reads
 * only its head (what is due now, and when the next one falls due), never the whole set, so the
 * cost of waiting messages is their storage, not CPU.
 *
 * Built by the state machine in dispatch order on every node, like the message index: a message
 * dispatched to {@link TIMER_TOPIC} adds its row; its delivered copy (which carries
 * {@link TIMER_ROW_PROPERTY}) or a `timer.cancel` META command removes it. A replay from the
 * dispatch checkpoint re-adds and re-removes in the same order, so a crash never loses a row and
 * never brings back a delivered one.
 *
 * LMDB db `timers`, string keys (ordered), msgpack values:
 *
 * | key | value |
 * |---|---|
 * | dueMs (15 digits) NUL CommitLog position (16 digits) | TimerRow |
 */
import type { Database } from 'lmdb';

/** The broker topic that holds delayed messages until they fall due (one queue). */
export const TIMER_TOPIC = 'rmq_sys_wheel_timer';

/** Property of a delivered copy naming the timer row it came from (its dispatch removes the row). */
export const TIMER_ROW_PROPERTY = 'TIMER_ROW';

/** One waiting message: where it is stored in the timer topic. */
export interface TimerRow {
  dueMs: number;
  position: number;
  size: number;
  queueOffset: number;
  /** Raft log index of the entry that stored it. */
  entryIndex: number;
  /** The real topic and the message id (RecallMessage finds the row by them). Absent in rows of older builds. */
  topic?: string;
  messageId?: string;
}

const pad = (value: number, digits: number): string => String(Math.max(0, Math.floor(value))).padStart(digits, '0');

/** The row key of a message stored at `position`, due at `dueMs`. */
export function timerRowKey(dueMs: number, position: number): string {
  return `${pad(Math.min(dueMs, 999_999_999_999_999), 15)}\u0000${pad(position, 16)}`;
}

/**
 * See the file comment. LMDB's queued writes become visible to reads only once committed, so the
 * index remembers removals still in flight (a delivered row must not be read as due again) and
 * tells its listeners when added rows become readable.
 */
export class TimerIndex {
  /** Keys whose removal is queued but not committed yet, with how many removals are pending. */
  private readonly removing = new Map<string, number>();
  private readonly addListeners: Array<() => void> = [];

  constructor(private readonly db: Database<TimerRow, string>) {}

  /** Registers a listener called once rows added by {@link add} are readable. */
  onAdded(listener: () => void): void {
    this.addListeners.push(listener);
  }

  /** Queues row writes (committed with the next LMDB write batch, in call order); a failure goes to `onError`. */
  add(rows: readonly TimerRow[], onError: (error: unknown) => void): void {
    if (rows.length === 0) return;
    const writes = rows.map((row) => this.db.put(timerRowKey(row.dueMs, row.position), row));
    Promise.all(writes).then(() => {
      for (const listener of this.addListeners) listener();
    }, onError);
  }

  /** Queues row removals (in call order with the writes). Removing a missing row is a no-op. */
  remove(keys: readonly string[], onError: (error: unknown) => void): void {
    for (const key of keys) {
      this.removing.set(key, (this.removing.get(key) ?? 0) + 1);
      this.db.remove(key).then(() => this.removed(key), (error: unknown) => {
        this.removed(key);
        onError(error);
      });
    }
  }

  /** Rows due at or before `nowMs`, earliest first, at most `limit` (rows being removed, and those `skip` names, left out). */
  due(nowMs: number, limit: number, skip: (key: string) => boolean = () => false): Array<{ key: string; row: TimerRow }> {
    const end = `${pad(Math.min(nowMs, 999_999_999_999_999), 15)}\u0000\uffff`;
    const rows: Array<{ key: string; row: TimerRow }> = [];
    for (const entry of this.db.getRange({ end })) {
      if (this.removing.has(entry.key) || skip(entry.key)) continue;
      rows.push({ key: entry.key, row: entry.value });
      if (rows.length >= limit) break;
    }
    return rows;
  }

  private removed(key: string): void {
    const left = (this.removing.get(key) ?? 1) - 1;
    if (left > 0) this.removing.set(key, left);
    else this.removing.delete(key);
  }

  /** Rows due exactly at `dueMs` that `match` accepts (a recall handle names one of them). */
  dueAt(dueMs: number, match: (entry: { key: string; row: TimerRow }) => boolean): Array<{ key: string; row: TimerRow }> {
    const prefix = `${pad(Math.min(dueMs, 999_999_999_999_999), 15)}\u0000`;
    const rows: Array<{ key: string; row: TimerRow }> = [];
    for (const entry of this.db.getRange({ start: prefix, end: `${prefix}\uffff` })) {
      const found = { key: entry.key, row: entry.value };
      if (!this.removing.has(entry.key) && match(found)) rows.push(found);
    }
    return rows;
  }

  /** The earliest waiting row (rows `skip` names left out), or undefined when none waits. */
  first(skip: (key: string) => boolean = () => false): TimerRow | undefined {
    for (const entry of this.db.getRange({})) if (!this.removing.has(entry.key) && !skip(entry.key)) return entry.value;
    return undefined;
  }

  /** How many messages wait (LMDB's entry count; no scan). */
  count(): number {
    return (this.db.getStats() as { entryCount: number }).entryCount;
  }
}
