/**
 * Where in the log each deleted topic and subscription group was dead: from its delete entry up
 * to the entry that created it again. A send, pop, ack or offset command for a topic or group is
 * proposed after the leader checked that it exists, but may commit after a delete of it; applied
 * there, it would bring back queues or progress of the deleted topic (and a topic created again
 * would not start at offset 0). The state machine drops every message and command whose entry lies
 * in a dead interval of its topic or group.
 *
 * The decision depends only on the entry's index and the intervals, not on when it is applied, so
 * a replay from an older checkpoint (whose META state is already past later deletes and creates)
 * decides as the first run did. The last 8 intervals per name are kept (replays reach back about
 * one checkpoint interval, a second by default). Pure: persisted through the MetaStore by the
 * state machine.
 */

/** Entries `from` (the delete) up to, not including, `to` (the new create; null: still deleted). */
export interface DeadInterval {
  from: number;
  to: number | null;
}

export type FenceKind = 'topic' | 'group';

const KEPT_INTERVALS = 8;

/** See the file comment. */
export class DeletionFences {
  private readonly byKey = new Map<string, DeadInterval[]>();

  /** The persistence key of a topic's or group's intervals. */
  static key(kind: FenceKind, name: string): string {
    return `${kind}\u0000${name}`;
  }

  /** Loads persisted intervals (startup). */
  restore(key: string, intervals: DeadInterval[]): void {
    this.byKey.set(key, intervals);
  }

  /** A delete applied at `index`: opens an interval (unless one is open). Returns the intervals to persist. */
  deleted(kind: FenceKind, name: string, index: number): DeadInterval[] {
    const key = DeletionFences.key(kind, name);
    const list = this.byKey.get(key) ?? [];
    // A delete of something already deleted keeps the open interval.
    if (list.at(-1)?.to !== null) list.push({ from: index, to: null });
    const kept = list.slice(-KEPT_INTERVALS);
    this.byKey.set(key, kept);
    return kept;
  }

  /** A create applied at `index`: closes the open interval. Returns the intervals to persist, or null when nothing changed. */
  created(kind: FenceKind, name: string, index: number): DeadInterval[] | null {
    const list = this.byKey.get(DeletionFences.key(kind, name));
    const open = list?.at(-1);
    if (list === undefined || open === undefined || open.to !== null) return null;
    open.to = index;
    return list;
  }

  /** Whether the topic or group was deleted after entry `index` (what that entry stored is gone). */
  deletedAfter(kind: FenceKind, name: string, index: number): boolean {
    return this.byKey.get(DeletionFences.key(kind, name))?.some((interval) => interval.from > index) ?? false;
  }

  /** Whether `index` lies in a dead interval of the topic or group. */
  deadAt(kind: FenceKind, name: string, index: number): boolean {
    const list = this.byKey.get(DeletionFences.key(kind, name));
    return list !== undefined && list.some((interval) => index > interval.from && (interval.to === null || index < interval.to));
  }
}
