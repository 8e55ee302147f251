/**
 * Protocol adapter: `apache.rocketmq.v2.MessagingService` for the official RocketMQ 5 clients.
 * Translates v2 requests to calls on the owning broker group's leader (via {@link BrokerGateway})
 * and answers with v2 statuses; errors become statuses in one place ({@link v2StatusOf}) and
 * handlers never throw into grpc-js. RPCs whose feature has not landed answer NOT_IMPLEMENTED.
 */
import { asCaller } from './caller-signature.js';
import type * as grpc from '@grpc/grpc-js';
import { LedgerError, toWireStatus } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { GroupRoute__Output } from '../gen/internal/ledgermq/v1/GroupRoute.js';
import type { TopicConfig__Output } from '../gen/internal/ledgermq/v1/TopicConfig.js';
import type { MessageQueue } from '../gen/v2/apache/rocketmq/v2/MessageQueue.js';
import type { MessagingServiceHandlers } from '../gen/v2/apache/rocketmq/v2/MessagingService.js';
import type { Status as V2StatusType } from '../gen/v2/apache/rocketmq/v2/Status.js';
import type { TelemetryCommand__Output } from '../gen/v2/apache/rocketmq/v2/TelemetryCommand.js';
import { checkGroupName, checkTopicName } from '../broker/name-rules.js';
import { brokerGroupOfTransaction } from '../common/transaction-id.js';
import { decodeRecallHandle } from '../common/recall-handle.js';
import { TransactionCheckRelay } from './transaction-check-relay.js';
import type { MessageData__Output } from '../gen/internal/ledgermq/v1/MessageData.js';
import type { Message as V2Message } from '../gen/v2/apache/rocketmq/v2/Message.js';
import { messageGroupSlot } from '../common/message-group-hash.js';
import { peekBrokerGroup } from '../broker/receipt-handle.js';
import type { BrokerGateway } from '../client/broker-gateway.js';
import type { RouteSource } from '../client/route-source.js';
import { retryPolicyOf, settingsFor } from './telemetry-settings.js';
import type { GroupConsumePolicy, SettingsLimits } from './telemetry-settings.js';
import type { LimitRefusal } from '../common/server-limits.js';
import { V2_OK, durationToMs, fromV2Message, messageTypeName, toV2Message, toV2Status, toTimestamp, v2Status } from './v2-codec.js';

export interface MessagingServiceOptions {
  gateway: BrokerGateway;
  routes: RouteSource;
  logger: Logger;
  /** "host:port" clients reach this Proxy at; routes point every broker group here. */
  accessPoint: string;
  limits: SettingsLimits;
  /** Deadline for one call to a broker (long polls add their hold time). */
  brokerTimeoutMs: number;
  /** Longest a ReceiveMessage is held at the broker. */
  maxPollMs: number;
  /** Bounds on held calls; `refused` counts each refusal (metrics). */
  requestLimits: { maxParkedReceives: number; maxSessionsPerClientId: number; refused: (reason: LimitRefusal) => void };
}

/** Turns anything thrown into the v2 status the client sees. */
function v2StatusOf(error: unknown): V2StatusType {
  return toV2Status(toWireStatus(error));
}

/** A Telemetry stream with more unsent than this gets no transaction check (another producer, or the next check, will). */
const MAX_TELEMETRY_BUFFERED_BYTES = 1024 * 1024;
const PERM_READ = 4;
const PERM_WRITE = 2;

function permissionOf(perm: number): 'READ_WRITE' | 'READ' | 'WRITE' | 'NONE' {
  const read = (perm & PERM_READ) !== 0;
  const write = (perm & PERM_WRITE) !== 0;
  return read && write ? 'READ_WRITE' : read ? 'READ' : write ? 'WRITE' : 'NONE';
}

/** Builds the handlers; see the file comment. */
export function messagingServiceHandlers(options: MessagingServiceOptions): MessagingServiceHandlers {
  const { gateway, routes, logger } = options;
  const [proxyHost, proxyPort] = splitAddress(options.accessPoint);
  const checkRelay = new TransactionCheckRelay(gateway, routes, logger);
  const { requestLimits } = options;
  let nextGroup = 0;
  /** ReceiveMessage calls being served now (most of them long polling at a broker). */
  let parkedReceives = 0;
  /** Open Telemetry sessions per `x-mq-client-id`. */
  const sessionsByClient = new Map<string, number>();

  /** One v2 MessageQueue per broker group: id 0, broker id 0, the Proxy's one address. */
  function queueOf(topic: string, group: string, config: TopicConfig__Output): MessageQueue {
    return {
      topic: { name: topic, resourceNamespace: '' },
      id: 0,
      permission: permissionOf(config.perm),
      broker: { name: group, id: 0, endpoints: { scheme: 'IPv4', addresses: [{ host: proxyHost, port: proxyPort }] } },
      acceptMessageTypes: config.messageTypes.map((value) => messageTypeName(value) as 'NORMAL'),
    };
  }

  /** The topic's groups, auto-creating it on every live group when no group has it. */
  async function groupsOf(topic: string): Promise<Array<{ group: string; config: TopicConfig__Output }>> {
    checkTopicName(topic);
    try {
      const route = await routes.route(topic);
      const found = route.groups
        .filter((g: GroupRoute__Output) => g.topic !== null)
        .map((g: GroupRoute__Output) => ({ group: g.group, config: g.topic as TopicConfig__Output }));
      if (found.length > 0) return found;
    } catch (error) {
      if (!(error instanceof LedgerError) || error.code !== 'TOPIC_NOT_FOUND') throw error;
    }
    const live = (await routes.groups()).filter((g) => g.leaderAddress);
    if (live.length === 0) throw new LedgerError('HA_NOT_AVAILABLE', 'no broker group is available');
    const created: Array<{ group: string; config: TopicConfig__Output }> = [];
    let lastError: unknown = new LedgerError('TOPIC_NOT_FOUND', `topic ${topic} does not exist`);
    for (const g of live) {
      try {
        const response = await gateway.getTopic(g.group, { name: topic, autoCreate: true }, options.brokerTimeoutMs);
        if (response.topic) created.push({ group: g.group, config: response.topic });
      } catch (error) {
        lastError = error;
      }
    }
    if (created.length === 0) throw lastError;
    return created;
  }

  /**
   * Creates the subscription group on every live broker group (where allowed); answers its retry
   * policy (from the first). Within a client's call (asCaller) brokers with ACL check the client
   * may consume as `group`.
   */
  async function ensureGroup(group: string): Promise<GroupConsumePolicy | null> {
    checkGroupName(group);
    let policy: GroupConsumePolicy | null = null;
    for (const g of await routes.groups()) {
      if (!g.leaderAddress) continue;
      const answer = await gateway.getGroup(g.group, { name: group, autoCreate: true }, options.brokerTimeoutMs);
      if (policy === null && answer.group) policy = retryPolicyOf(answer.group);
    }
    return policy;
  }

  /**
   * Checks, with the client's signature (call within asCaller), that brokers let it publish to
   * `topics` and consume as `group` ('' none): one read per topic and the group's creation, on
   * brokers that enforce ACL (without ACL they pass). Resolves with the group's policy (null: no group).
   */
  async function authorizeSession(topics: string[], group: string): Promise<GroupConsumePolicy | null> {
    for (const topic of topics) {
      const groups = await groupsOf(topic);
      await gateway.getTopic(groups[0].group, { name: topic, autoCreate: false }, options.brokerTimeoutMs);
    }
    return group === '' ? null : ensureGroup(group);
  }

  function unary<Res extends { status?: V2StatusType | null }>(
    callback: grpc.sendUnaryData<Res>,
    work: () => Promise<Omit<Res, 'status'> & { status?: V2StatusType }>,
  ): void {
    work().then(
      (response) => callback(null, { status: V2_OK, ...response } as Res),
      (error: unknown) => {
        const status = v2StatusOf(error);
        if (!(error instanceof LedgerError)) logger.error({ err: error }, 'v2 request failed');
        callback(null, { status } as Res);
      },
    );
  }

  function notImplemented<Res>(what: string): (call: unknown, callback: grpc.sendUnaryData<Res>) => void {
    return (_call, callback) => callback(null, { status: v2Status('NOT_IMPLEMENTED', `${what} is not implemented yet`) } as Res);
  }

  return {
    QueryRoute(call, callback) {
      unary(callback, async () => {
        const topic = call.request.topic?.name ?? '';
        const groups = await groupsOf(topic);
        // Routes come from the NameServers; one broker read with the client's signature lets
        // brokers with ACL refuse a client that may neither publish nor subscribe to the topic.
        await gateway.getTopic(groups[0].group, { name: topic, autoCreate: false }, options.brokerTimeoutMs);
        return { messageQueues: groups.map((g) => queueOf(topic, g.group, g.config)) };
      });
    },
    Heartbeat(call, callback) {
      unary(callback, async () => {
        const group = call.request.group?.name;
        if (group) await ensureGroup(group);
        return {};
      });
    },
    SendMessage(call, callback) {
      unary(callback, async () => {
        const messages = call.request.messages.map(fromV2Message);
        if (messages.length === 0) throw new LedgerError('BAD_REQUEST', 'SendMessage carries no message');
        const topic = messages[0].topic ?? '';
        if (messages.some((m) => m.topic !== topic)) throw new LedgerError('BAD_REQUEST', 'every message of a batch must have the same topic');
        const groups = await groupsOf(topic);
        // A FIFO message group always goes to one broker group (then the broker keeps it in one queue).
        const messageGroup = messages[0].messageGroup ?? '';
        const target = messageGroup !== ''
          ? [...groups].sort((a, b) => (a.group < b.group ? -1 : 1))[messageGroupSlot(messageGroup, groups.length)]
          : groups[nextGroup++ % groups.length];
        const response = await gateway.sendMessages(target.group, { topic, queueId: -1, messages }, options.brokerTimeoutMs);
        return {
          entries: response.entries.map((entry) => ({ status: V2_OK, messageId: entry.messageId, transactionId: entry.transactionId, offset: entry.queueOffset, recallHandle: entry.recallHandle })),
        };
      });
    },
    QueryAssignment(call, callback) {
      unary(callback, async () => {
        const topic = call.request.topic?.name ?? '';
        await ensureGroup(call.request.group?.name ?? '');
        const groups = await groupsOf(topic);
        return { assignments: groups.map((g) => ({ messageQueue: queueOf(topic, g.group, g.config) })) };
      });
    },
    ReceiveMessage(call) {
      const request = call.request;
      const finish = (status: V2StatusType): void => {
        call.write({ status });
        call.write({ deliveryTimestamp: toTimestamp(Date.now()) });
        call.end();
      };
      if (parkedReceives >= requestLimits.maxParkedReceives) {
        requestLimits.refused('parked_receives');
        finish(v2Status('TOO_MANY_REQUESTS', `too many ReceiveMessage calls held by this Proxy (${requestLimits.maxParkedReceives}); retry later`));
        return;
      }
      parkedReceives += 1;
      (async () => {
        const topic = request.messageQueue?.topic?.name ?? '';
        const group = request.group?.name ?? '';
        checkGroupName(group);
        const groups = await groupsOf(topic);
        const named = request.messageQueue?.broker?.name;
        const target = groups.find((g) => g.group === named) ?? groups[nextGroup++ % groups.length];
        const pollMs = Math.min(Math.max(0, durationToMs(request.longPollingTimeout) - 500), options.maxPollMs);
        const invisibleMs = durationToMs(request.invisibleDuration);
        const response = await gateway.popMessages(target.group, {
          group,
          topic,
          queueId: -1,
          maxMessages: request.batchSize > 0 ? request.batchSize : 32,
          invisibleMs,
          pollTimeoutMs: pollMs,
          filter: { type: request.filterExpression?.type === 'SQL' ? 'SQL' : 'TAG', expression: request.filterExpression?.expression ?? '*' },
        }, options.brokerTimeoutMs + pollMs);
        if (response.messages.length === 0) {
          finish(v2Status('MESSAGE_NOT_FOUND', 'no new message'));
          return;
        }
        call.write({ status: V2_OK });
        for (const popped of response.messages) {
          const held = Number(popped.invisibleUntilMs) - Date.now();
          call.write({ message: toV2Message(popped, target.group, Math.max(0, held)) });
        }
        call.write({ deliveryTimestamp: toTimestamp(Date.now()) });
        call.end();
      })().catch((error: unknown) => {
        if (!(error instanceof LedgerError)) logger.error({ err: error }, 'ReceiveMessage failed');
        finish(v2StatusOf(error));
      }).finally(() => {
        parkedReceives -= 1;
      });
    },
    AckMessage(call, callback) {
      unary(callback, async () => {
        const { group, topic, entries } = call.request;
        const groupName = group?.name ?? '';
        const topicName = topic?.name ?? '';
        checkGroupName(groupName);
        checkTopicName(topicName);
        const results = entries.map((entry) => ({ messageId: entry.messageId, receiptHandle: entry.receiptHandle, status: V2_OK }));
        const byBrokerGroup = new Map<string, number[]>();
        entries.forEach((entry, i) => {
          const brokerGroup = peekBrokerGroup(entry.receiptHandle);
          if (!brokerGroup) {
            results[i].status = v2Status('INVALID_RECEIPT_HANDLE', 'invalid receipt handle: unknown format');
            return;
          }
          byBrokerGroup.set(brokerGroup, [...(byBrokerGroup.get(brokerGroup) ?? []), i]);
        });
        for (const [brokerGroup, slots] of byBrokerGroup) {
          try {
            const response = await gateway.ackMessages(brokerGroup, {
              group: groupName,
              topic: topicName,
              receiptHandles: slots.map((i) => entries[i].receiptHandle),
            }, options.brokerTimeoutMs);
            response.results.forEach((result, j) => {
              results[slots[j]].status = result.status ? toV2Status(result.status) : V2_OK;
            });
          } catch (error) {
            for (const i of slots) results[i].status = v2StatusOf(error);
          }
        }
        const failed = results.filter((r) => r.status.code !== 'OK');
        const status = failed.length === 0 ? V2_OK : results.length === 1 ? failed[0].status : v2Status('BAD_REQUEST', `${failed.length} of ${results.length} acks failed`);
        return { status, entries: results };
      });
    },
    ChangeInvisibleDuration(call, callback) {
      unary(callback, async () => {
        const { group, topic, receiptHandle, invisibleDuration } = call.request;
        const brokerGroup = peekBrokerGroup(receiptHandle);
        if (!brokerGroup) throw new LedgerError('INVALID_RECEIPT_HANDLE', 'invalid receipt handle: unknown format');
        const response = await gateway.changeInvisibleDuration(brokerGroup, {
          group: group?.name ?? '',
          topic: topic?.name ?? '',
          receiptHandle,
          invisibleMs: durationToMs(invisibleDuration),
        }, options.brokerTimeoutMs);
        return { receiptHandle: response.receiptHandle };
      });
    },
    ForwardMessageToDeadLetterQueue(call, callback) {
      unary(callback, async () => {
        const { group, topic, receiptHandle } = call.request;
        const brokerGroup = peekBrokerGroup(receiptHandle);
        if (!brokerGroup) throw new LedgerError('INVALID_RECEIPT_HANDLE', 'invalid receipt handle: unknown format');
        await gateway.forwardToDeadLetter(brokerGroup, { group: group?.name ?? '', topic: topic?.name ?? '', receiptHandle }, options.brokerTimeoutMs);
        return {};
      });
    },
    NotifyClientTermination(_call, callback) {
      callback(null, { status: V2_OK });
    },
    Telemetry(call) {
      const clientId = String(call.metadata.get('x-mq-client-id')[0] ?? '');
      const sessions = sessionsByClient.get(clientId) ?? 0;
      if (clientId !== '' && sessions >= requestLimits.maxSessionsPerClientId) {
        requestLimits.refused('client_sessions');
        call.write({ status: v2Status('TOO_MANY_REQUESTS', `client ${clientId} has ${sessions} sessions open with this Proxy (maxSessionsPerClientId)`) });
        call.end();
        return;
      }
      sessionsByClient.set(clientId, sessions + 1);
      let sessionOpen = true;
      const endSession = (): void => {
        if (!sessionOpen) return;
        sessionOpen = false;
        const left = (sessionsByClient.get(clientId) ?? 1) - 1;
        if (left > 0) sessionsByClient.set(clientId, left);
        else sessionsByClient.delete(clientId);
      };
      // A producer session answers transaction checks of its topics (RecoverOrphanedTransactionCommand).
      let unregister: (() => void) | null = null;
      const stopChecks = (): void => {
        unregister?.();
        unregister = null;
      };
      // What the client was allowed when the session opened (its signature is checked then: a later
      // settings command naming something else is checked again with the stream's headers).
      let allowed: { topics: Set<string>; group: string } | null = null;
      const closeSession = (): void => {
        endSession();
        stopChecks();
      };
      call.on('data', (command: TelemetryCommand__Output) => {
        if (!command.settings) return;
        const settings = command.settings;
        const published = settings.publishing?.topics.map((t) => t.name).filter((name) => name !== '') ?? [];
        const group = settings.subscription?.group?.name ?? '';
        const known = allowed !== null && published.every((topic) => allowed!.topics.has(topic)) && (group === '' || group === allowed.group);
        // A check yields the group's policy (the group is created then); a known session's is read again.
        const checked: Promise<GroupConsumePolicy | null | undefined> = known ? Promise.resolve(undefined) : asCaller(call.metadata, () => authorizeSession(published, group)).then((policy) => {
          allowed = { topics: new Set(published), group };
          return policy;
        });
        checked.then((policy) => answerSettings(settings, published, policy), (error: unknown) => call.write({ status: v2StatusOf(error) }));
      });
      /**
       * Starts the session's transaction checks and answers its settings with the group's policy
       * (`undefined`: not read yet, so read it now).
       */
      const answerSettings = (settings: NonNullable<TelemetryCommand__Output['settings']>, published: string[], policy: GroupConsumePolicy | null | undefined): void => {
        if (published.length > 0) {
          stopChecks();
          unregister = checkRelay.register(published, ({ brokerGroup, check }) => {
            if (!check.message || call.writableLength > MAX_TELEMETRY_BUFFERED_BYTES) return false;
            call.write({ recoverOrphanedTransactionCommand: { message: checkedMessage(check.message, brokerGroup), transactionId: check.transactionId } });
            return true;
          });
        }
        const group = settings.subscription?.group?.name;
        const reply = (policy: GroupConsumePolicy | null): void => {
          call.write({ status: V2_OK, settings: settingsFor(settings, options.limits, policy) });
        };
        if (!group) {
          reply(null);
          return;
        }
        if (policy !== undefined) {
          reply(policy);
          return;
        }
        ensureGroup(group).then(reply, (error: unknown) => call.write({ status: v2StatusOf(error) }));
      };
      call.on('end', () => {
        closeSession();
        call.end();
      });
      call.on('error', closeSession);
      call.on('cancelled', closeSession);
      call.on('close', closeSession);
    },
    EndTransaction(call, callback) {
      unary(callback, async () => {
        const { topic, messageId, transactionId, resolution, source } = call.request;
        const brokerGroup = brokerGroupOfTransaction(transactionId);
        if (!brokerGroup) throw new LedgerError('INVALID_TRANSACTION_ID', `transaction id ${JSON.stringify(transactionId)} is not one this cluster issued`);
        if (resolution !== 'COMMIT' && resolution !== 'ROLLBACK') throw new LedgerError('BAD_REQUEST', 'resolution must be COMMIT or ROLLBACK');
        await gateway.endTransaction(brokerGroup, {
          topic: topic?.name ?? '', messageId, transactionId, commit: resolution === 'COMMIT', fromCheck: source === 'SOURCE_SERVER_CHECK',
        }, options.brokerTimeoutMs);
        return {};
      });
    },
    GetOffset: notImplemented('GetOffset'),
    QueryOffset: notImplemented('QueryOffset'),
    UpdateOffset: notImplemented('UpdateOffset'),
    RecallMessage(call, callback) {
      unary(callback, async () => {
        const topic = call.request.topic?.name ?? '';
        checkTopicName(topic);
        const { brokerGroup } = decodeRecallHandle(call.request.recallHandle);
        const response = await gateway.recallMessage(brokerGroup, { topic, recallHandle: call.request.recallHandle }, options.brokerTimeoutMs);
        return { messageId: response.messageId };
      });
    },
    SyncLiteSubscription: notImplemented('SyncLiteSubscription (lite topics are not supported)'),
    PullMessage(call) {
      call.write({ status: v2Status('NOT_IMPLEMENTED', 'PullMessage is not implemented yet') });
      call.end();
    },
  };
}

/** A checked half message as the v2 message an official client's TransactionChecker reads. */
function checkedMessage(message: MessageData__Output, brokerGroup: string): V2Message {
  return toV2Message({ message, queueId: 0, queueOffset: '0', receiptHandle: '', deliveryAttempt: 1, storeTimestampMs: '0', invisibleUntilMs: '0' }, brokerGroup, 0);
}

function splitAddress(address: string): [string, number] {
  const cut = address.lastIndexOf(':');
  return [address.slice(0, cut), Number(address.slice(cut + 1))];
}
