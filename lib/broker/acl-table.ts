/**
 * The node's ACL users as applied from the log (`acl.user.put` / `acl.user.delete`, loaded from
 * the MetaStore at startup), plus the config-file admin (`aclAdminAccessKey`), which is never in
 * the log. {@link AclTable.authorize} is the one place a request's needs are weighed against a
 * user's permissions.
 */
import type { AclUser } from '../security/acl-user.js';
import { topicPermAllows } from '../security/acl-user.js';

/** What a request needs, derived from its RPC and fields (see access-needs.ts). */
export interface AccessNeed {
  /** Admin operations: topic/group/user changes, config, membership, offset resets. */
  admin: boolean;
  /** Topics and the action on each (`ANY`: publish or subscribe is enough). */
  topics: Array<{ topic: string; action: 'PUB' | 'SUB' | 'ANY' }>;
  /** Consumer groups the request acts for (SUB needed). */
  groups: string[];
}

/** Outcome of {@link AclTable.authorize}. */
export type Authorization = { ok: true } | { ok: false; code: 'UNAUTHORIZED' | 'FORBIDDEN'; reason: string; detail: string };

const RETRY_PREFIX = '%RETRY%';
const DLQ_PREFIX = '%DLQ%';

/** See the file comment. */
export class AclTable {
  private readonly users = new Map<string, AclUser>();

  /** `bootstrapAdmin`: the config file's admin, or null. It wins over a stored user of the same AccessKey. */
  constructor(private readonly bootstrapAdmin: { accessKey: string; secretKey: string } | null = null) {}

  /** Applies a committed `acl.user.put` (create or replace). */
  put(user: AclUser): void {
    this.users.set(user.accessKey, user);
  }

  /** Applies a committed `acl.user.delete`; false when there was no such user. */
  delete(accessKey: string): boolean {
    return this.users.delete(accessKey);
  }

  /** A stored user (the bootstrap admin is not one). */
  user(accessKey: string): AclUser | undefined {
    return this.users.get(accessKey);
  }

  /** Every stored user, by AccessKey. */
  list(): AclUser[] {
    return [...this.users.values()].sort((a, b) => a.accessKey.localeCompare(b.accessKey));
  }

  /** The SecretKey that signs `accessKey`'s requests, or null for an unknown AccessKey. */
  secretKeyOf(accessKey: string): string | null {
    if (this.bootstrapAdmin !== null && accessKey === this.bootstrapAdmin.accessKey) return this.bootstrapAdmin.secretKey;
    return this.users.get(accessKey)?.secretKey ?? null;
  }

  /**
   * Whether the (already authenticated) `accessKey` may do what `need` asks: admins may do
   * everything; others need SUB on every group, and on every topic the action asked (an explicit
   * topic or group entry wins over the user's default). A retry or dead-letter topic
   * (`%RETRY%G`, `%DLQ%G`) is governed by group G's permission, as in RocketMQ. A user deleted
   * since the call was authenticated answers UNAUTHORIZED.
   */
  authorize(accessKey: string, need: AccessNeed): Authorization {
    if (this.bootstrapAdmin !== null && accessKey === this.bootstrapAdmin.accessKey) return { ok: true };
    const user = this.users.get(accessKey);
    if (!user) return { ok: false, code: 'UNAUTHORIZED', reason: 'unknown_credential', detail: `no user with AccessKey ${accessKey}` };
    if (user.admin) return { ok: true };
    if (need.admin) return { ok: false, code: 'FORBIDDEN', reason: 'not_admin', detail: `${accessKey} is not an admin` };
    for (const group of need.groups) {
      if (!groupAllowed(user, group)) return { ok: false, code: 'FORBIDDEN', reason: 'no_group_perm', detail: `${accessKey} may not consume as group ${group}` };
    }
    for (const { topic, action } of need.topics) {
      const ownerGroup = groupOfSystemTopic(topic);
      const allowed = ownerGroup !== null ? groupAllowed(user, ownerGroup) : topicPermAllows(user.topicPerms[topic] ?? user.defaultTopicPerm, action);
      if (!allowed) {
        const verb = action === 'PUB' ? 'publish to' : action === 'SUB' ? 'subscribe to' : 'use';
        return { ok: false, code: 'FORBIDDEN', reason: 'no_topic_perm', detail: `${accessKey} may not ${verb} topic ${topic}` };
      }
    }
    return { ok: true };
  }
}

function groupAllowed(user: AclUser, group: string): boolean {
  return (user.groupPerms[group] ?? user.defaultGroupPerm) === 'SUB';
}

/** G of `%RETRY%G` or `%DLQ%G`; null for another topic. */
function groupOfSystemTopic(topic: string): string | null {
  if (topic.startsWith(RETRY_PREFIX)) return topic.slice(RETRY_PREFIX.length);
  if (topic.startsWith(DLQ_PREFIX)) return topic.slice(DLQ_PREFIX.length);
  return null;
}
