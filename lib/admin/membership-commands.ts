/**
 * `ledgermq admin addMember | removeMember`: replace a broker group's nodes one at a time without
 * downtime. The leader does each single-server change (lib/broker/membership-change.ts); these
 * commands drive the steps and show progress:
 *
 * - addMember: the new node (started with `joinAsLearner`) is added as a learner, replicates the
 *   log while the group keeps serving, and once it is caught up it is promoted to voter;
 * - removeMember: when the node leads, leadership goes to a caught-up follower first; then the
 *   node is removed and can be stopped.
 */
import type { ClientContext } from '../client/client-context.js';
import { LedgerError } from '../common/errors.js';
import type { ChangeMembershipResponse__Output } from '../gen/internal/ledgermq/v1/ChangeMembershipResponse.js';
import type { ClusterCommandOptions } from './cluster-commands.js';
import { registrations, withContext } from './cluster-commands.js';
import { gatherRaftStatus } from './raft-status.js';
import type { RaftGroupStatus } from './raft-status.js';

/** One ChangeMembership call: the leader answers once the change is applied. */
const CHANGE_TIMEOUT_MS = 15_000;
/** The leader hands over within 3 s; the request may wait for that. */
const TRANSFER_TIMEOUT_MS = 10_000;
/** How often addMember looks at the learner's progress. */
const PROGRESS_POLL_MS = 500;

export interface AddMemberOptions extends ClusterCommandOptions {
  brokerGroup: string;
  nodeId: string;
  raftAddress: string;
  /** Give up when the learner has not caught up within this time. */
  catchUpTimeoutMs: number;
  /** Learner lag (entries) at which it is promoted. */
  promoteLagEntries: number;
}

export interface RemoveMemberOptions extends ClusterCommandOptions {
  brokerGroup: string;
  nodeId: string;
  /** Remove even when the voters left would not have a live majority. */
  force: boolean;
}

/** Progress lines go to stderr so that `-o json` output on stdout stays one document. */
function progress(message: string): void {
  console.error(message);
}

async function groupStatus(context: ClientContext, group: string): Promise<RaftGroupStatus> {
  const found = (await gatherRaftStatus(await registrations(context))).find((g) => g.group === group);
  if (!found) throw new LedgerError('NOT_FOUND', `broker group ${group} is not registered`);
  return found;
}

function membersJson(response: ChangeMembershipResponse__Output): Array<{ nodeId: string; raftAddress: string; voter: boolean }> {
  return response.members.map((m) => ({ nodeId: m.nodeId, raftAddress: m.raftAddress, voter: m.voter }));
}

function report(options: ClusterCommandOptions, summary: string, json: unknown): void {
  if (options.output === 'json') console.log(JSON.stringify(json, null, 2));
  else console.log(summary);
}

/** See the file comment. Exit 1 when a step is refused or the learner does not catch up in time. */
export function runAddMember(options: AddMemberOptions): Promise<number> {
  return withContext(options, async (context) => {
    const { brokerGroup: group, nodeId } = options;
    const before = await groupStatus(context, group);
    const known = before.members.find((m) => m.nodeId === nodeId)?.membership ?? null;
    if (known === 'voter') throw new LedgerError('PRECONDITION_FAILED', `${nodeId} is already a voter of ${group}`);
    if (known === null) {
      await context.gateway.changeMembership(group, { action: 'ADD_LEARNER', nodeId, raftAddress: options.raftAddress }, CHANGE_TIMEOUT_MS);
      progress(`${group}: ${nodeId} (${options.raftAddress}) added as a learner; waiting for it to catch up`);
    } else {
      progress(`${group}: ${nodeId} is already a learner; waiting for it to catch up`);
    }
    const deadline = Date.now() + options.catchUpTimeoutMs;
    let lastLine = '';
    for (;;) {
      const status = await groupStatus(context, group);
      const learner = status.members.find((m) => m.nodeId === nodeId);
      const line = learner?.lag === null || learner?.lag === undefined ? `${nodeId}: no replication state yet` : `${nodeId}: ${learner.lag} entries behind (match ${learner.matchIndex ?? '-'})`;
      if (line !== lastLine) progress(line);
      lastLine = line;
      if (learner?.lag !== null && learner?.lag !== undefined && learner.lag <= options.promoteLagEntries && learner.role !== 'unreachable') {
        try {
          const response = await context.gateway.changeMembership(group, { action: 'PROMOTE', nodeId }, CHANGE_TIMEOUT_MS);
          report(options, `${group}: ${nodeId} is now a voter; members: ${describe(response)}`, { group, added: nodeId, index: Number(response.index), members: membersJson(response) });
          return;
        } catch (error) {
          // The leader measures lag at its commit index; under load it may still say "catching up".
          if (!(error instanceof LedgerError && error.code === 'PRECONDITION_FAILED' && /catching up|not answering/.test(error.message))) throw error;
          progress(error.message);
        }
      }
      if (Date.now() >= deadline) throw new LedgerError('HA_NOT_AVAILABLE', `${nodeId} did not catch up within ${options.catchUpTimeoutMs} ms; it stays a learner (run addMember again to promote it later, or removeMember)`);
      await new Promise((resolve) => setTimeout(resolve, PROGRESS_POLL_MS));
    }
  });
}

/** See the file comment. Exit 1 when the group refused (a leader with no caught-up follower, no live majority left...). */
export function runRemoveMember(options: RemoveMemberOptions): Promise<number> {
  return withContext(options, async (context) => {
    const { brokerGroup: group, nodeId } = options;
    const status = await groupStatus(context, group);
    if (status.leaderId === nodeId) {
      const voters = status.members.filter((m) => m.membership === 'voter' && m.nodeId !== nodeId && m.role !== 'unreachable');
      if (voters.length === 0) throw new LedgerError('PRECONDITION_FAILED', `${nodeId} leads ${group} and no other voter answers: nobody to hand leadership to`);
      const moved = await context.gateway.transferLeadership(group, { targetNodeId: '' }, TRANSFER_TIMEOUT_MS);
      progress(`${group}: leadership moved from ${nodeId} to ${moved.leaderId}`);
      context.routes.invalidate();
    }
    const response = await context.gateway.changeMembership(group, { action: 'REMOVE', nodeId, force: options.force }, CHANGE_TIMEOUT_MS);
    report(options, `${group}: ${nodeId} removed; members: ${describe(response)}. Stop ${nodeId} now.`, { group, removed: nodeId, index: Number(response.index), members: membersJson(response) });
  });
}

function describe(response: ChangeMembershipResponse__Output): string {
  return response.members.map((m) => `${m.nodeId}${m.voter ? '' : ' (learner)'}`).join(', ');
}
