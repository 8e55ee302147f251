/**
 * Translation between apache.rocketmq.v2 messages and LedgerMQ's internal ones: messages, statuses,
 * timestamps and durations. Pure functions; no I/O.
 */
import { createHash } from 'node:crypto';
import { StatusCode, statusCodeName } from '../common/status-codes.js';
import type { WireStatus } from '../common/errors.js';
import type { MessageData } from '../gen/internal/ledgermq/v1/MessageData.js';
import type { PoppedMessage__Output } from '../gen/internal/ledgermq/v1/PoppedMessage.js';
import type { Message as V2Message, Message__Output as V2MessageOutput } from '../gen/v2/apache/rocketmq/v2/Message.js';
import type { Status as V2Status } from '../gen/v2/apache/rocketmq/v2/Status.js';
import type { Code as V2Code } from '../gen/v2/apache/rocketmq/v2/Code.js';
import type { Duration__Output } from '../gen/v2/google/protobuf/Duration.js';
import type { Timestamp } from '../gen/v2/google/protobuf/Timestamp.js';

const MESSAGE_TYPE_VALUES: Record<string, number> = { NORMAL: 1, FIFO: 2, DELAY: 3, TRANSACTION: 4, LITE: 5, PRIORITY: 6 };
const MESSAGE_TYPE_NAMES = Object.fromEntries(Object.entries(MESSAGE_TYPE_VALUES).map(([name, value]) => [value, name]));

/** A v2 status from an internal one; LedgerMQ-only codes become the nearest v2 code. */
export function toV2Status(status: WireStatus): V2Status {
  let name: string = statusCodeName(status.code) ?? 'INTERNAL_ERROR';
  // NOT_LEADER is internal: the Proxy follows leaders itself; if it still surfaces, clients retry.
  if (name === 'NOT_LEADER') name = 'INTERNAL_SERVER_ERROR';
  // v2 has no disk-full code; RocketMQ's Proxy maps the broker's SERVICE_NOT_AVAILABLE (disk full)
  // to INTERNAL_SERVER_ERROR, on which the official producers retry at once on another broker.
  // The message keeps saying DISK_FULL so an application can tell.
  if (name === 'DISK_FULL') return { code: 'INTERNAL_SERVER_ERROR', message: status.message.startsWith('DISK_FULL') ? status.message : `DISK_FULL: ${status.message}` };
  return { code: name as V2Code, message: status.message };
}

export const V2_OK: V2Status = { code: 'OK', message: 'OK' };

/** v2 status of a given code name. */
export function v2Status(code: keyof typeof StatusCode, message: string): V2Status {
  return toV2Status({ code: StatusCode[code], message });
}

export function toTimestamp(ms: number): Timestamp {
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 };
}

export function timestampToMs(value: { seconds: string | number; nanos: number } | null | undefined): number {
  if (!value) return 0;
  return Number(value.seconds) * 1000 + Math.floor(value.nanos / 1_000_000);
}

export function durationToMs(value: Duration__Output | null | undefined): number {
  if (!value) return 0;
  return Number(value.seconds) * 1000 + Math.floor(value.nanos / 1_000_000);
}

export function msToDuration(ms: number): { seconds: string; nanos: number } {
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 };
}

/** Numeric message type values for v2 enum names (unknown names are dropped). */
export function messageTypeValue(name: string): number {
  return MESSAGE_TYPE_VALUES[name] ?? 0;
}

/** v2 enum name of a numeric message type. */
export function messageTypeName(value: number): string {
  return MESSAGE_TYPE_NAMES[value] ?? 'MESSAGE_TYPE_UNSPECIFIED';
}

/** A producer's v2 message as internal MessageData. */
export function fromV2Message(message: V2MessageOutput): MessageData {
  const system = message.systemProperties;
  return {
    topic: message.topic?.name ?? '',
    body: message.body,
    tag: system?.tag ?? '',
    keys: system?.keys ?? [],
    properties: { ...message.userProperties },
    messageId: system?.messageId ?? '',
    bornTimestampMs: timestampToMs(system?.bornTimestamp),
    bornHost: system?.bornHost ?? '',
    messageGroup: system?.messageGroup ?? '',
    deliveryTimestampMs: timestampToMs(system?.deliveryTimestamp),
    messageType: messageTypeValue(system?.messageType ?? 'NORMAL'),
  };
}

/** A popped message as the v2 message a consumer receives (MD5 body digest, upper-hex). */
export function toV2Message(popped: PoppedMessage__Output, brokerGroup: string, invisibleMs: number): V2Message {
  const data = popped.message;
  if (!data) throw new Error('popped message without data');
  return {
    topic: { name: data.topic, resourceNamespace: '' },
    userProperties: data.properties,
    body: data.body,
    systemProperties: {
      tag: data.tag || undefined,
      keys: data.keys,
      messageId: data.messageId,
      bodyDigest: { type: 'MD5', checksum: createHash('md5').update(data.body).digest('hex').toUpperCase() },
      bodyEncoding: 'IDENTITY',
      messageType: messageTypeName(data.messageType || 1) as 'NORMAL',
      bornTimestamp: toTimestamp(Number(data.bornTimestampMs)),
      bornHost: data.bornHost,
      storeHost: brokerGroup,
      receiptHandle: popped.receiptHandle,
      queueId: popped.queueId,
      queueOffset: popped.queueOffset,
      invisibleDuration: msToDuration(invisibleMs),
      deliveryAttempt: popped.deliveryAttempt,
      messageGroup: data.messageGroup || undefined,
      deliveryTimestamp: Number(data.deliveryTimestampMs) > 0 ? toTimestamp(Number(data.deliveryTimestampMs)) : undefined,
    },
  };
}
