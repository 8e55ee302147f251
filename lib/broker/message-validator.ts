import { LedgerError } from '../common/errors.js';
import type { StoredMessage } from '../store/message-codec.js';
import type { BrokerConfig } from './broker-config.js';
import { checkTopicName } from './name-rules.js';

/** A message as it arrives at the broker: a stored message before the broker picks its queue. */
export type IncomingMessage = Omit<StoredMessage, 'queueId'>;

const MAX_TAG_CHARS = 255;
/** Longest message key a message may carry (and a query may name). */
export const MAX_KEY_CHARS = 255;
const MAX_KEYS = 64;
/** Longest message id a message may carry (and a query may name). */
export const MAX_MESSAGE_ID_CHARS = 128;
const PROPERTY_NAME_PATTERN = /^[A-Za-z0-9_.\-:]{1,128}$/;

type Limits = Pick<BrokerConfig, 'maxBodyBytes' | 'maxPropertyCount' | 'maxPropertiesBytes' | 'maxBatchMessages' | 'maxBatchBytes'>;

/**
 * Checks a send request against the broker's limits and RocketMQ's rules; throws a LedgerError
 * whose code names the first problem (ILLEGAL_TOPIC, MESSAGE_BODY_EMPTY, MESSAGE_BODY_TOO_LARGE,
 * MESSAGE_PROPERTIES_TOO_LARGE, ILLEGAL_MESSAGE_PROPERTY_KEY, ILLEGAL_MESSAGE_TAG,
 * ILLEGAL_MESSAGE_KEY, ILLEGAL_MESSAGE_ID, PAYLOAD_TOO_LARGE, BAD_REQUEST).
 */
export function validateBatch(topic: string, messages: readonly IncomingMessage[], limits: Limits): void {
  checkTopicName(topic);
  if (messages.length === 0) throw new LedgerError('BAD_REQUEST', 'a send carries no message');
  if (messages.length > limits.maxBatchMessages) {
    throw new LedgerError('PAYLOAD_TOO_LARGE', `a batch holds at most ${limits.maxBatchMessages} messages, got ${messages.length}`);
  }
  let totalBytes = 0;
  for (const message of messages) {
    if (message.topic !== topic) throw new LedgerError('BAD_REQUEST', `every message of a batch must be for topic ${topic}, got ${message.topic}`);
    validateMessage(message, limits);
    totalBytes += message.body.length;
  }
  if (totalBytes > limits.maxBatchBytes) throw new LedgerError('PAYLOAD_TOO_LARGE', `batch bodies total ${totalBytes} bytes, limit ${limits.maxBatchBytes}`);
}

function validateMessage(message: IncomingMessage, limits: Limits): void {
  if (message.body.length === 0) throw new LedgerError('MESSAGE_BODY_EMPTY', 'message body is empty');
  if (message.body.length > limits.maxBodyBytes) {
    throw new LedgerError('MESSAGE_BODY_TOO_LARGE', `message body is ${message.body.length} bytes, limit ${limits.maxBodyBytes}`);
  }
  const names = Object.keys(message.properties);
  if (names.length > limits.maxPropertyCount) {
    throw new LedgerError('MESSAGE_PROPERTIES_TOO_LARGE', `message has ${names.length} properties, limit ${limits.maxPropertyCount}`);
  }
  let propertyBytes = 0;
  for (const name of names) {
    if (!PROPERTY_NAME_PATTERN.test(name)) throw new LedgerError('ILLEGAL_MESSAGE_PROPERTY_KEY', `illegal property name ${JSON.stringify(name.slice(0, 200))}`);
    propertyBytes += Buffer.byteLength(name) + Buffer.byteLength(message.properties[name]);
  }
  if (propertyBytes > limits.maxPropertiesBytes) {
    throw new LedgerError('MESSAGE_PROPERTIES_TOO_LARGE', `message properties take ${propertyBytes} bytes, limit ${limits.maxPropertiesBytes}`);
  }
  if (message.tag.length > MAX_TAG_CHARS || message.tag.includes('|') || (message.tag.length > 0 && message.tag.trim().length === 0)) {
    throw new LedgerError('ILLEGAL_MESSAGE_TAG', `illegal tag ${JSON.stringify(message.tag.slice(0, 200))}`);
  }
  if (message.keys.length > MAX_KEYS) throw new LedgerError('ILLEGAL_MESSAGE_KEY', `a message has at most ${MAX_KEYS} keys`);
  for (const key of message.keys) {
    if (key.trim().length === 0 || key.length > MAX_KEY_CHARS) throw new LedgerError('ILLEGAL_MESSAGE_KEY', `illegal key ${JSON.stringify(key.slice(0, 200))}`);
  }
  if (message.messageId.length > MAX_MESSAGE_ID_CHARS) throw new LedgerError('ILLEGAL_MESSAGE_ID', 'message id is too long');
}
