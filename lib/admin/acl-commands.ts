/**
 * `ledgermq admin updateUser | deleteUser | listUsers`: ACL users, written on the leader of every
 * broker group (each replicates them through its Raft log, like updateTopic). Secret keys are
 * never printed in full. Needs an admin user's keys when the brokers enforce ACL.
 */
import { LedgerError } from '../common/errors.js';
import { parseGroupPerm, parseTopicPerm, validAclUser } from '../security/acl-user.js';
import type { AclUser, GroupPerm, TopicPerm } from '../security/acl-user.js';
import { onEveryGroup } from './update-topic.js';
import type { ChangeTarget } from './update-topic.js';

/** Deadline of one group's change. */
const CHANGE_TIMEOUT_MS = 5_000;

export interface UpdateUserOptions extends ChangeTarget {
  accessKey: string;
  secretKey: string;
  admin: boolean;
  defaultTopicPerm?: string;
  defaultGroupPerm?: string;
  /** `TOPIC=PERM` entries (PERM: DENY, PUB, SUB, PUB|SUB). */
  topicPerms: string[];
  /** `GROUP=PERM` entries (PERM: DENY, SUB). */
  groupPerms: string[];
}

/** Parses `NAME=PERM` entries with `parse`; throws LedgerError BAD_REQUEST naming a bad one. */
export function parsePermEntries<P>(entries: readonly string[], parse: (text: string) => P): Record<string, P> {
  const perms: Record<string, P> = {};
  for (const entry of entries) {
    const equals = entry.lastIndexOf('=');
    if (equals <= 0) throw new LedgerError('BAD_REQUEST', `permission ${JSON.stringify(entry)} is not NAME=PERM`);
    perms[entry.slice(0, equals)] = parse(entry.slice(equals + 1));
  }
  return perms;
}

/** Creates or replaces a user on every group; the user is checked here first, so a typo fails before any group changes. */
export function runUpdateUser(options: UpdateUserOptions): Promise<number> {
  let user: AclUser;
  try {
    user = validAclUser({
      accessKey: options.accessKey,
      secretKey: options.secretKey,
      admin: options.admin,
      defaultTopicPerm: options.defaultTopicPerm === undefined ? undefined : parseTopicPerm(options.defaultTopicPerm),
      defaultGroupPerm: options.defaultGroupPerm === undefined ? undefined : parseGroupPerm(options.defaultGroupPerm),
      topicPerms: parsePermEntries<TopicPerm>(options.topicPerms, parseTopicPerm),
      groupPerms: parsePermEntries<GroupPerm>(options.groupPerms, parseGroupPerm),
    });
  } catch (error) {
    console.error(`${error instanceof LedgerError ? error.code : 'ERROR'}: ${error instanceof Error ? error.message : String(error)}`);
    return Promise.resolve(1);
  }
  return onEveryGroup(options, async (gateway, group) => {
    await gateway.putAclUser(group, { user }, CHANGE_TIMEOUT_MS);
    return `user ${user.accessKey} ${describePerms(user)}`;
  });
}

/** Deletes a user on every group. */
export function runDeleteUser(options: ChangeTarget & { accessKey: string }): Promise<number> {
  return onEveryGroup(options, async (gateway, group) => {
    const { deleted } = await gateway.deleteAclUser(group, { accessKey: options.accessKey }, CHANGE_TIMEOUT_MS);
    return deleted ? `user ${options.accessKey} deleted` : `user ${options.accessKey} did not exist`;
  });
}

/** Lists each group's users (secret keys masked), one line each, or JSON with `json`. */
export function runListUsers(options: ChangeTarget & { json: boolean }): Promise<number> {
  return onEveryGroup(options, async (gateway, group) => {
    const { users } = await gateway.listAclUsers(group, CHANGE_TIMEOUT_MS);
    if (options.json) return JSON.stringify(users);
    if (users.length === 0) return 'no users';
    return users.map((u) => `\n  ${u.accessKey} secretKey=${u.secretKey} ${describePerms(u)}`).join('');
  });
}

/** A user's rights as shown (the wire's text or a checked AclUser). */
interface ShownPerms {
  admin: boolean;
  defaultTopicPerm: string;
  defaultGroupPerm: string;
  topicPerms: Record<string, string>;
  groupPerms: Record<string, string>;
}

function describePerms(user: ShownPerms): string {
  const list = (perms: Record<string, string>): string => Object.entries(perms).map(([name, perm]) => `${name}=${perm}`).join(',') || '-';
  return `admin=${user.admin} defaultTopicPerm=${user.defaultTopicPerm} defaultGroupPerm=${user.defaultGroupPerm} topicPerms=${list(user.topicPerms)} groupPerms=${list(user.groupPerms)}`;
}
