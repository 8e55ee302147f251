/** Messages as our client's users see them, and their wire form (ledgermq.v1.MessageData). */
import { hostname } from 'node:os';
import type { MessageData, MessageData__Output } from '../gen/internal/ledgermq/v1/MessageData.js';
import { newMessageId } from './client-options.js';

/** apache.rocketmq.v2.MessageType values. */
export const MessageType = { NORMAL: 1, FIFO: 2, DELAY: 3, TRANSACTION: 4 } as const;

/** A message to send. */
export interface Message {
  topic: string;
  body: Buffer | string;
  /** One tag (RocketMQ's sub-type), used by consumers' tag filters. */
  tag?: string;
  /** Business keys (query by key). */
  keys?: string[];
  properties?: Record<string, string>;
  /**
   * FIFO message group (RocketMQ 5's messageGroup / sharding key): messages of one group go to one
   * queue, in send order, and are not retried on another queue.
   */
  messageGroup?: string;
  /**
   * Delayed delivery: the time (ms since the epoch) the message becomes visible to consumers, at
   * most the broker's timerMaxDelayMs (40 days) ahead. The broker stores it at once, replicated
   * like any send, and delivers it at that time. Not with a message group.
   */
  deliveryTimestampMs?: number;
  /** Delayed delivery by one of RocketMQ's delay levels (1 = 1 s ... 18 = 2 h); see deliveryTimestampMs. */
  delayLevel?: number;
}

/** What a successful send tells the producer. */
export interface SendResult {
  messageId: string;
  /** Broker group (RocketMQ's brokerName) that stored the message. */
  brokerGroup: string;
  /** A transactional (half) message's id for EndTransaction. */
  transactionId?: string;
  /** A delayed message still waiting: the handle {@link Producer.recallMessage} cancels it by. */
  recallHandle?: string;
  queueId: number;
  queueOffset: number;
}

/** A received message with where it was stored. */
export interface ReceivedMessage {
  topic: string;
  body: Buffer;
  tag: string;
  keys: string[];
  properties: Record<string, string>;
  messageId: string;
  messageGroup: string;
  bornTimestampMs: number;
  bornHost: string;
  brokerGroup: string;
  /** Queue and offset of this copy (for a retry: in `%RETRY%<group>`). */
  queueId: number;
  queueOffset: number;
  /** Earlier failed deliveries to this consumer group (0 on the first). */
  reconsumeTimes: number;
  /** The topic this copy was read from: `topic`, or `%RETRY%<group>` for a retry. */
  sourceTopic: string;
}

const HOST = hostname();

/** The wire form of `message`, with its id (kept across retries) and born time. */
export function toMessageData(message: Message, messageId: string = newMessageId(), messageType: number = messageTypeOf(message)): MessageData {
  return {
    topic: message.topic,
    body: typeof message.body === 'string' ? Buffer.from(message.body) : message.body,
    tag: message.tag ?? '',
    keys: message.keys ?? [],
    properties: message.delayLevel === undefined ? (message.properties ?? {}) : { ...message.properties, DELAY: String(message.delayLevel) },
    messageId,
    bornTimestampMs: Date.now(),
    bornHost: HOST,
    messageGroup: message.messageGroup ?? '',
    deliveryTimestampMs: message.deliveryTimestampMs ?? 0,
    messageType,
  };
}

/** The type the broker checks the message against (the topic must accept it). */
function messageTypeOf(message: Message): number {
  if (message.messageGroup) return MessageType.FIFO;
  if ((message.deliveryTimestampMs ?? 0) > 0 || message.delayLevel !== undefined) return MessageType.DELAY;
  return MessageType.NORMAL;
}

/** A received wire message with its location. */
export function fromMessageData(data: MessageData__Output, brokerGroup: string, queueId: number, queueOffset: number): ReceivedMessage {
  // A retry copy names the topic it was first sent to (RocketMQ's RETRY_TOPIC): the listener sees that one.
  const originTopic = data.properties.RETRY_TOPIC;
  return {
    topic: originTopic && data.topic.startsWith('%RETRY%') ? originTopic : data.topic,
    sourceTopic: data.topic,
    reconsumeTimes: Number(data.properties.RECONSUME_TIME ?? 0) || 0,
    body: data.body,
    tag: data.tag,
    keys: data.keys,
    properties: { ...data.properties },
    messageId: data.messageId,
    messageGroup: data.messageGroup,
    bornTimestampMs: Number(data.bornTimestampMs),
    bornHost: data.bornHost,
    brokerGroup,
    queueId,
    queueOffset,
  };
}
