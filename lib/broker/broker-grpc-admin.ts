/**
 * The operator's part of `ledgermq.v1.BrokerService`: leadership transfer, membership changes,
 * run-time config, and message queries (admin CLI). Errors become statuses in {@link answer}.
 */
import { LedgerError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { BrokerServiceHandlers } from '../gen/internal/ledgermq/v1/BrokerService.js';
import type { ChangeMembershipRequest__Output } from '../gen/internal/ledgermq/v1/ChangeMembershipRequest.js';
import type { MembershipChange } from '../raft/driver/group-membership.js';
import type { BrokerConfigEditor } from './broker-config-overrides.js';
import { parseConfigOverride } from './broker-config.js';
import { answer } from './grpc-answer.js';
import type { MembershipChanger } from './membership-change.js';
import type { MessageQuery } from './message-query.js';
import { toMessageData } from './message-wire.js';
import type { LeadershipView } from './replicated-log.js';

export interface AdminHandlerDeps {
  logger: Logger;
  /** This node's id (query answers name it). */
  nodeId: string;
  /** Hands leadership to a member (null: a caught-up follower); null for a group of one node. */
  transferLeadership: ((target: string | null) => Promise<LeadershipView>) | null;
  /** Run-time config changes (getBrokerConfig / updateBrokerConfig). */
  configEditor: BrokerConfigEditor;
  /** Membership changes (null on a broker without peers). */
  membership: MembershipChanger | null;
  /** Query by key or message id. */
  query: MessageQuery;
}

type AdminHandlers = Pick<BrokerServiceHandlers, 'TransferLeadership' | 'GetBrokerConfig' | 'UpdateBrokerConfig' | 'ChangeMembership' | 'QueryMessages'>;

/** Builds the admin handlers. */
export function adminServiceHandlers(deps: AdminHandlerDeps): AdminHandlers {
  const { logger } = deps;
  return {
    TransferLeadership(call, callback) {
      answer(logger, callback, async () => {
        if (!deps.transferLeadership) throw new LedgerError('UNSUPPORTED', 'a group of one node has no other member to lead');
        const view = await deps.transferLeadership(call.request.targetNodeId || null);
        return { leaderId: view.leaderId ?? '', leaderAddress: view.leaderAddress ?? '', term: view.term };
      });
    },
    GetBrokerConfig(_call, callback) {
      answer(logger, callback, () => Promise.resolve({
        entries: deps.configEditor.describe().map((e) => ({
          key: e.key, valueJson: JSON.stringify(e.value), defaultJson: JSON.stringify(e.defaultValue), applies: e.applies, overridden: e.overridden, pendingRestart: e.pendingRestart,
        })),
      }));
    },
    UpdateBrokerConfig(call, callback) {
      answer(logger, callback, () => {
        const [, value] = parseConfigOverride(`${call.request.key}=${call.request.valueJson}`);
        const { applies } = deps.configEditor.update(call.request.key, value);
        logger.info({ key: call.request.key, value, applies }, 'broker config changed');
        return Promise.resolve({ applies });
      });
    },
    ChangeMembership(call, callback) {
      answer(logger, callback, async () => {
        if (!deps.membership) throw new LedgerError('UNSUPPORTED', 'a broker without peers runs alone: it has no group membership to change');
        const { membership, index } = await deps.membership.change(membershipChangeFromWire(call.request), call.request.force);
        return { members: membership.members.map((m) => ({ nodeId: m.id, raftAddress: m.raftAddress, voter: m.voter })), index };
      });
    },
    QueryMessages(call, callback) {
      answer(logger, callback, async () => {
        const request = call.request;
        const found = await deps.query.query({
          topic: request.topic, key: request.key, messageId: request.messageId, beginMs: Number(request.beginMs), endMs: Number(request.endMs), maxMessages: request.maxMessages,
        });
        return {
          nodeId: deps.nodeId,
          messages: found.map((hit) => ({ message: toMessageData(hit.message), queueId: hit.queueId, queueOffset: hit.queueOffset, storeTimestampMs: hit.storeTimestampMs })),
        };
      });
    },
  };
}

/** The change a ChangeMembership request asks for; BAD_REQUEST when incomplete. */
function membershipChangeFromWire(request: ChangeMembershipRequest__Output): MembershipChange {
  const id = request.nodeId;
  if (!id) throw new LedgerError('BAD_REQUEST', 'node_id is required');
  switch (request.action) {
    case 'ADD_LEARNER':
      if (!request.raftAddress) throw new LedgerError('BAD_REQUEST', 'raft_address is required to add a member');
      return { kind: 'addLearner', id, raftAddress: request.raftAddress };
    case 'PROMOTE':
      return { kind: 'promote', id };
    case 'REMOVE':
      return { kind: 'remove', id };
    default:
      throw new LedgerError('BAD_REQUEST', `action ${String(request.action)} is not ADD_LEARNER, PROMOTE or REMOVE`);
  }
}
