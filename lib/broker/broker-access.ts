/**
 * Access-control wiring of a broker node (kept out of broker-node.ts): the ACL table loaded from
 * the MetaStore with the config-file admin, and the guard put in front of the BrokerService
 * handlers when `aclEnabled`.
 */
import { Counter } from 'prom-client';
import type { Registry } from 'prom-client';
import type { Logger } from '../common/logger.js';
import { loadInternal } from '../protocol/proto-definitions.js';
import type { ClusterAuth } from '../security/cluster-auth.js';
import type { MetaStore } from '../store/meta-store.js';
import { AccessGuard } from './access-guard.js';
import { AclTable } from './acl-table.js';
import type { BrokerConfig } from './broker-config.js';

/** The node's ACL table: the users the MetaStore holds, and the config file's admin. */
export function loadAclTable(config: BrokerConfig, metaStore: MetaStore): AclTable {
  const admin = config.aclAdminAccessKey ? { accessKey: config.aclAdminAccessKey, secretKey: config.aclAdminSecretKey } : null;
  const table = new AclTable(admin);
  for (const user of metaStore.aclUsers()) table.put(user);
  return table;
}

/**
 * `handlers` behind an {@link AccessGuard} when `config.aclEnabled`, else unchanged. Registers
 * `ledgermq_acl_denied_total{code,reason}` on `registry` either way (it stays 0 without ACL).
 */
export function withAccessControl<T extends object>(handlers: T, deps: {
  config: BrokerConfig;
  acl: AclTable;
  clusterAuth: ClusterAuth | null;
  registry: Registry;
  logger: Logger;
}): T {
  const denied = new Counter({
    name: 'ledgermq_acl_denied_total',
    help: 'BrokerService calls refused by access control: code UNAUTHORIZED (not authenticated) or FORBIDDEN (no permission), and why',
    labelNames: ['code', 'reason'] as const,
    registers: [deps.registry],
  });
  const { config, logger } = deps;
  if (!config.aclEnabled) return handlers;
  if (!config.aclAdminAccessKey) logger.warn('aclEnabled without aclAdminAccessKey: only users already in the log (and cluster members) can call this broker');
  if (deps.clusterAuth === null) logger.warn('aclEnabled without clusterSecretFile: the Proxy cannot sign its calls, so official clients are refused');
  logger.info({ users: deps.acl.list().length }, 'access control on: BrokerService calls must be signed');
  const guard = new AccessGuard({ acl: deps.acl, clusterAuth: deps.clusterAuth, maxSkewMs: () => config.authMaxSkewMs, denied, logger });
  const definition = loadInternal().ledgermq.v1.BrokerService.service as unknown as Record<string, { path: string; requestStream: boolean; responseStream: boolean }>;
  return guard.guardHandlers(handlers, definition);
}
