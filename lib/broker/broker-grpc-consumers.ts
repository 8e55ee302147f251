/**
 * Protocol adapter for consumer bookkeeping in `ledgermq.v1.BrokerService`: offsets (commit,
 * query, reset) and the consumer registry (heartbeat, unregister, list). Leader only: a follower
 * answers NOT_LEADER with the leader's address.
 */
import { LedgerError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { BrokerServiceHandlers } from '../gen/internal/ledgermq/v1/BrokerService.js';
import type { Subscription__Output } from '../gen/internal/ledgermq/v1/Subscription.js';
import type { ConsumeMode, ConsumerConnection, ConsumerRegistry, ConsumerSubscription } from './consumer-registry.js';
import { answer } from './grpc-answer.js';
import type { OffsetService, ResetTarget } from './offset-service.js';
import { requireLeader } from './replicated-log.js';
import type { RetryService } from './retry-service.js';
import type { ReplicatedLog } from './replicated-log.js';

export interface ConsumerHandlerDeps {
  offsets: OffsetService;
  consumers: ConsumerRegistry;
  retries: RetryService;
  log: ReplicatedLog;
  logger: Logger;
}

type ConsumerHandlers = Pick<BrokerServiceHandlers, 'CommitOffsets' | 'QueryOffsets' | 'ResetOffsets' | 'GetTopicStatus' | 'Heartbeat' | 'UnregisterClient' | 'ListConsumers' | 'SendMessageBack'>;

function subscriptionFromWire(wire: Subscription__Output): ConsumerSubscription {
  return { topic: wire.topic, filterType: wire.filter?.type ?? '', filterExpression: wire.filter?.expression ?? '' };
}

function subscriptionToWire(subscription: ConsumerSubscription): { topic: string; filter: { type: string; expression: string } } {
  return { topic: subscription.topic, filter: { type: subscription.filterType, expression: subscription.filterExpression } };
}

function connectionToWire(connection: ConsumerConnection): object {
  return {
    clientId: connection.clientId,
    mode: connection.mode,
    subscriptions: connection.subscriptions.map(subscriptionToWire),
    owned: connection.owned,
    lastHeartbeatMs: connection.lastHeartbeatMs,
  };
}

/** Builds the consumer bookkeeping handlers. */
export function consumerServiceHandlers(deps: ConsumerHandlerDeps): ConsumerHandlers {
  const { logger } = deps;
  return {
    CommitOffsets(call, callback) {
      answer(logger, callback, async () => {
        const { group, commits } = call.request;
        const outcomes = await deps.offsets.commit(
          group,
          commits.map((c) => ({ topic: c.topic, queueId: c.queueId, offset: Number(c.offset), resetVersion: Number(c.resetVersion) })),
        );
        return { results: outcomes.map((o) => ({ accepted: o.ok, offset: o.offset, resetVersion: o.resetVersion })) };
      });
    },
    QueryOffsets(call, callback) {
      answer(logger, callback, async () => {
        const { group, topic, queueIds } = call.request;
        return { offsets: await deps.offsets.query(group, topic, queueIds) };
      });
    },
    ResetOffsets(call, callback) {
      answer(logger, callback, async () => {
        const { group, topic, queueIds, target, timestampMs, offset } = call.request;
        let resetTarget: ResetTarget;
        if (target === 'timestampMs') resetTarget = { timestampMs: Number(timestampMs) };
        else if (target === 'offset') resetTarget = { offset: Number(offset) };
        else throw new LedgerError('BAD_REQUEST', 'ResetOffsets needs timestamp_ms or offset');
        return { offsets: await deps.offsets.reset(group, topic, queueIds, resetTarget) };
      });
    },
    GetTopicStatus(call, callback) {
      answer(logger, callback, async () => ({ queues: await deps.offsets.queueStatus(call.request.topic) }));
    },
    Heartbeat(call, callback) {
      answer(logger, callback, () => {
        requireLeader(deps.log);
        const { clientId, groups } = call.request;
        deps.consumers.heartbeat(
          clientId,
          groups.map((g) => ({
            group: g.group,
            mode: g.mode as ConsumeMode,
            subscriptions: g.subscriptions.map(subscriptionFromWire),
            owned: g.owned.map((q) => ({ topic: q.topic, queueId: q.queueId })),
          })),
        );
        const settled = deps.consumers.settled;
        return Promise.resolve({
          groups: groups.map((g) => ({ group: g.group, clientIds: deps.consumers.members(g.group).map((m) => m.clientId), settled })),
          expiryMs: deps.consumers.expiryMs,
        });
      });
    },
    UnregisterClient(call, callback) {
      answer(logger, callback, () => {
        requireLeader(deps.log);
        deps.consumers.unregister(call.request.clientId, call.request.groups);
        return Promise.resolve({});
      });
    },
    SendMessageBack(call, callback) {
      answer(logger, callback, async () => {
        const { group, topic, queueId, offset, delayLevel } = call.request;
        const result = await deps.retries.sendBack(group, topic, queueId, Number(offset), delayLevel);
        return { destination: result.destination, reconsumeTimes: result.reconsumeTimes, deliverAfterMs: result.deliverAfterMs };
      });
    },
    ListConsumers(call, callback) {
      answer(logger, callback, () => {
        requireLeader(deps.log);
        return Promise.resolve({ consumers: deps.consumers.members(call.request.group).map(connectionToWire), settled: deps.consumers.settled });
      });
    },
  };
}
