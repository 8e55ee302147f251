/**
 * Consumer retries for pull/push consumers (RocketMQ's consumerSendMsgBack). A message the group
 * failed to consume is copied, with its reconsume count increased, into the schedule topic at the
 * retry's delay level; when the delay ends the {@link ScheduleService} moves it to
 * `%RETRY%<group>`, which the group's consumers also subscribe to. After the group's maximum
 * (maxDeliveryAttempts - 1 retries, 16 by default) the message goes to `%DLQ%<group>` instead.
 * The copy is committed through the log before the consumer hears OK, so it then may count the
 * original as consumed.
 */
import { LedgerError } from '../common/errors.js';
import type { ConsumeQueueStore } from '../store/consume-queue-store.js';
import type { MessageReader } from './message-reader.js';
import type { IncomingMessage } from './message-validator.js';
import { checkGroupName, checkTopicName } from './name-rules.js';
import { requireLeader } from './replicated-log.js';
import type { ReplicatedLog } from './replicated-log.js';
import { SCHEDULE_TOPIC } from './schedule-service.js';
import { SystemProperty } from './system-properties.js';
import type { SendService } from './send-service.js';
import type { TopicService } from './topic-service.js';
import { retryLevel } from './delay-levels.js';

/** Message properties of retries and dead letters (RocketMQ's names). */
export const RetryProperty = {
  /** Earlier retries of this message. */
  RECONSUME_TIME: 'RECONSUME_TIME',
  /** The topic the message was first sent to. */
  RETRY_TOPIC: 'RETRY_TOPIC',
  ORIGIN_MESSAGE_ID: 'ORIGIN_MESSAGE_ID',
} as const;

export function retryTopicOf(group: string): string {
  return `%RETRY%${group}`;
}

export function deadLetterTopicOf(group: string): string {
  return `%DLQ%${group}`;
}

export interface SendBackResult {
  /** Where the copy went: the schedule topic (a retry) or the group's DLQ. */
  destination: 'RETRY' | 'DLQ';
  reconsumeTimes: number;
  /** When the retry becomes deliverable (0 for a dead letter). */
  deliverAfterMs: number;
}

export interface RetryServiceDeps {
  log: ReplicatedLog;
  consumeQueues: ConsumeQueueStore;
  topics: TopicService;
  sender: SendService;
  reader: MessageReader;
  delayLevels: readonly number[];
}

export class RetryService {
  constructor(private readonly deps: RetryServiceDeps) {}

  /**
   * Sends the message at `topic`/`queueId`@`offset` back for `group`: a retry at `delayLevel`
   * (0: the group's next level) or, past the group's attempts, a dead letter.
   */
  async sendBack(group: string, topic: string, queueId: number, offset: number, delayLevel: number): Promise<SendBackResult> {
    checkGroupName(group);
    checkTopicName(topic);
    requireLeader(this.deps.log);
    const { delayLevels } = this.deps;
    if (!Number.isInteger(delayLevel) || delayLevel < 0 || delayLevel > delayLevels.length) {
      throw new LedgerError('BAD_REQUEST', `delay level must be 0..${delayLevels.length}, got ${delayLevel}`);
    }
    const groupConfig = await this.deps.topics.group(group, true);
    const topicConfig = await this.deps.topics.topic(topic, false);
    if (!Number.isInteger(queueId) || queueId < 0 || queueId >= topicConfig.readQueues) throw new LedgerError('BAD_REQUEST', `topic ${topic} has no queue ${queueId}`);
    const [unit] = await this.deps.consumeQueues.queue(topic, queueId).read(offset, 1);
    if (!unit || unit.offset !== offset) throw new LedgerError('MESSAGE_NOT_FOUND', `no message at ${topic}/${queueId}@${offset}`);
    const message = await this.deps.reader.read(topic, queueId, offset, unit.position, unit.size);
    const reconsumeTimes = Number(message.properties[RetryProperty.RECONSUME_TIME] ?? 0);
    const originTopic = message.properties[RetryProperty.RETRY_TOPIC] ?? topic;
    const properties: Record<string, string> = {
      ...message.properties,
      [RetryProperty.RECONSUME_TIME]: String(reconsumeTimes + 1),
      [RetryProperty.RETRY_TOPIC]: originTopic,
      [RetryProperty.ORIGIN_MESSAGE_ID]: message.properties[RetryProperty.ORIGIN_MESSAGE_ID] ?? message.messageId,
    };
    const copy: Omit<IncomingMessage, 'topic'> = {
      body: message.body, tag: message.tag, keys: message.keys, properties, messageId: message.messageId,
      bornTimestampMs: message.bornTimestampMs, bornHost: message.bornHost, messageGroup: message.messageGroup,
      deliveryTimestampMs: 0, messageType: message.messageType,
    };
    // maxDeliveryAttempts counts the first delivery: its retries are attempts - 1.
    if (reconsumeTimes + 1 >= groupConfig.maxDeliveryAttempts) {
      const dlq = deadLetterTopicOf(group);
      await this.deps.topics.systemTopic(dlq, 1);
      await this.deps.sender.send(dlq, 0, [{ ...copy, topic: dlq }]);
      return { destination: 'DLQ', reconsumeTimes: reconsumeTimes + 1, deliverAfterMs: 0 };
    }
    const level = delayLevel > 0 ? delayLevel : retryLevel(reconsumeTimes, delayLevels.length);
    const retryTopic = retryTopicOf(group);
    await this.deps.topics.systemTopic(retryTopic, 1);
    await this.deps.topics.systemTopic(SCHEDULE_TOPIC, delayLevels.length);
    properties[SystemProperty.REAL_TOPIC] = retryTopic;
    properties[SystemProperty.REAL_QUEUE_ID] = '0';
    properties[SystemProperty.DELAY_LEVEL] = String(level);
    await this.deps.sender.send(SCHEDULE_TOPIC, level - 1, [{ ...copy, properties, topic: SCHEDULE_TOPIC }]);
    return { destination: 'RETRY', reconsumeTimes: reconsumeTimes + 1, deliverAfterMs: delayLevels[level - 1] };
  }
}
