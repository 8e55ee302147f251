/**
 * A broker group's membership as the driver and the state machine hold it: each member's node id,
 * Raft address, and whether it votes. Changed one server at a time through CONFIG_CHANGE entries in
 * the log (admin `addMember` / `removeMember`): a new node joins as a learner (it replicates but
 * neither votes nor counts towards commits), is promoted to voter once caught up, and a member is
 * removed by a last change. Every node adopts a change when it applies the committed entry
 * (etcd-raft's rule); the leader proposes no other change until the previous one is committed.
 *
 * A CONFIG_CHANGE record's body is this JSON (UTF-8):
 *
 * ```json
 * {"version":1,"members":[{"id":"n0","raftAddress":"127.0.0.1:20911","voter":true}, ...]}
 * ```
 *
 * It lists the whole membership after the change, so applying it twice is harmless. Pure: no I/O.
 */
import { LedgerError } from '../../common/errors.js';
import type { Membership, NodeId } from '../core/types.js';

/** One member of a group. */
export interface GroupMember {
  id: NodeId;
  /** host:port of its Raft server. */
  raftAddress: string;
  /** false: a learner (replicates, does not vote, does not count towards commits). */
  voter: boolean;
}

/** The whole membership of a group (voters first, in the order they were added). */
export interface GroupMembership {
  members: readonly GroupMember[];
}

/** One single-server change, as the admin CLI asks for it. */
export type MembershipChange =
  | { kind: 'addLearner'; id: NodeId; raftAddress: string }
  | { kind: 'promote'; id: NodeId }
  | { kind: 'remove'; id: NodeId };

const RECORD_VERSION = 1;
const NODE_ID = /^[A-Za-z0-9_]{1,64}$/;
const ADDRESS = /^[^:;\s]{1,253}:\d{1,5}$/;

/** The core's view: voter and learner ids. */
export function coreMembership(membership: GroupMembership): Membership {
  return {
    voters: membership.members.filter((m) => m.voter).map((m) => m.id),
    learners: membership.members.filter((m) => !m.voter).map((m) => m.id),
  };
}

/** The membership a node starts with before any change was applied: the configured peers, all voters, or itself a learner when it joins. */
export function initialMembership(peers: ReadonlyMap<NodeId, string>, selfId: NodeId, joinAsLearner: boolean): GroupMembership {
  return { members: [...peers].map(([id, raftAddress]) => ({ id, raftAddress, voter: !(joinAsLearner && id === selfId) })) };
}

/** Raft addresses of every member but `selfId`. */
export function peerAddresses(membership: GroupMembership, selfId: NodeId): Map<NodeId, string> {
  return new Map(membership.members.filter((m) => m.id !== selfId).map((m) => [m.id, m.raftAddress]));
}

/** The membership after `change`; throws PRECONDITION_FAILED when the change does not apply. */
export function applyChange(current: GroupMembership, change: MembershipChange): GroupMembership {
  const existing = current.members.find((m) => m.id === change.id);
  switch (change.kind) {
    case 'addLearner': {
      if (!NODE_ID.test(change.id)) throw new LedgerError('BAD_REQUEST', `node id "${change.id}" must be 1-64 letters, digits or _`);
      if (!ADDRESS.test(change.raftAddress)) throw new LedgerError('BAD_REQUEST', `raft address "${change.raftAddress}" is not host:port`);
      if (existing) throw new LedgerError('PRECONDITION_FAILED', `${change.id} is already a ${existing.voter ? 'voter' : 'learner'} of the group`);
      const clash = current.members.find((m) => m.raftAddress === change.raftAddress);
      if (clash) throw new LedgerError('PRECONDITION_FAILED', `raft address ${change.raftAddress} is already ${clash.id}'s`);
      return { members: [...current.members, { id: change.id, raftAddress: change.raftAddress, voter: false }] };
    }
    case 'promote':
      if (!existing) throw new LedgerError('PRECONDITION_FAILED', `${change.id} is not a member of the group`);
      if (existing.voter) throw new LedgerError('PRECONDITION_FAILED', `${change.id} is already a voter`);
      return { members: current.members.map((m) => (m.id === change.id ? { ...m, voter: true } : m)) };
    case 'remove': {
      if (!existing) throw new LedgerError('PRECONDITION_FAILED', `${change.id} is not a member of the group`);
      const votersLeft = current.members.filter((m) => m.voter && m.id !== change.id).length;
      if (existing.voter && votersLeft === 0) throw new LedgerError('PRECONDITION_FAILED', `${change.id} is the group's last voter`);
      return { members: current.members.filter((m) => m.id !== change.id) };
    }
  }
}

/** The CONFIG_CHANGE record body for `membership`. */
export function encodeMembership(membership: GroupMembership): Buffer {
  return Buffer.from(JSON.stringify({ version: RECORD_VERSION, members: membership.members.map(({ id, raftAddress, voter }) => ({ id, raftAddress, voter })) }));
}

/** Parses and checks a CONFIG_CHANGE record body; throws on anything malformed. */
export function decodeMembership(body: Buffer): GroupMembership {
  const parsed: unknown = JSON.parse(body.toString('utf8'));
  if (typeof parsed !== 'object' || parsed === null) throw new Error('membership record is not an object');
  const record = parsed as { version?: unknown; members?: unknown };
  if (record.version !== RECORD_VERSION) throw new Error(`membership record version ${String(record.version)} is not ${RECORD_VERSION}`);
  if (!Array.isArray(record.members)) throw new Error('membership record has no members');
  return validated({ members: record.members.map(parseMember) });
}

/** Checks a membership read from storage or a record: unique ids and addresses, at least one voter. */
export function validated(membership: GroupMembership): GroupMembership {
  const ids = new Set(membership.members.map((m) => m.id));
  const addresses = new Set(membership.members.map((m) => m.raftAddress));
  if (ids.size !== membership.members.length || addresses.size !== membership.members.length) throw new Error('membership lists a node id or address twice');
  if (!membership.members.some((m) => m.voter)) throw new Error('membership has no voter');
  return membership;
}

function parseMember(value: unknown): GroupMember {
  const member = value as { id?: unknown; raftAddress?: unknown; voter?: unknown } | null;
  if (typeof member?.id !== 'string' || !NODE_ID.test(member.id)) throw new Error('membership record has a bad node id');
  if (typeof member.raftAddress !== 'string' || !ADDRESS.test(member.raftAddress)) throw new Error(`membership record has a bad address for ${member.id}`);
  if (typeof member.voter !== 'boolean') throw new Error(`membership record has no voter flag for ${member.id}`);
  return { id: member.id, raftAddress: member.raftAddress, voter: member.voter };
}

/** One line for logs and errors: `n0,n1,n2 (learners: n3)`. */
export function describeMembership(membership: GroupMembership): string {
  const { voters, learners } = coreMembership(membership);
  return learners.length === 0 ? voters.join(',') : `${voters.join(',')} (learners: ${learners.join(',')})`;
}
