/**
 * Metadata commands: every change to topic config, subscription groups, consumer progress and
 * pop/ack state is one of these, appended to the CommitLog as a META entry and applied, in log
 * order, on every node. A META entry's body is a msgpack array of commands.
 */
import { Packr } from 'msgpackr';
import { LedgerError } from '../common/errors.js';
import type { AclUser } from '../security/acl-user.js';

/** A topic's configuration (RocketMQ's TopicConfig). */
export interface TopicConfig {
  name: string;
  readQueues: number;
  writeQueues: number;
  /** RocketMQ permission bits: 2 write, 4 read. */
  perm: number;
  /** apache.rocketmq.v2.MessageType numeric values the topic accepts. */
  messageTypes: number[];
}

/** A subscription (consumer) group's configuration. */
export interface GroupConfig {
  name: string;
  /** Deliveries before a message goes to `%DLQ%<group>` (RocketMQ: 16 retries + the first). */
  maxDeliveryAttempts: number;
  /**
   * How long a failed pop delivery stays invisible before attempt n+1: `initialMs × multiplier^(n-1)`,
   * at most `maxMs` (RocketMQ's ExponentialRetryPolicy). Sent to official clients in their Telemetry
   * settings; they apply it. Absent in groups created before it existed: the broker's default applies.
   */
  retryBackoff?: RetryBackoff;
  /**
   * FIFO consumption (RocketMQ's consumeMessageOrderly): a pop hands out nothing from a queue while
   * an earlier delivery of it is still invisible, so a message group's next message waits until the
   * previous one is acked or has run out of attempts (then dead-lettered). Absent: false.
   */
  consumeOrderly?: boolean;
}

/** An exponential retry backoff (apache.rocketmq.v2.ExponentialBackoff, in milliseconds). */
export interface RetryBackoff {
  initialMs: number;
  maxMs: number;
  multiplier: number;
}

/** Creates or replaces a topic. */
export interface PutTopicCommand {
  kind: 'topic.put';
  topic: TopicConfig;
}

/** Creates or replaces a subscription group. */
export interface PutGroupCommand {
  kind: 'group.put';
  group: GroupConfig;
}

/**
 * A pop on one queue: `offsets` (new or redelivered) become invisible until `visibleAtMs`;
 * offsets in [old popOffset, newPopOffset) that are not listed did not match the group's filter
 * and count as consumed.
 */
export interface PopCommand {
  kind: 'pop';
  group: string;
  topic: string;
  queueId: number;
  newPopOffset: number;
  offsets: number[];
  visibleAtMs: number;
}

/** Acknowledges one delivery; `handleSeq` must match the delivery's current handle. */
export interface AckCommand {
  kind: 'ack';
  group: string;
  topic: string;
  queueId: number;
  offset: number;
  handleSeq: number;
}

/** Moves one delivery's visibility time; issues a new handle (`handleSeq` + 1). */
export interface ChangeInvisibleCommand {
  kind: 'changeInvisible';
  group: string;
  topic: string;
  queueId: number;
  offset: number;
  handleSeq: number;
  visibleAtMs: number;
}

/**
 * A consumer's committed progress on one queue (pull and push consumers): every offset below
 * `offset` is consumed. Refused when `resetVersion` is older than the queue's (the consumer read
 * before an offset reset); never moves progress backwards.
 */
export interface CommitOffsetCommand {
  kind: 'offset.commit';
  group: string;
  topic: string;
  queueId: number;
  offset: number;
  resetVersion: number;
}

/**
 * Sets a group's progress on one queue to `offset`, forwards or backwards (admin reset, e.g. by
 * time): pop state restarts there, inflight deliveries are forgotten, and the queue's reset
 * version increases so that consumers holding an older position move to the new one.
 */
export interface ResetOffsetCommand {
  kind: 'offset.reset';
  group: string;
  topic: string;
  queueId: number;
  offset: number;
}

/**
 * Deletes a topic (admin `deleteTopic`): its config, its ConsumeQueues and every group's progress
 * on it. Its messages stay in the CommitLog (they age out with it); a topic created again under the
 * same name starts at offset 0.
 */
export interface DeleteTopicCommand {
  kind: 'topic.delete';
  name: string;
}

/** Deletes a subscription group (admin `deleteSubGroup`): its config and its progress on every topic. */
export interface DeleteGroupCommand {
  kind: 'group.delete';
  name: string;
}

/**
 * Drops delayed messages that can never be delivered (their real topic is gone or refuses them):
 * their timer rows (lib/store/timer-index.ts keys) are removed, in dispatch order.
 */
export interface CancelTimersCommand {
  kind: 'timer.cancel';
  rows: string[];
}

/**
 * Transactions (lib/store/transaction-table.ts keys): `txn.rollback` ends them without delivering
 * their half messages; `txn.checked` counts one transaction check of each. Applied in dispatch order.
 */
export interface TransactionCommand {
  kind: 'txn.rollback' | 'txn.checked';
  keys: string[];
  /** txn.checked: each transaction's check count after this check (absolute, so a replay sets, not adds). */
  counts?: number[];
}

/** Creates or replaces an ACL user (admin `updateUser`); every node of the group then knows it. */
export interface PutAclUserCommand {
  kind: 'acl.user.put';
  user: AclUser;
}

/** Deletes an ACL user (admin `deleteUser`); its next request is refused UNAUTHORIZED. */
export interface DeleteAclUserCommand {
  kind: 'acl.user.delete';
  accessKey: string;
}

export type MetaCommand =
  | PutTopicCommand | PutGroupCommand | DeleteTopicCommand | DeleteGroupCommand | PopCommand | AckCommand | ChangeInvisibleCommand | CommitOffsetCommand | ResetOffsetCommand
  | CancelTimersCommand | TransactionCommand | PutAclUserCommand | DeleteAclUserCommand;

const KNOWN_KINDS: ReadonlySet<string> = new Set<MetaCommand['kind']>([
  'topic.put', 'group.put', 'topic.delete', 'group.delete', 'pop', 'ack', 'changeInvisible', 'offset.commit', 'offset.reset', 'timer.cancel', 'txn.rollback', 'txn.checked', 'acl.user.put', 'acl.user.delete',
]);

const packr = new Packr({ useRecords: false, mapsAsObjects: true });

/** Encodes a batch of commands as the body of one META entry. */
export function encodeMetaCommands(commands: readonly MetaCommand[]): Buffer {
  return packr.pack(commands);
}

/**
 * Decodes a META entry body. Throws LedgerError('MESSAGE_CORRUPTED') when the body is not an
 * array of known commands (a META entry passed its CRC, so this means a bug or a newer format).
 */
export function decodeMetaCommands(body: Buffer): MetaCommand[] {
  const value: unknown = packr.unpack(body);
  if (!Array.isArray(value)) throw new LedgerError('MESSAGE_CORRUPTED', 'META entry body is not an array');
  for (const item of value as unknown[]) {
    const kind = (item as { kind?: unknown } | null)?.kind;
    if (typeof kind !== 'string' || !KNOWN_KINDS.has(kind)) {
      throw new LedgerError('MESSAGE_CORRUPTED', `unknown META command kind ${String(kind)}`);
    }
  }
  return value as MetaCommand[];
}
