import { LedgerError } from '../common/errors.js';

/** Topic names (RocketMQ's rule): letters, digits, `%`, `|`, `_`, `-`; at most 127 characters. */
export const TOPIC_NAME_PATTERN = /^[%|A-Za-z0-9_-]{1,127}$/;
/** Consumer group names: letters, digits, `%`, `|`, `_`, `-`; at most 120 characters. */
export const GROUP_NAME_PATTERN = /^[%|A-Za-z0-9_-]{1,120}$/;

/** Throws ILLEGAL_TOPIC unless `name` is a legal topic name. */
export function checkTopicName(name: string): void {
  if (!TOPIC_NAME_PATTERN.test(name)) {
    throw new LedgerError('ILLEGAL_TOPIC', `illegal topic name ${JSON.stringify(name.slice(0, 200))}: use 1-127 of [A-Za-z0-9_-%|]`);
  }
}

/** Throws ILLEGAL_CONSUMER_GROUP unless `name` is a legal group name. */
export function checkGroupName(name: string): void {
  if (!GROUP_NAME_PATTERN.test(name)) {
    throw new LedgerError('ILLEGAL_CONSUMER_GROUP', `illegal consumer group ${JSON.stringify(name.slice(0, 200))}: use 1-120 of [A-Za-z0-9_-%|]`);
  }
}
