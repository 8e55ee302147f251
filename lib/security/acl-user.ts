/**
 * ACL users after RocketMQ's plain ACL (`plain_acl.yml`): an AccessKey/SecretKey pair, an admin
 * flag, default permissions and per-topic / per-group permissions. The shape stored in META
 * commands, in the MetaStore and on the wire of the admin RPCs. Pure: no I/O.
 */
import { LedgerError } from '../common/errors.js';

/** A topic permission: RocketMQ's `DENY`, `PUB`, `SUB`, `PUB|SUB`. */
export type TopicPerm = 'DENY' | 'PUB' | 'SUB' | 'PUB|SUB';
/** A consumer group permission: `DENY` or `SUB`. */
export type GroupPerm = 'DENY' | 'SUB';

/** One user. `secretKey` is kept in clear: verifying an HMAC signature needs it. */
export interface AclUser {
  accessKey: string;
  secretKey: string;
  /** Every permission, plus the admin operations (topic/group/user changes, config, membership). */
  admin: boolean;
  /** Applies to topics without an entry in `topicPerms` (RocketMQ's defaultTopicPerm). */
  defaultTopicPerm: TopicPerm;
  /** Applies to groups without an entry in `groupPerms` (RocketMQ's defaultGroupPerm). */
  defaultGroupPerm: GroupPerm;
  topicPerms: Record<string, TopicPerm>;
  groupPerms: Record<string, GroupPerm>;
}

/** RocketMQ's defaults: topics closed, groups open to subscribe. */
export const DEFAULT_TOPIC_PERM: TopicPerm = 'DENY';
export const DEFAULT_GROUP_PERM: GroupPerm = 'SUB';

/** AccessKey / SecretKey bounds (RocketMQ asks for at least 6 characters). */
export const MIN_KEY_LENGTH = 6;
export const MAX_KEY_LENGTH = 128;
const KEY_PATTERN = /^[A-Za-z0-9_\-.@+/=]+$/;

/** Parses a topic permission (case-insensitive, `SUB|PUB` accepted); throws LedgerError BAD_REQUEST. */
export function parseTopicPerm(text: string): TopicPerm {
  const parts = new Set(text.toUpperCase().split('|').map((p) => p.trim()).filter(Boolean));
  if (parts.size === 1 && parts.has('DENY')) return 'DENY';
  if (parts.size > 0 && [...parts].every((p) => p === 'PUB' || p === 'SUB')) {
    return parts.size === 2 ? 'PUB|SUB' : (parts.has('PUB') ? 'PUB' : 'SUB');
  }
  throw new LedgerError('BAD_REQUEST', `topic permission ${JSON.stringify(text)} is not DENY, PUB, SUB or PUB|SUB`);
}

/** Parses a group permission (case-insensitive); throws LedgerError BAD_REQUEST. */
export function parseGroupPerm(text: string): GroupPerm {
  const upper = text.toUpperCase().trim();
  if (upper === 'DENY' || upper === 'SUB') return upper;
  throw new LedgerError('BAD_REQUEST', `group permission ${JSON.stringify(text)} is not DENY or SUB`);
}

/** Whether a topic permission allows `action` (`ANY`: publish or subscribe). */
export function topicPermAllows(perm: TopicPerm, action: 'PUB' | 'SUB' | 'ANY'): boolean {
  if (perm === 'DENY') return false;
  return action === 'ANY' || perm === 'PUB|SUB' || perm === action;
}

/**
 * Checks a user's fields and fills absent defaults; throws LedgerError BAD_REQUEST naming the
 * first bad field. Keys: 6..128 characters of `A-Z a-z 0-9 _ - . @ + / =`.
 */
export function validAclUser(input: Partial<AclUser> & { accessKey: string; secretKey: string }): AclUser {
  for (const [field, value] of [['accessKey', input.accessKey], ['secretKey', input.secretKey]] as const) {
    if (typeof value !== 'string' || value.length < MIN_KEY_LENGTH || value.length > MAX_KEY_LENGTH || !KEY_PATTERN.test(value)) {
      throw new LedgerError('BAD_REQUEST', `${field} must be ${MIN_KEY_LENGTH}..${MAX_KEY_LENGTH} characters of A-Z a-z 0-9 _ - . @ + / =`);
    }
  }
  const topicPerms: Record<string, TopicPerm> = {};
  for (const [topic, perm] of Object.entries(input.topicPerms ?? {})) {
    if (!topic) throw new LedgerError('BAD_REQUEST', 'a topic permission needs a topic name');
    topicPerms[topic] = parseTopicPerm(perm);
  }
  const groupPerms: Record<string, GroupPerm> = {};
  for (const [group, perm] of Object.entries(input.groupPerms ?? {})) {
    if (!group) throw new LedgerError('BAD_REQUEST', 'a group permission needs a group name');
    groupPerms[group] = parseGroupPerm(perm);
  }
  return {
    accessKey: input.accessKey,
    secretKey: input.secretKey,
    admin: input.admin === true,
    defaultTopicPerm: input.defaultTopicPerm ? parseTopicPerm(input.defaultTopicPerm) : DEFAULT_TOPIC_PERM,
    defaultGroupPerm: input.defaultGroupPerm ? parseGroupPerm(input.defaultGroupPerm) : DEFAULT_GROUP_PERM,
    topicPerms,
    groupPerms,
  };
}

/** A SecretKey as it may be shown (listUsers, logs): its first 2 characters and its length. */
export function maskSecret(secretKey: string): string {
  return `${secretKey.slice(0, 2)}****(${secretKey.length} chars)`;
}
