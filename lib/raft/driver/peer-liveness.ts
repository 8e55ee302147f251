/**
 * When this node last heard from each peer (wall clock, driver side), and the views built on it:
 * each peer's replication state with its last contact, and the live, caught-up voters (transfer
 * targets, follower-read suggestions).
 */
import type { NodeId } from '../core/types.js';
import type { PeerStatus } from './raft-node-options.js';

/** A peer's progress as the core reports it (leader only). */
export interface PeerProgressView {
  match: number;
  next: number;
  state: string;
  catchingUp: boolean;
}

/** See the file comment. */
export class PeerLiveness {
  private readonly lastHeard = new Map<NodeId, number>();

  constructor(
    /** How long a peer may stay silent and still count as live (one election timeout). */
    readonly windowMs: number,
  ) {}

  heard(peer: NodeId, nowMs = Date.now()): void {
    this.lastHeard.set(peer, nowMs);
  }

  /** Forgets peers that are no longer members. */
  keepOnly(members: ReadonlySet<NodeId>): void {
    for (const peer of [...this.lastHeard.keys()]) if (!members.has(peer)) this.lastHeard.delete(peer);
  }

  /** Each peer's progress with the ms since it was last heard from (null: never). */
  statuses(progress: ReadonlyMap<NodeId, PeerProgressView>, nowMs = Date.now()): PeerStatus[] {
    return [...progress].map(([id, p]) => {
      const heard = this.lastHeard.get(id);
      return { id, matchIndex: p.match, nextIndex: p.next, state: p.state, catchingUp: p.catchingUp, lastContactMsAgo: heard === undefined ? null : nowMs - heard };
    });
  }

  /**
   * Voters among `progress` whose log matches up to at least `index`, not catching up, heard from
   * within the window (a stopped node keeps its old match index), with a known broker address.
   */
  holding(progress: ReadonlyMap<NodeId, PeerProgressView>, index: number, voters: ReadonlySet<NodeId>, addressOf: (peer: NodeId) => string | null, nowMs = Date.now()): Array<{ nodeId: string; address: string }> {
    const found: Array<{ nodeId: string; address: string }> = [];
    for (const [id, p] of progress) {
      const address = addressOf(id);
      const live = (this.lastHeard.get(id) ?? 0) >= nowMs - this.windowMs;
      if (voters.has(id) && live && p.match >= index && !p.catchingUp && address !== null) found.push({ nodeId: id, address });
    }
    return found;
  }
}
