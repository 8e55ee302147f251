/**
 * Messages between the store's shape and `ledgermq.v1.MessageData`, for the BrokerService handlers.
 */
import type { MessageData, MessageData__Output } from '../gen/internal/ledgermq/v1/MessageData.js';
import type { StoredMessage } from '../store/message-codec.js';
import type { IncomingMessage } from './message-validator.js';

/** Wire MessageData (a send) → the validator's input. */
export function toIncoming(data: MessageData__Output): IncomingMessage {
  return {
    topic: data.topic,
    body: data.body,
    tag: data.tag,
    keys: data.keys,
    properties: { ...data.properties },
    messageId: data.messageId,
    bornTimestampMs: Number(data.bornTimestampMs),
    bornHost: data.bornHost,
    messageGroup: data.messageGroup,
    deliveryTimestampMs: Number(data.deliveryTimestampMs),
    messageType: data.messageType,
  };
}

/** StoredMessage → wire MessageData. */
export function toMessageData(message: StoredMessage): MessageData {
  return {
    topic: message.topic,
    body: message.body,
    tag: message.tag,
    keys: message.keys,
    properties: message.properties,
    messageId: message.messageId,
    bornTimestampMs: message.bornTimestampMs,
    bornHost: message.bornHost,
    messageGroup: message.messageGroup,
    deliveryTimestampMs: message.deliveryTimestampMs,
    messageType: message.messageType,
  };
}
