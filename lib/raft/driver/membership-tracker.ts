/**
 * A node's side of its group's membership (pure, no I/O): the membership it adopted last, whether
 * it is still joining, and the config entries in its log it has not applied yet.
 *
 * - A node started with `joinAsLearner` replays memberships from before it was added; until one
 *   names it, it stays their learner (their lack of it is no removal).
 * - A committed config entry not yet applied makes the node's membership stale: the driver tells
 *   the core the lowest such entry, and the core neither campaigns nor proposes another change.
 */
import type { NodeId } from '../core/types.js';
import type { GroupMembership } from './group-membership.js';

/** See the file comment. */
export class MembershipTracker {
  private current: GroupMembership;
  private joiningValue: boolean;
  /** Config entries in the log not applied yet, ascending. */
  private unapplied: number[] = [];
  private appliedConfigIndex: number;

  constructor(
    private readonly self: { id: NodeId; raftAddress: string },
    membership: GroupMembership,
    joining: boolean,
    /** Every config entry up to this index is applied already (the startup replay). */
    appliedThrough: number,
  ) {
    this.current = membership;
    this.joiningValue = joining;
    this.appliedConfigIndex = appliedThrough;
  }

  get membership(): GroupMembership {
    return this.current;
  }

  /** No applied membership has named this node yet (see the file comment). */
  get joining(): boolean {
    return this.joiningValue;
  }

  /** Whether this node is a member of the membership it adopted (false once its removal applied). */
  get isMember(): boolean {
    return this.current.members.some((m) => m.id === this.self.id);
  }

  /** The lowest config entry not applied yet, or null. */
  get lowestUnapplied(): number | null {
    return this.unapplied[0] ?? null;
  }

  /** Adopts the membership of the config entry applied at `index`; returns the membership now in force. */
  adopt(applied: GroupMembership, index: number): GroupMembership {
    const namesSelf = applied.members.some((m) => m.id === this.self.id);
    if (namesSelf) this.joiningValue = false;
    this.current = !namesSelf && this.joiningValue ? { members: [...applied.members, { id: this.self.id, raftAddress: this.self.raftAddress, voter: false }] } : applied;
    this.appliedConfigIndex = Math.max(this.appliedConfigIndex, index);
    this.noteEntries(null, []);
    return this.current;
  }

  /** Config entries stored (`added`) and the log cut after `truncateAfter` (when set). */
  noteEntries(truncateAfter: number | null, added: readonly number[]): void {
    const kept = this.unapplied.filter((index) => index > this.appliedConfigIndex && (truncateAfter === null || index <= truncateAfter));
    for (const index of added) if (index > this.appliedConfigIndex) kept.push(index);
    this.unapplied = [...new Set(kept)].sort((a, b) => a - b);
  }
}
