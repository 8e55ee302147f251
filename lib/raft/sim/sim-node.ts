/**
 * One simulated group member: a {@link RaftCore} with an in-memory "disk" that keeps only what a
 * Ready made durable, and a driver that handles each Ready in the documented order. A crash keeps
 * the disk and loses everything else; a crash in the middle of a Ready (after its messages went
 * out, before its fsync) loses that Ready's writes too.
 */
import { RaftCore } from '../core/raft-core.js';
import type { RaftConfig } from '../core/raft-core.js';
import type { TermRun } from '../core/raft-log.js';
import { asIndex } from '../core/types.js';
import type { Entry, HardState, LogIndex, Membership, Message, NodeId, Ready } from '../core/types.js';

/** What survives a crash. */
export interface SimDisk {
  hardState: HardState;
  /** entries[i] has index i + 1. */
  entries: Array<Entry<string>>;
}

/** Hooks the simulation uses to check invariants. */
export interface SimObserver {
  onSoftState(node: NodeId, ready: Ready<string>): void;
  onApply(node: NodeId, entry: Entry<string>): void;
  onPersisted(node: NodeId, disk: SimDisk, ready: Ready<string>): void;
}

export class SimNode {
  core: RaftCore<string>;
  readonly disk: SimDisk;
  alive = true;
  /** Index of the last entry applied since the last (re)start. */
  appliedIndex: LogIndex = asIndex(0);

  constructor(
    readonly id: NodeId,
    private readonly configFor: (id: NodeId) => RaftConfig,
    private readonly membership: Membership,
    private readonly observer: SimObserver,
  ) {
    this.disk = { hardState: { term: 0 as HardState['term'], vote: null, commit: asIndex(0) }, entries: [] };
    this.core = this.boot();
  }

  /** Set by {@link wipe}: the next boot catches up before voting (or not, to show why it must). */
  private bootCatchUp = false;

  /** Loses everything but the disk. */
  crash(): void {
    this.alive = false;
  }

  /**
   * Loses the disk too (a crashed node whose data directory is deleted). With `catchUp`, the next
   * boot neither votes nor campaigns until it has caught up with a leader's commit index.
   */
  wipe(catchUp: boolean): void {
    this.alive = false;
    this.disk.hardState = { term: 0 as HardState['term'], vote: null, commit: asIndex(0) };
    this.disk.entries = [];
    this.bootCatchUp = catchUp;
  }

  /** Whether this node is down with a wiped disk or still catching up after one. */
  get recovering(): boolean {
    return this.bootCatchUp && (!this.alive || this.core.catchingUp);
  }

  /** Restarts from the disk: a new core, the state machine re-applied from the start. */
  restart(): void {
    this.alive = true;
    this.core = this.boot();
  }

  /**
   * Handles every Ready the core has. `send` delivers a message to the network. When
   * `crashMidReady()` says so, the node crashes after sending a Ready's `messages` and before
   * making it durable. Returns false if the node crashed.
   */
  drain(send: (message: Message<string>) => void, crashMidReady: () => boolean): boolean {
    for (let ready = this.core.ready(); ready !== null; ready = this.core.ready()) {
      let written = this.disk.entries;
      if (ready.truncateAfter !== null) written = written.slice(0, ready.truncateAfter);
      if (ready.entries.length > 0) {
        if (written === this.disk.entries) written = written.slice();
        for (const entry of ready.entries) {
          if (entry.index !== written.length + 1) throw new Error(`${this.id}: Ready entry ${entry.index} does not follow ${written.length}`);
          written.push(entry);
        }
      }
      this.observer.onSoftState(this.id, ready);
      for (const message of ready.messages) send(this.filled(message, written));
      if (crashMidReady()) {
        this.crash();
        return false;
      }
      this.disk.entries = written;
      if (ready.hardState) this.disk.hardState = { ...ready.hardState };
      this.observer.onPersisted(this.id, this.disk, ready);
      for (const message of ready.messagesAfterPersist) send(message);
      this.applyTo(ready.commitIndex);
      this.core.advance();
      // Caught up: a later restart votes normally (a real driver persists this).
      if (this.bootCatchUp && !this.core.catchingUp) this.bootCatchUp = false;
    }
    return true;
  }

  private boot(): RaftCore<string> {
    const entries = this.disk.entries;
    const termRuns: TermRun[] = [];
    for (const entry of entries) if (termRuns.length === 0 || termRuns[termRuns.length - 1].term !== entry.term) termRuns.push({ start: entry.index, term: entry.term });
    const core = new RaftCore<string>(this.configFor(this.id), {
      hardState: this.disk.hardState,
      membership: this.membership,
      log: { lastIndex: asIndex(entries.length), termRuns },
      catchUp: this.bootCatchUp ? { untilIndex: null } : undefined,
    });
    this.appliedIndex = asIndex(0);
    this.applyTo(asIndex(Math.min(this.disk.hardState.commit, entries.length)));
    return core;
  }

  private applyTo(commitIndex: LogIndex): void {
    while (this.appliedIndex < commitIndex) {
      const entry = this.disk.entries[this.appliedIndex];
      if (entry === undefined) throw new Error(`${this.id}: committed entry ${this.appliedIndex + 1} is not on disk`);
      this.appliedIndex = asIndex(this.appliedIndex + 1);
      this.observer.onApply(this.id, entry);
    }
  }

  /** The driver's job for a core append: load the entries it names from the (written) log. */
  private filled(message: Message<string>, written: ReadonlyArray<Entry<string>>): Message<string> {
    if (message.type !== 'append' || message.entries !== null) return message;
    // What a real driver must check too: the append still describes this log.
    const prevTerm = message.prevIndex === 0 ? 0 : written[message.prevIndex - 1]?.term;
    if (prevTerm !== message.prevTerm) throw new Error(`${this.id}: append after ${message.prevIndex}/${message.prevTerm} but the log has term ${prevTerm} there`);
    const entries = written.slice(message.prevIndex, message.prevIndex + message.count);
    if (entries.length !== message.count) throw new Error(`${this.id}: append names entries ${message.prevIndex + 1}..${message.prevIndex + message.count} past the log end ${written.length}`);
    if (entries.some((entry) => entry.term > message.term)) throw new Error(`${this.id}: append of term ${message.term} would carry a later term's entry`);
    return { ...message, entries };
  }
}
