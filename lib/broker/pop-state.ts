/**
 * Consumer progress of every (consumer group, topic, queue): the deterministic state machine behind
 * RocketMQ-style pop consumption and behind the offsets pull and push consumers commit. Pure: no
 * clock, no I/O; it changes only by the `apply*` methods, called with committed META commands in
 * log order, so every replica holds the same state for the same log.
 */
import type { AckCommand, ChangeInvisibleCommand, CommitOffsetCommand, PopCommand, ResetOffsetCommand } from './meta-command.js';

/** One delivered, not yet acknowledged message. */
export interface InflightEntry {
  visibleAtMs: number;
  /** Deliveries so far (1 on the first pop). */
  attempts: number;
  /** Increases on every pop and every visibility change; a receipt handle names one value. */
  handleSeq: number;
}

/** Progress of one group on one queue. */
export class QueuePopState {
  /** Every offset below this one is consumed (the group's consumer offset). */
  ackOffset = 0;
  /** The next offset never handed out. */
  popOffset = 0;
  /** Delivered, unacknowledged offsets in [ackOffset, popOffset). */
  readonly inflight = new Map<number, InflightEntry>();
  /** Increases on every offset reset; a consumer position read before it is stale. */
  resetVersion = 0;

  /** Offsets whose invisibility ended by `nowMs`, ascending, at most `limit`. */
  expired(nowMs: number, limit: number): number[] {
    const due: number[] = [];
    for (const [offset, entry] of this.inflight) if (entry.visibleAtMs <= nowMs) due.push(offset);
    due.sort((a, b) => a - b);
    return due.slice(0, limit);
  }

  /** Whether some delivery is still invisible at `nowMs` (a FIFO queue is locked until none is). */
  hasInvisible(nowMs: number): boolean {
    for (const entry of this.inflight.values()) if (entry.visibleAtMs > nowMs) return true;
    return false;
  }

  /** Earliest time an inflight entry becomes visible again, or `null`. */
  nextVisibleAtMs(): number | null {
    let earliest: number | null = null;
    for (const entry of this.inflight.values()) if (earliest === null || entry.visibleAtMs < earliest) earliest = entry.visibleAtMs;
    return earliest;
  }

  advanceAckOffset(): void {
    let lowest = this.popOffset;
    for (const offset of this.inflight.keys()) if (offset < lowest) lowest = offset;
    this.ackOffset = lowest;
  }
}

/** Outcome of applying one ack or visibility change. */
export type HandleOutcome = { ok: true; handleSeq: number } | { ok: false; reason: 'STALE_HANDLE' | 'ALREADY_ACKED' };

/** Narrows a META command outcome to an ack's or visibility change's. */
export function isHandleOutcome(outcome: HandleOutcome | OffsetOutcome | null): outcome is HandleOutcome {
  return outcome !== null && ('handleSeq' in outcome || 'reason' in outcome);
}

/** Outcome of applying one offset commit or reset: the queue's progress afterwards. */
export interface OffsetOutcome {
  /** False when a commit was refused because the queue was reset after the consumer read. */
  ok: boolean;
  offset: number;
  resetVersion: number;
}

/** Key of a (group, topic, queue); NUL cannot appear in validated names. */
export function popStateKey(group: string, topic: string, queueId: number): string {
  return `${group}\u0000${topic}\u0000${queueId}`;
}

/** Every queue's pop state; see the file comment. */
export class PopState {
  private readonly queues = new Map<string, QueuePopState>();

  /** The state of one queue (created empty on first use). */
  queue(group: string, topic: string, queueId: number): QueuePopState {
    const key = popStateKey(group, topic, queueId);
    let state = this.queues.get(key);
    if (!state) {
      state = new QueuePopState();
      this.queues.set(key, state);
    }
    return state;
  }

  /** The state of one queue, or undefined when nothing ever touched it (no committed progress). */
  peek(group: string, topic: string, queueId: number): QueuePopState | undefined {
    return this.queues.get(popStateKey(group, topic, queueId));
  }

  /**
   * Forgets every queue state of `group` (kind 'group') or on `topic` (kind 'topic'); returns the
   * keys dropped (their persisted progress and inflight entries are to be deleted).
   */
  forget(kind: 'group' | 'topic', name: string): string[] {
    const dropped: string[] = [];
    for (const key of [...this.queues.keys()]) {
      const [group, topic] = key.split('\u0000');
      if ((kind === 'group' ? group : topic) !== name) continue;
      this.queues.delete(key);
      dropped.push(key);
    }
    return dropped;
  }

  /** Every queue state with its key parts (for persistence and status). */
  *entries(): IterableIterator<{ group: string; topic: string; queueId: number; state: QueuePopState }> {
    for (const [key, state] of this.queues) {
      const [group, topic, queueId] = key.split('\u0000');
      yield { group, topic, queueId: Number(queueId), state };
    }
  }

  /** Applies a pop: listed offsets become inflight (attempts + 1); the pop offset moves on. */
  applyPop(command: PopCommand): void {
    const state = this.queue(command.group, command.topic, command.queueId);
    for (const offset of command.offsets) {
      const previous = state.inflight.get(offset);
      if (previous) {
        state.inflight.set(offset, { visibleAtMs: command.visibleAtMs, attempts: previous.attempts + 1, handleSeq: previous.handleSeq + 1 });
      } else if (offset >= state.popOffset) {
        state.inflight.set(offset, { visibleAtMs: command.visibleAtMs, attempts: 1, handleSeq: 1 });
      }
      // An offset below popOffset that is no longer inflight was acknowledged meanwhile: skip it.
    }
    if (command.newPopOffset > state.popOffset) state.popOffset = command.newPopOffset;
    state.advanceAckOffset();
  }

  /** Applies an ack. A handle from an earlier delivery of a still-inflight message is stale. */
  applyAck(command: AckCommand): HandleOutcome {
    const state = this.queue(command.group, command.topic, command.queueId);
    const entry = state.inflight.get(command.offset);
    if (!entry) return { ok: false, reason: 'ALREADY_ACKED' };
    if (entry.handleSeq !== command.handleSeq) return { ok: false, reason: 'STALE_HANDLE' };
    state.inflight.delete(command.offset);
    state.advanceAckOffset();
    return { ok: true, handleSeq: entry.handleSeq };
  }

  /** Applies a visibility change; the delivery gets a new handle sequence. */
  applyChangeInvisible(command: ChangeInvisibleCommand): HandleOutcome {
    const state = this.queue(command.group, command.topic, command.queueId);
    const entry = state.inflight.get(command.offset);
    if (!entry) return { ok: false, reason: 'ALREADY_ACKED' };
    if (entry.handleSeq !== command.handleSeq) return { ok: false, reason: 'STALE_HANDLE' };
    const next = { ...entry, visibleAtMs: command.visibleAtMs, handleSeq: entry.handleSeq + 1 };
    state.inflight.set(command.offset, next);
    return { ok: true, handleSeq: next.handleSeq };
  }

  /**
   * Applies a consumer's offset commit: progress moves forward to `offset` (never back; a reset is
   * the only way back), deliveries below it are forgotten. Refused when the consumer's
   * `resetVersion` is older than the queue's.
   */
  applyCommitOffset(command: CommitOffsetCommand): OffsetOutcome {
    const state = this.queue(command.group, command.topic, command.queueId);
    if (command.resetVersion < state.resetVersion) return { ok: false, offset: state.ackOffset, resetVersion: state.resetVersion };
    if (command.offset > state.ackOffset) {
      for (const offset of state.inflight.keys()) if (offset < command.offset) state.inflight.delete(offset);
      if (command.offset > state.popOffset) state.popOffset = command.offset;
      // Nothing inflight is left below the commit and popOffset is at or past it: ackOffset >= offset.
      state.advanceAckOffset();
    }
    return { ok: true, offset: state.ackOffset, resetVersion: state.resetVersion };
  }

  /** Applies an offset reset: the queue's progress restarts at `offset` with nothing inflight. */
  applyResetOffset(command: ResetOffsetCommand): OffsetOutcome {
    const state = this.queue(command.group, command.topic, command.queueId);
    state.inflight.clear();
    state.ackOffset = command.offset;
    state.popOffset = command.offset;
    state.resetVersion += 1;
    return { ok: true, offset: state.ackOffset, resetVersion: state.resetVersion };
  }

  /**
   * Pulls every queue's offsets back to its queue's end (`endOf(topic, queueId)`), dropping inflight
   * entries at or past it. Only for a log that lost committed entries no replica can restore (see
   * lost-log-tail.ts); returns the keys of the queues it changed, with the offsets it dropped.
   */
  clampToQueueEnds(endOf: (topic: string, queueId: number) => number): Array<{ group: string; topic: string; queueId: number; droppedOffsets: number[] }> {
    const changed: Array<{ group: string; topic: string; queueId: number; droppedOffsets: number[] }> = [];
    for (const { group, topic, queueId, state } of this.entries()) {
      const end = endOf(topic, queueId);
      if (state.popOffset <= end && state.ackOffset <= end) continue;
      const droppedOffsets = [...state.inflight.keys()].filter((offset) => offset >= end);
      for (const offset of droppedOffsets) state.inflight.delete(offset);
      state.popOffset = Math.min(state.popOffset, end);
      state.advanceAckOffset();
      changed.push({ group, topic, queueId, droppedOffsets });
    }
    return changed;
  }

  /** Restores a queue's state as persisted (startup). */
  restore(group: string, topic: string, queueId: number, progress: { ackOffset: number; popOffset: number; resetVersion?: number }, inflight: Iterable<[number, InflightEntry]>): void {
    const state = this.queue(group, topic, queueId);
    state.ackOffset = progress.ackOffset;
    state.popOffset = progress.popOffset;
    state.resetVersion = progress.resetVersion ?? 0;
    state.inflight.clear();
    for (const [offset, entry] of inflight) state.inflight.set(offset, entry);
  }
}
