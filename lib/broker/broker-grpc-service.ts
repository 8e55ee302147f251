/**
 * Protocol adapter: the internal `ledgermq.v1.BrokerService` over the broker's domain services.
 * Translates requests and results and maps every error to a status in one place ({@link answer});
 * handlers never throw into grpc-js.
 */
import type * as grpc from '@grpc/grpc-js';
import { LedgerError, toWireStatus } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { BrokerServiceHandlers } from '../gen/internal/ledgermq/v1/BrokerService.js';
import type { OffsetService } from './offset-service.js';
import type { TopicConfig as TopicConfigWire } from '../gen/internal/ledgermq/v1/TopicConfig.js';
import type { GroupConfig as GroupConfigWire } from '../gen/internal/ledgermq/v1/GroupConfig.js';
import type { BrokerMetrics } from './broker-metrics.js';
import { consumerServiceHandlers } from './broker-grpc-consumers.js';
import type { ConsumerRegistry } from './consumer-registry.js';
import { answer, OK } from './grpc-answer.js';
import { pullServiceHandlers } from './broker-grpc-pulls.js';
import type { OpenPullStreams } from './broker-grpc-pulls.js';
import type { GroupConfig, RetryBackoff, TopicConfig } from './meta-command.js';
import { toIncoming, toMessageData } from './message-wire.js';
import type { PopService } from './pop-service.js';
import type { PullService } from './pull-service.js';
import type { ReplicatedLog } from './replicated-log.js';
import type { RetryService } from './retry-service.js';
import type { ProduceService } from './produce-service.js';
import type { TopicService } from './topic-service.js';
import { adminServiceHandlers } from './broker-grpc-admin.js';
import { transactionServiceHandlers } from './broker-grpc-transactions.js';
import type { TransactionService } from './transaction-service.js';
import type { TimerService } from './timer-service.js';
import { decodeRecallHandle } from '../common/recall-handle.js';
import { queueLockHandlers } from './broker-grpc-locks.js';
import type { QueueLocks } from './queue-locks.js';
import { checkTopicName } from './name-rules.js';
import type { TransactionWatchers } from './transaction-watchers.js';
import type { AdminHandlerDeps } from './broker-grpc-admin.js';
import { aclServiceHandlers } from './broker-grpc-acl.js';
import type { AclService } from './acl-service.js';

export interface BrokerGrpcDeps extends AdminHandlerDeps {
  producer: ProduceService;
  transactions: TransactionService;
  timers: TimerService;
  queueLocks: QueueLocks;
  transactionWatchers: TransactionWatchers;
  popper: PopService;
  puller: PullService;
  topics: TopicService;
  offsets: OffsetService;
  consumers: ConsumerRegistry;
  retries: RetryService;
  log: ReplicatedLog;
  metrics: BrokerMetrics;
  logger: Logger;
  /** Pulls in flight on one PullStream at most. */
  maxPullsPerStream: number;
  /** The node's open PullStreams (ended at shutdown). */
  pullStreams: OpenPullStreams;
  /** ACL user changes (admin updateUser / deleteUser / listUsers). */
  acl: AclService;
}

function topicToWire(topic: TopicConfig): TopicConfigWire {
  return { name: topic.name, readQueues: topic.readQueues, writeQueues: topic.writeQueues, perm: topic.perm, messageTypes: topic.messageTypes };
}

function groupToWire(group: GroupConfig & { retryBackoff: RetryBackoff }): GroupConfigWire {
  return { name: group.name, maxDeliveryAttempts: group.maxDeliveryAttempts, retryBackoff: group.retryBackoff, consumeOrderly: group.consumeOrderly ?? false };
}

/** Builds the BrokerService handlers. */
export function brokerServiceHandlers(deps: BrokerGrpcDeps): BrokerServiceHandlers {
  const { logger } = deps;
  return {
    SendMessages(call, callback) {
      answer(logger, callback, async () => {
        const request = call.request;
        const results = await deps.producer.send(request.topic, request.queueId, request.messages.map(toIncoming));
        deps.metrics.messagesIn.inc({ topic: request.topic }, results.length);
        deps.metrics.bytesIn.inc({ topic: request.topic }, request.messages.reduce((sum, m) => sum + m.body.length, 0));
        return { entries: results.map((r) => ({ messageId: r.messageId, queueId: r.queueId, queueOffset: r.queueOffset, transactionId: r.transactionId ?? '', recallHandle: r.recallHandle ?? '' })) };
      });
    },
    PopMessages(call, callback) {
      answer(logger, callback, async () => {
        const request = call.request;
        const popped = await deps.popper.pop({
          group: request.group,
          topic: request.topic,
          queueId: request.queueId,
          maxMessages: request.maxMessages,
          invisibleMs: Number(request.invisibleMs),
          pollTimeoutMs: Number(request.pollTimeoutMs),
          filterType: request.filter?.type ?? '',
          filterExpression: request.filter?.expression ?? '',
        });
        if (popped.length > 0) deps.metrics.delivered(request.topic, request.group, popped.length, popped.reduce((sum, p) => sum + p.message.body.length, 0));
        return {
          messages: popped.map((p) => ({
            message: toMessageData(p.message),
            queueId: p.queueId,
            queueOffset: p.queueOffset,
            receiptHandle: p.receiptHandle,
            deliveryAttempt: p.deliveryAttempt,
            invisibleUntilMs: p.invisibleUntilMs,
          })),
        };
      });
    },
    AckMessages(call, callback) {
      answer(logger, callback, async () => {
        const { group, topic, receiptHandles } = call.request;
        const outcomes = await deps.popper.ack(group, topic, receiptHandles);
        return { results: outcomes.map((error, i) => ({ receiptHandle: receiptHandles[i], status: error ? toWireStatus(error) : OK })) };
      });
    },
    ChangeInvisibleDuration(call, callback) {
      answer(logger, callback, async () => {
        const { group, topic, receiptHandle, invisibleMs } = call.request;
        return deps.popper.changeInvisible(group, topic, receiptHandle, Number(invisibleMs));
      });
    },
    ForwardToDeadLetter(call, callback) {
      answer(logger, callback, async () => {
        const { group, topic, receiptHandle } = call.request;
        await deps.popper.forwardToDeadLetter(group, topic, receiptHandle);
        return {};
      });
    },
    GetTopic(call, callback) {
      answer(logger, callback, async () => ({ topic: topicToWire(await deps.topics.topic(call.request.name, call.request.autoCreate)) }));
    },
    UpdateTopic(call, callback) {
      answer(logger, callback, async () => {
        const wire = call.request.topic;
        if (!wire) throw new LedgerError('BAD_REQUEST', 'UpdateTopic needs a topic');
        const topic = await deps.topics.putTopic({
          name: wire.name,
          readQueues: wire.readQueues,
          writeQueues: wire.writeQueues,
          perm: wire.perm || 6,
          messageTypes: wire.messageTypes,
        });
        return { topic: topicToWire(topic) };
      });
    },
    DeleteTopic(call, callback) {
      answer(logger, callback, async () => {
        await deps.topics.deleteTopic(call.request.name);
        return {};
      });
    },
    UpdateGroup(call, callback) {
      answer(logger, callback, async () => {
        const wire = call.request.group;
        if (!wire?.name) throw new LedgerError('BAD_REQUEST', 'group.name is required');
        const backoff = wire.retryBackoff;
        const group = await deps.topics.putGroup({
          name: wire.name,
          maxDeliveryAttempts: wire.maxDeliveryAttempts > 0 ? wire.maxDeliveryAttempts : undefined,
          retryBackoff: backoff ? { initialMs: Number(backoff.initialMs), maxMs: Number(backoff.maxMs), multiplier: backoff.multiplier } : undefined,
          consumeOrderly: { CONSUME_ORDERLY_ON: true, CONSUME_ORDERLY_OFF: false }[call.request.consumeOrderlyChange as string],
        });
        return { group: groupToWire(group) };
      });
    },
    DeleteGroup(call, callback) {
      answer(logger, callback, async () => {
        await deps.topics.deleteGroup(call.request.name);
        return {};
      });
    },
    GetGroup(call, callback) {
      answer(logger, callback, async () => {
        return { group: groupToWire(await deps.topics.group(call.request.name, call.request.autoCreate)) };
      });
    },
    RecallMessage(call, callback) {
      answer(logger, callback, async () => {
        checkTopicName(call.request.topic);
        return { messageId: await deps.timers.recall(call.request.topic, decodeRecallHandle(call.request.recallHandle)) };
      });
    },
    ...queueLockHandlers({ locks: deps.queueLocks, log: deps.log, logger }),
    ...adminServiceHandlers(deps),
    ...aclServiceHandlers({ acl: deps.acl, logger }),
    ...transactionServiceHandlers({ transactions: deps.transactions, watchers: deps.transactionWatchers, log: deps.log, logger }),
    ...pullServiceHandlers({ puller: deps.puller, metrics: deps.metrics, logger, maxPullsPerStream: deps.maxPullsPerStream, streams: deps.pullStreams }),
    ...consumerServiceHandlers({ offsets: deps.offsets, consumers: deps.consumers, retries: deps.retries, log: deps.log, logger }),
  } satisfies grpc.UntypedServiceImplementation & BrokerServiceHandlers;
}
