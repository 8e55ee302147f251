/**
 * Message types (apache.rocketmq.v2.MessageType) and the rules a send must follow: a message's
 * type agrees with its properties, and a topic accepts only the types it declares (RocketMQ 5's
 * `message.type` topic attribute; MIXED accepts all four).
 *
 * | type        | a message of this type                                                    |
 * |-------------|---------------------------------------------------------------------------|
 * | NORMAL      | has no message group and no delivery time                                 |
 * | FIFO        | has a message group (and no delivery time)                                |
 * | DELAY       | has a delivery timestamp or a delay level (property `DELAY`), no group    |
 * | TRANSACTION | is a half message, visible once its producer commits it                  |
 *
 * A message that names no type (0, older clients) gets the type its properties imply.
 */
import { LedgerError } from '../common/errors.js';

/** apache.rocketmq.v2.MessageType numeric values. */
export const MessageType = { NORMAL: 1, FIFO: 2, DELAY: 3, TRANSACTION: 4 } as const;
export type MessageTypeValue = (typeof MessageType)[keyof typeof MessageType];

const NAME_OF: Record<number, string> = { 1: 'NORMAL', 2: 'FIFO', 3: 'DELAY', 4: 'TRANSACTION' };

/** The delay-level property of a producer's message (RocketMQ's `DELAY`, 1-based level). */
export const DELAY_LEVEL_PROPERTY = 'DELAY';

/** What the type rules read of a message. */
export interface TypedMessage {
  messageType: number;
  messageGroup: string;
  deliveryTimestampMs: number;
  properties: Record<string, string>;
}

/** A type's name, e.g. 'FIFO' ('TYPE_7' for a value outside the four). */
export function messageTypeName(value: number): string {
  return NAME_OF[value] ?? `TYPE_${value}`;
}

/**
 * The topic attribute value for a list of accepted types: one type's name, or MIXED.
 * (An empty list is a topic created before types existed: NORMAL.)
 */
export function topicTypeLabel(types: readonly number[]): string {
  if (types.length === 0) return 'NORMAL';
  if (types.length === 1) return messageTypeName(types[0]);
  return types.length === 4 ? 'MIXED' : types.map(messageTypeName).join('+');
}

/** Parses a topic's `message.type` (NORMAL, FIFO, DELAY, TRANSACTION or MIXED; case-insensitive). */
export function parseTopicMessageType(text: string): number[] {
  const name = text.trim().toUpperCase();
  if (name === 'MIXED') return [MessageType.NORMAL, MessageType.FIFO, MessageType.DELAY, MessageType.TRANSACTION];
  const value = (MessageType as Record<string, number>)[name];
  if (value === undefined) throw new LedgerError('BAD_REQUEST', `message type "${text}" is not NORMAL, FIFO, DELAY, TRANSACTION or MIXED`);
  return [value];
}

/** The type of `message`: its declared type, or the one its properties imply when it declares none. */
export function effectiveType(message: TypedMessage): number {
  if (message.messageType !== 0) return message.messageType;
  if (message.messageGroup !== '') return MessageType.FIFO;
  if (message.deliveryTimestampMs > 0 || message.properties[DELAY_LEVEL_PROPERTY] !== undefined) return MessageType.DELAY;
  return MessageType.NORMAL;
}

/**
 * Checks that `message`'s properties fit its type `type`; throws MESSAGE_PROPERTY_CONFLICT_WITH_TYPE
 * (the status the official clients expect) naming the conflict.
 */
export function checkTypeProperties(message: TypedMessage, type: number): void {
  const conflict = (what: string): LedgerError => new LedgerError('MESSAGE_PROPERTY_CONFLICT_WITH_TYPE', `a ${messageTypeName(type)} message ${what}`);
  const delayed = message.deliveryTimestampMs > 0 || message.properties[DELAY_LEVEL_PROPERTY] !== undefined;
  const grouped = message.messageGroup !== '';
  switch (type) {
    case MessageType.NORMAL:
    case MessageType.TRANSACTION:
      if (grouped) throw conflict('cannot have a message group');
      if (delayed) throw conflict('cannot have a delivery time');
      return;
    case MessageType.FIFO:
      if (!grouped) throw conflict('needs a message group');
      if (delayed) throw conflict('cannot have a delivery time');
      return;
    case MessageType.DELAY:
      if (!delayed) throw conflict('needs a delivery timestamp or a delay level');
      if (grouped) throw conflict('cannot have a message group');
      return;
    default:
      throw new LedgerError('BAD_REQUEST', `message type ${type} is not supported (NORMAL, FIFO, DELAY or TRANSACTION)`);
  }
}

/** Throws MESSAGE_PROPERTY_CONFLICT_WITH_TYPE unless the topic accepts `type`. */
export function checkTopicAccepts(topic: { name: string; messageTypes: readonly number[] }, type: number): void {
  const accepted = topic.messageTypes.length > 0 ? topic.messageTypes : [MessageType.NORMAL];
  if (!accepted.includes(type)) {
    throw new LedgerError(
      'MESSAGE_PROPERTY_CONFLICT_WITH_TYPE',
      `topic ${topic.name} accepts ${topicTypeLabel(accepted)} messages, not ${messageTypeName(type)} (set its type with updateTopic -a +message.type=...)`,
    );
  }
}
