/**
 * What each BrokerService RPC needs of its caller under access control, read from the request's
 * fields: topics to publish to or subscribe to, consumer groups to act for, or admin rights. The
 * table covers every RPC of the service (a new RPC without an entry fails to compile), so no call
 * is left unchecked by omission.
 */
import type { BrokerServiceHandlers } from '../gen/internal/ledgermq/v1/BrokerService.js';
import type { AccessNeed } from './acl-table.js';

/** The request fields the needs are read from (every request is a plain decoded message). */
interface RequestFields {
  topic?: string;
  group?: string;
  name?: string;
  topics?: string[];
  groups?: Array<string | { group?: string; subscriptions?: Array<{ topic?: string }> }>;
  queues?: Array<{ topic?: string }>;
  commits?: Array<{ topic?: string }>;
}

type NeedOf = (request: RequestFields) => AccessNeed;

const ADMIN: NeedOf = () => ({ admin: true, topics: [], groups: [] });
const publish: NeedOf = (r) => ({ admin: false, topics: [{ topic: r.topic ?? '', action: 'PUB' }], groups: [] });
/** A consumer's call for `group` on `topic`. */
const consume: NeedOf = (r) => ({ admin: false, topics: [{ topic: r.topic ?? '', action: 'SUB' }], groups: [r.group ?? ''] });
/** A consumer's call for `group` on the topics of `list`. */
const consumeEach = (list: (r: RequestFields) => Array<{ topic?: string }> | undefined): NeedOf => (r) => ({
  admin: false, topics: distinct((list(r) ?? []).map((q) => q.topic ?? '')).map((topic) => ({ topic, action: 'SUB' as const })), groups: [r.group ?? ''],
});

/** The needs of every BrokerService RPC (see the file comment). */
export const ACCESS_NEEDS = {
  SendMessages: publish,
  EndTransaction: publish,
  RecallMessage: publish,
  WatchTransactionChecks: (r) => ({ admin: false, topics: distinct(r.topics ?? []).map((topic) => ({ topic, action: 'PUB' as const })), groups: [] }),
  PopMessages: consume,
  AckMessages: consume,
  ChangeInvisibleDuration: consume,
  ForwardToDeadLetter: consume,
  PullMessages: consume,
  // Each pull a stream carries is checked like PullMessages (access-guard.ts); opening one needs a signed caller.
  PullStream: () => ({ admin: false, topics: [], groups: [] }),
  SendMessageBack: consume,
  QueryOffsets: consume,
  LockQueues: consumeEach((r) => r.queues),
  UnlockQueues: consumeEach((r) => r.queues),
  CommitOffsets: consumeEach((r) => r.commits),
  Heartbeat: (r) => {
    const beats = (r.groups ?? []).filter((g) => typeof g !== 'string');
    return {
      admin: false,
      topics: distinct(beats.flatMap((g) => (g.subscriptions ?? []).map((s) => s.topic ?? ''))).map((topic) => ({ topic, action: 'SUB' as const })),
      groups: distinct(beats.map((g) => g.group ?? '')),
    };
  },
  UnregisterClient: (r) => ({ admin: false, topics: [], groups: distinct((r.groups ?? []).filter((g): g is string => typeof g === 'string')) }),
  GetTopic: (r) => ({ admin: false, topics: [{ topic: r.name ?? '', action: 'ANY' }], groups: [] }),
  GetGroup: (r) => ({ admin: false, topics: [], groups: [r.name ?? ''] }),
  // A query by message id alone may return any topic's messages: admin.
  QueryMessages: (r) => (r.topic ? { admin: false, topics: [{ topic: r.topic, action: 'SUB' }], groups: [] } : ADMIN(r)),
  UpdateTopic: ADMIN,
  DeleteTopic: ADMIN,
  UpdateGroup: ADMIN,
  DeleteGroup: ADMIN,
  ResetOffsets: ADMIN,
  TransferLeadership: ADMIN,
  GetBrokerConfig: ADMIN,
  UpdateBrokerConfig: ADMIN,
  ChangeMembership: ADMIN,
  GetTopicStatus: ADMIN,
  ListConsumers: ADMIN,
  PutAclUser: ADMIN,
  DeleteAclUser: ADMIN,
  ListAclUsers: ADMIN,
} satisfies Record<keyof BrokerServiceHandlers, NeedOf>;

/** The needs of a call of `method` with `request`; admin rights for a method the table does not know. */
export function accessNeedOf(method: string, request: unknown): AccessNeed {
  const needOf = (ACCESS_NEEDS as Record<string, NeedOf | undefined>)[method] ?? ADMIN;
  return needOf(request ?? {});
}

function distinct(values: string[]): string[] {
  return [...new Set(values)];
}
