/**
 * ACL user changes (admin updateUser / deleteUser): proposed as META commands through the group's
 * Raft log, so every node of the group applies the same users (state-machine.ts → AclTable and
 * the MetaStore's `acl` db). Resolves once the change is applied on this node.
 */
import { LedgerError } from '../common/errors.js';
import { validAclUser } from '../security/acl-user.js';
import type { AclUser } from '../security/acl-user.js';
import type { AclTable } from './acl-table.js';
import type { CommitPipeline } from './commit-pipeline.js';

export class AclService {
  constructor(private readonly table: AclTable, private readonly pipeline: CommitPipeline) {}

  /** Creates or replaces a user. Throws LedgerError BAD_REQUEST for bad keys or permissions, NOT_LEADER on a follower. */
  async putUser(input: Partial<AclUser> & { accessKey: string; secretKey: string }): Promise<AclUser> {
    const user = validAclUser(input);
    await this.pipeline.submitMeta([{ kind: 'acl.user.put', user }]);
    return user;
  }

  /** Deletes a user; false (nothing written) when there is none. NOT_LEADER on a follower. */
  async deleteUser(accessKey: string): Promise<boolean> {
    if (!accessKey) throw new LedgerError('BAD_REQUEST', 'access_key is required');
    if (!this.table.user(accessKey)) return false;
    await this.pipeline.submitMeta([{ kind: 'acl.user.delete', accessKey }]);
    return true;
  }

  /** Every stored user (secret keys in clear: callers mask them). */
  users(): AclUser[] {
    return this.table.list();
  }
}
