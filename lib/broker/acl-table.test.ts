import { expect } from 'chai';
import { Counter, Registry } from 'prom-client';
import { createLogger } from '../common/logger.js';
import { ClusterAuth } from '../security/cluster-auth.js';
import { parseTopicPerm, validAclUser } from '../security/acl-user.js';
import { clusterHeaders, userHeaders } from '../security/request-signature.js';
import { AccessGuard } from './access-guard.js';
import { accessNeedOf } from './access-needs.js';
import { AclTable } from './acl-table.js';

const producer = validAclUser({ accessKey: 'producer1', secretKey: 'producer-secret', topicPerms: { Orders: 'PUB' }, defaultGroupPerm: 'DENY' });
const consumer = validAclUser({ accessKey: 'consumer1', secretKey: 'consumer-secret', topicPerms: { Orders: 'SUB', Hidden: 'DENY' }, groupPerms: { billing: 'SUB' }, defaultGroupPerm: 'DENY', defaultTopicPerm: 'SUB' });
const admin = validAclUser({ accessKey: 'admin-user', secretKey: 'admin-secret', admin: true });

function table(): AclTable {
  const acl = new AclTable({ accessKey: 'bootstrap', secretKey: 'bootstrap-secret' });
  for (const user of [producer, consumer, admin]) acl.put(user);
  return acl;
}

/** The outcome of `accessKey` calling `method` with `request`: 'ok' or the refusal's reason. */
function outcome(acl: AclTable, accessKey: string, method: string, request: object): string {
  const result = acl.authorize(accessKey, accessNeedOf(method, request));
  return result.ok ? 'ok' : `${result.code}/${result.reason}`;
}

describe('ACL permission table', () => {
  it('parses RocketMQ permissions and refuses others', () => {
    expect(parseTopicPerm('sub|pub')).to.equal('PUB|SUB');
    expect(parseTopicPerm('PUB')).to.equal('PUB');
    expect(() => parseTopicPerm('READ')).to.throw(/DENY, PUB, SUB/);
    expect(() => validAclUser({ accessKey: 'ab', secretKey: 'long-enough' })).to.throw(/accessKey/);
    expect(validAclUser({ accessKey: 'someone', secretKey: 'long-enough' })).to.include({ defaultTopicPerm: 'DENY', defaultGroupPerm: 'SUB', admin: false });
  });

  it('lets a producer publish only where its topic permission says', () => {
    const acl = table();
    expect(outcome(acl, 'producer1', 'SendMessages', { topic: 'Orders' })).to.equal('ok');
    expect(outcome(acl, 'producer1', 'SendMessages', { topic: 'Payments' })).to.equal('FORBIDDEN/no_topic_perm');
    expect(outcome(acl, 'producer1', 'GetTopic', { name: 'Orders' })).to.equal('ok');
    expect(outcome(acl, 'producer1', 'PopMessages', { group: 'billing', topic: 'Orders' })).to.equal('FORBIDDEN/no_group_perm');
    expect(outcome(acl, 'producer1', 'WatchTransactionChecks', { topics: ['Orders', 'Payments'] })).to.equal('FORBIDDEN/no_topic_perm');
  });

  it('needs SUB on both the group and the topic to consume; explicit entries win over defaults', () => {
    const acl = table();
    expect(outcome(acl, 'consumer1', 'PullMessages', { group: 'billing', topic: 'Orders' })).to.equal('ok');
    expect(outcome(acl, 'consumer1', 'PullMessages', { group: 'billing', topic: 'Anything' })).to.equal('ok');
    expect(outcome(acl, 'consumer1', 'PullMessages', { group: 'billing', topic: 'Hidden' })).to.equal('FORBIDDEN/no_topic_perm');
    expect(outcome(acl, 'consumer1', 'PullMessages', { group: 'other', topic: 'Orders' })).to.equal('FORBIDDEN/no_group_perm');
    expect(outcome(acl, 'consumer1', 'SendMessages', { topic: 'Orders' })).to.equal('FORBIDDEN/no_topic_perm');
    // The group's retry topic follows the group's permission.
    expect(outcome(acl, 'consumer1', 'PullMessages', { group: 'billing', topic: '%RETRY%billing' })).to.equal('ok');
    expect(outcome(acl, 'consumer1', 'PullMessages', { group: 'billing', topic: '%RETRY%other' })).to.equal('FORBIDDEN/no_topic_perm');
    expect(outcome(acl, 'consumer1', 'Heartbeat', { groups: [{ group: 'billing', subscriptions: [{ topic: 'Orders' }] }] })).to.equal('ok');
    expect(outcome(acl, 'consumer1', 'Heartbeat', { groups: [{ group: 'billing', subscriptions: [{ topic: 'Hidden' }] }] })).to.equal('FORBIDDEN/no_topic_perm');
    expect(outcome(acl, 'consumer1', 'CommitOffsets', { group: 'billing', commits: [{ topic: 'Orders' }, { topic: 'Hidden' }] })).to.equal('FORBIDDEN/no_topic_perm');
  });

  it('keeps admin operations to admins, the config-file admin included', () => {
    const acl = table();
    for (const method of ['UpdateTopic', 'DeleteGroup', 'PutAclUser', 'ListAclUsers', 'ResetOffsets', 'ChangeMembership', 'GetBrokerConfig']) {
      expect(outcome(acl, 'consumer1', method, {}), method).to.equal('FORBIDDEN/not_admin');
      expect(outcome(acl, 'admin-user', method, {}), method).to.equal('ok');
      expect(outcome(acl, 'bootstrap', method, {}), method).to.equal('ok');
    }
    expect(outcome(acl, 'consumer1', 'QueryMessages', { messageId: 'X' })).to.equal('FORBIDDEN/not_admin');
    expect(outcome(acl, 'nobody', 'SendMessages', { topic: 'Orders' })).to.equal('UNAUTHORIZED/unknown_credential');
    acl.delete('producer1');
    expect(outcome(acl, 'producer1', 'SendMessages', { topic: 'Orders' })).to.equal('UNAUTHORIZED/unknown_credential');
    expect(acl.secretKeyOf('bootstrap')).to.equal('bootstrap-secret');
  });
});

describe('access guard authentication', () => {
  const nowMs = Date.UTC(2026, 10, 22, 12, 0, 0);
  const secret = 'a-cluster-secret-of-enough-length';
  const registry = new Registry();
  const denied = new Counter({ name: 'test_acl_denied_total', help: 'test', labelNames: ['code', 'reason'] as const, registers: [registry] });
  const guard = new AccessGuard({ acl: table(), clusterAuth: new ClusterAuth(secret, 300_000, () => nowMs), maxSkewMs: () => 300_000, denied, logger: createLogger('test'), now: () => nowMs });
  const path = '/ledgermq.v1.BrokerService/SendMessages';
  const check = (headers: Record<string, string>): string => {
    const result = guard.authenticate((key) => headers[key] ?? '', path);
    return result.ok ? `${result.principal.kind}` : result.error.message;
  };

  it('accepts a fresh user signature and a cluster member, refuses the rest with a reason', async () => {
    expect(check(userHeaders('producer1', 'producer-secret', nowMs))).to.equal('user');
    expect(check(userHeaders('producer1', 'producer-secret', nowMs - 299_000))).to.equal('user');
    expect(check(clusterHeaders('proxy', secret, path, nowMs))).to.equal('member');
    expect(check({})).to.match(/not signed/);
    expect(check(userHeaders('producer1', 'wrong-secret', nowMs))).to.match(/does not match/);
    expect(check(userHeaders('nobody', 'producer-secret', nowMs))).to.match(/no user/);
    expect(check(userHeaders('producer1', 'producer-secret', nowMs - 3_600_000))).to.match(/more than 300000 ms/);
    expect(check(clusterHeaders('proxy', 'another-secret-of-enough-length', path, nowMs))).to.match(/does not match/);
    // A cluster header made for another method does not open this one.
    expect(check(clusterHeaders('proxy', secret, '/ledgermq.v1.BrokerService/UpdateTopic', nowMs))).to.match(/does not match/);
    const counted = (await denied.get()).values.map((v) => `${String(v.labels.reason)}=${v.value}`).sort();
    expect(counted).to.deep.equal(['bad_signature=3', 'missing=1', 'stale=1', 'unknown_credential=1']);
  });
});
