/**
 * The ACL part of `ledgermq.v1.BrokerService` (PutAclUser, DeleteAclUser, ListAclUsers): wire ↔
 * {@link AclService}. Secret keys never leave the broker in full. Errors become statuses in {@link answer}.
 */
import { LedgerError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { BrokerServiceHandlers } from '../gen/internal/ledgermq/v1/BrokerService.js';
import { maskSecret } from '../security/acl-user.js';
import type { GroupPerm, TopicPerm } from '../security/acl-user.js';
import type { AclService } from './acl-service.js';
import { answer } from './grpc-answer.js';

/** Builds the ACL handlers. */
export function aclServiceHandlers(deps: { acl: AclService; logger: Logger }): Pick<BrokerServiceHandlers, 'PutAclUser' | 'DeleteAclUser' | 'ListAclUsers'> {
  const { logger } = deps;
  return {
    PutAclUser(call, callback) {
      answer(logger, callback, async () => {
        const wire = call.request.user;
        if (!wire) throw new LedgerError('BAD_REQUEST', 'user is required');
        const user = await deps.acl.putUser({
          accessKey: wire.accessKey,
          secretKey: wire.secretKey,
          admin: wire.admin,
          // Checked by putUser (validAclUser): the wire carries text.
          defaultTopicPerm: (wire.defaultTopicPerm || undefined) as TopicPerm | undefined,
          defaultGroupPerm: (wire.defaultGroupPerm || undefined) as GroupPerm | undefined,
          topicPerms: wire.topicPerms as Record<string, TopicPerm>,
          groupPerms: wire.groupPerms as Record<string, GroupPerm>,
        });
        logger.info({ accessKey: user.accessKey, admin: user.admin }, 'ACL user written');
        return {};
      });
    },
    DeleteAclUser(call, callback) {
      answer(logger, callback, async () => {
        const deleted = await deps.acl.deleteUser(call.request.accessKey);
        if (deleted) logger.info({ accessKey: call.request.accessKey }, 'ACL user deleted');
        return { deleted };
      });
    },
    ListAclUsers(_call, callback) {
      answer(logger, callback, () => Promise.resolve({
        users: deps.acl.users().map((user) => ({ ...user, secretKey: maskSecret(user.secretKey) })),
      }));
    },
  };
}
