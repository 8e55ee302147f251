/**
 * Access control with AccessKey/SecretKey (real processes, a 3-node group with `aclEnabled` and a
 * config-file admin): the admin CLI needs admin keys; users created with it are stored through the
 * group's Raft log (they survive a leader's SIGKILL); our client is allowed exactly what its user's
 * permissions say (FORBIDDEN otherwise); unsigned, wrongly signed and stale calls are UNAUTHORIZED;
 * every refusal is counted in `ledgermq_acl_denied_total`. Official clients go through the Proxy,
 * which forwards their signature to the brokers: refused without keys, with wrong keys, a stale
 * date or no permission, served with the right ones.
 */
import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import { Producer as OfficialProducer, SimpleConsumer } from 'rocketmq-client-nodejs';
import type { HeartbeatResponse__Output } from '../lib/gen/v2/apache/rocketmq/v2/HeartbeatResponse.js';
import type { TelemetryCommand__Output } from '../lib/gen/v2/apache/rocketmq/v2/TelemetryCommand.js';
import { loadV2 } from '../lib/protocol/proto-definitions.js';
import { signingOptions } from '../lib/security/signing-interceptor.js';
import type { LocalCluster } from '../lib/cluster/local-cluster.js';
import { BrokerGateway } from '../lib/client/broker-gateway.js';
import { ClientContext } from '../lib/client/client-context.js';
import { NameServerRoutes } from '../lib/client/name-server-routes.js';
import { Producer } from '../lib/client/producer.js';
import { PushConsumer } from '../lib/client/push-consumer.js';
import { LedgerError } from '../lib/common/errors.js';
import { NameServerClient } from '../lib/namesrv/name-server-client.js';
import { userHeaders } from '../lib/security/request-signature.js';
import { parseExposition } from './metrics-scraper.js';
import { adminCli, killLeaderAndRestart, outcomeCode, startCluster, waitFor } from './cluster-helpers.js';
import type { Closable } from './cluster-helpers.js';

const ADMIN = { accessKey: 'rootAdmin', secretKey: 'root-admin-secret' };
const PRODUCER = { accessKey: 'orderWriter', secretKey: 'order-writer-secret' };
const CONSUMER = { accessKey: 'orderReader', secretKey: 'order-reader-secret' };
/** Allowed in group `billing` but on no topic (topics default to DENY). */
const STRANGER = { accessKey: 'strangerOne', secretKey: 'stranger-secret' };

describe('access control: AccessKey/SecretKey users and permissions (real processes)', function () {
  this.timeout(240_000);
  let cluster: LocalCluster & { dispose: () => Promise<void> };
  const owned: Closable[] = [];

  before(async () => {
    cluster = await startCluster({
      nodes: 3,
      brokerOverrides: { aclEnabled: true, aclAdminAccessKey: ADMIN.accessKey, aclAdminSecretKey: ADMIN.secretKey },
    });
  });

  after(async () => {
    for (const client of owned.splice(0)) await client.shutdown().catch(() => undefined);
    await cluster?.dispose();
  });

  const asAdmin = (...args: string[]): string[] => [...args, '--access-key', ADMIN.accessKey, '--secret-key', ADMIN.secretKey];

  /** `ledgermq_acl_denied_total{code,reason}` summed over the group's nodes. */
  async function deniedTotal(code: string, reason: string): Promise<number> {
    let total = 0;
    for (const node of cluster.nodes) {
      const text = await fetch(`http://${node.http}/metrics`).then((r) => r.text(), () => '');
      total += parseExposition(text).filter((s) => s.labels.__name__ === 'ledgermq_acl_denied_total' && s.labels.code === code && s.labels.reason === reason).reduce((sum, s) => sum + s.value, 0);
    }
    return total;
  }

  it('refuses the admin CLI without keys or with wrong keys, and takes the config-file admin', async () => {
    const unsigned = await adminCli(cluster, 'updateTopic', '-t', 'AclOrders');
    expect(unsigned.code, unsigned.stdout).to.equal(1);
    expect(unsigned.stderr).to.match(/UNAUTHORIZED: the call is not signed/);
    const wrong = await adminCli(cluster, 'updateTopic', '-t', 'AclOrders', '--access-key', ADMIN.accessKey, '--secret-key', 'not-the-admin-secret');
    expect(wrong.code).to.equal(1);
    expect(wrong.stderr).to.match(/UNAUTHORIZED: the signature does not match/);

    for (const topic of ['AclOrders', 'AclPayments']) {
      const created = await adminCli(cluster, ...asAdmin('updateTopic', '-t', topic, '-r', '2', '-w', '2'));
      expect(created.code, created.stderr).to.equal(0);
    }
    const users = [
      ['-a', PRODUCER.accessKey, '-s', PRODUCER.secretKey, '--topic-perm', 'AclOrders=PUB'],
      ['-a', CONSUMER.accessKey, '-s', CONSUMER.secretKey, '--topic-perm', 'AclOrders=SUB', '--group-perm', 'billing=SUB', '--default-group-perm', 'DENY'],
      ['-a', STRANGER.accessKey, '-s', STRANGER.secretKey, '--group-perm', 'billing=SUB'],
    ];
    for (const user of users) {
      const result = await adminCli(cluster, ...asAdmin('updateUser', ...user));
      expect(result.code, result.stderr).to.equal(0);
    }
    const listed = await adminCli(cluster, ...asAdmin('listUsers'));
    expect(listed.code, listed.stderr).to.equal(0);
    expect(listed.stdout).to.include(`${PRODUCER.accessKey} secretKey=or****(19 chars)`);
    expect(listed.stdout).not.to.include(PRODUCER.secretKey);
    // The config-file admin's secret is never shown.
    const config = await adminCli(cluster, ...asAdmin('getBrokerConfig', '-b', cluster.description.groups[0].name, '-k', 'aclAdminSecretKey', '-o', 'json'));
    expect(config.code, config.stderr).to.equal(0);
    expect(config.stdout).to.include('ro****(17 chars)');
    expect(config.stdout).not.to.include(ADMIN.secretKey);
    // A user without admin rights may not manage users.
    const notAdmin = await adminCli(cluster, 'listUsers', '--access-key', PRODUCER.accessKey, '--secret-key', PRODUCER.secretKey);
    expect(notAdmin.code).to.equal(1);
    expect(notAdmin.stderr).to.match(/FORBIDDEN: orderWriter is not an admin/);
  });

  it('lets our client publish where the user may and answers FORBIDDEN elsewhere', async () => {
    const producer = new Producer({ nameServers: cluster.description.namesrv, credentials: PRODUCER, batching: false, retries: 0 });
    owned.push({ shutdown: () => Promise.resolve(producer.shutdown()) });
    const sent = await producer.send({ topic: 'AclOrders', body: 'order-1' });
    expect(sent.messageId).to.be.a('string');
    const before = await deniedTotal('FORBIDDEN', 'no_topic_perm');
    expect(await outcomeCode(producer.send({ topic: 'AclPayments', body: 'payment-1' }))).to.equal('FORBIDDEN');
    expect(await deniedTotal('FORBIDDEN', 'no_topic_perm')).to.be.greaterThan(before);
  });

  it('delivers to a consumer with SUB and refuses one without it, per pull on the PullStream too', async () => {
    const received: string[] = [];
    const consumer = new PushConsumer({
      nameServers: cluster.description.namesrv, credentials: CONSUMER, group: 'billing', consumeFrom: 'FIRST_OFFSET',
      listener: (messages) => {
        for (const m of messages) received.push(m.body.toString());
        return 'SUCCESS';
      },
    }).subscribe('AclOrders', '*');
    owned.push(consumer);
    await consumer.start();
    await waitFor('order-1 consumed by the allowed user', () => received.includes('order-1'), 60_000);

    const errors: unknown[] = [];
    const refused = new PushConsumer({
      nameServers: cluster.description.namesrv, credentials: STRANGER, group: 'billing', consumeFrom: 'FIRST_OFFSET',
      listener: () => 'SUCCESS', onError: (error) => errors.push(error),
    }).subscribe('AclOrders', '*');
    owned.push(refused);
    await refused.start().catch((error: unknown) => errors.push(error));
    await waitFor('a FORBIDDEN error for the user without SUB', () => errors.some((e) => e instanceof LedgerError && e.code === 'FORBIDDEN'), 30_000);

    // A pull on the shared PullStream is checked on its own: the stream stays usable for allowed pulls.
    const context = new ClientContext({ nameServers: cluster.description.namesrv, credentials: STRANGER });
    try {
      const group = cluster.description.groups[0].name;
      const pull = { group: 'billing', topic: 'AclOrders', queueId: 0, offset: 0, maxMessages: 1, pollTimeoutMs: 0 };
      expect(await outcomeCode(context.gateway.pull(group, pull, 5_000))).to.equal('FORBIDDEN');
      // The group's retry topic follows the group's permission: past the ACL (it may not exist yet).
      expect(['OK', 'TOPIC_NOT_FOUND']).to.include(await outcomeCode(context.gateway.pull(group, { ...pull, topic: '%RETRY%billing' }, 5_000)));
      expect(await outcomeCode(context.gateway.popMessages(group, { group: 'billing', topic: 'AclOrders', queueId: -1, maxMessages: 1, invisibleMs: 10_000, pollTimeoutMs: 0 }, 5_000))).to.equal('FORBIDDEN');
    } finally {
      context.close();
    }
  });

  it('refuses a signature dated an hour ago and an unknown AccessKey as UNAUTHORIZED, and counts them', async () => {
    const names = new NameServerClient(cluster.description.namesrv);
    const routes = new NameServerRoutes(names);
    const stale = new BrokerGateway(routes, undefined, () => userHeaders(PRODUCER.accessKey, PRODUCER.secretKey, Date.now() - 3_600_000));
    const unknown = new BrokerGateway(routes, undefined, () => userHeaders('nobodyHere', PRODUCER.secretKey, Date.now()));
    const group = cluster.description.groups[0].name;
    try {
      const staleBefore = await deniedTotal('UNAUTHORIZED', 'stale');
      const error = await stale.sendMessages(group, { topic: 'AclOrders', queueId: 0, messages: [] }, 5_000).then(() => null, (e: unknown) => e);
      expect(error).to.be.instanceOf(LedgerError);
      expect((error as LedgerError).code).to.equal('UNAUTHORIZED');
      expect((error as LedgerError).message).to.match(/more than 300000 ms/);
      expect(await deniedTotal('UNAUTHORIZED', 'stale')).to.be.greaterThan(staleBefore);
      expect(await outcomeCode(unknown.getTopic(group, { name: 'AclOrders' }, 5_000))).to.equal('UNAUTHORIZED');
      expect(await deniedTotal('UNAUTHORIZED', 'unknown_credential')).to.be.greaterThan(0);
      expect(await deniedTotal('UNAUTHORIZED', 'missing')).to.be.greaterThan(0);
      expect(await deniedTotal('UNAUTHORIZED', 'bad_signature')).to.be.greaterThan(0);
    } finally {
      stale.close();
      unknown.close();
      names.close();
    }
  });

  it('refuses the official client (through the Proxy) without keys, with wrong keys, a stale date or no permission; with the right ones it works', async () => {
    const endpoints = cluster.description.accessPoint;
    const official = async (credentials?: { accessKey: string; secretKey: string }): Promise<OfficialProducer> => {
      const producer = new OfficialProducer({
        endpoints, namespace: '', topics: ['AclOrders'], maxAttempts: 1,
        sessionCredentials: credentials ? { accessKey: credentials.accessKey, accessSecret: credentials.secretKey } : undefined,
      });
      await producer.startup();
      owned.push(producer);
      return producer;
    };
    const codeOf = (operation: Promise<unknown>): Promise<string> => operation.then(() => 'OK', (error: { code?: number; message?: string }) => (error.code === undefined ? String(error.message) : String(error.code)));
    const send = (producer: OfficialProducer, body: string): Promise<unknown> => producer.send({ topic: 'AclOrders', body: Buffer.from(body) });

    /** The status codes along an error's cause chain (the official client wraps the Proxy's answer). */
    const codesOf = (error: unknown): string[] => {
      const codes: string[] = [];
      for (let e = error as { code?: number; cause?: unknown } | undefined; e; e = e.cause as typeof e) if (e.code !== undefined) codes.push(String(e.code));
      return codes;
    };
    const startupCodes = (credentials?: { accessKey: string; secretKey: string }): Promise<string[]> => official(credentials).then(() => ['OK'], codesOf);
    // The Proxy checks the client's signature from its first call: QueryRoute at startup.
    expect(await startupCodes()).to.include('40100');
    expect(await startupCodes({ ...PRODUCER, secretKey: 'not-the-right-secret' })).to.include('40100');
    expect(await codeOf(send(await official(CONSUMER), 'no-pub-permission'))).to.equal('40300');
    expect(await codeOf(send(await official(PRODUCER), 'through-the-proxy'))).to.equal('OK');

    const consumer = new SimpleConsumer({
      endpoints, namespace: '', consumerGroup: 'billing', subscriptions: new Map([['AclOrders', '*']]), awaitDuration: 2000,
      sessionCredentials: { accessKey: CONSUMER.accessKey, accessSecret: CONSUMER.secretKey },
    });
    await consumer.startup();
    owned.push(consumer);
    const received = new Set<string>();
    await waitFor('the proxied message received by the allowed user', async () => {
      for (const message of await consumer.receive(16, 10_000)) {
        received.add(message.body.toString());
        await consumer.ack(message);
      }
      return received.has('through-the-proxy');
    }, 60_000);

    // A stale date: the Proxy forwards the client's headers and the broker refuses them.
    const MessagingService = loadV2().apache.rocketmq.v2.MessagingService;
    const stale = new MessagingService(endpoints, grpc.credentials.createInsecure(), signingOptions(() => userHeaders(CONSUMER.accessKey, CONSUMER.secretKey, Date.now() - 3_600_000)));
    try {
      const response = await new Promise<HeartbeatResponse__Output>((resolve, reject) => {
        stale.Heartbeat({ group: { name: 'billing' }, clientType: 'SIMPLE_CONSUMER' }, { deadline: Date.now() + 10_000 }, (error, answer) => (error || !answer ? reject(error ?? new Error('no response')) : resolve(answer)));
      });
      expect(response.status?.code).to.equal('UNAUTHORIZED');
      expect(response.status?.message).to.match(/more than 300000 ms/);
    } finally {
      stale.close();
    }

    // A Telemetry session without keys is refused, and the group it names is not created.
    const unsigned = new MessagingService(endpoints, grpc.credentials.createInsecure());
    try {
      const session = unsigned.Telemetry();
      const first = new Promise<TelemetryCommand__Output>((resolve, reject) => {
        session.once('data', resolve);
        session.once('error', reject);
      });
      session.write({ settings: { clientType: 'SIMPLE_CONSUMER', subscription: { group: { name: 'sneakyGroup' }, subscriptions: [{ topic: { name: 'AclOrders' } }] } } });
      expect((await first).status?.code).to.equal('UNAUTHORIZED');
      session.end();
    } finally {
      unsigned.close();
    }
    const context = new ClientContext({ nameServers: cluster.description.namesrv, credentials: ADMIN });
    try {
      const lookup = context.gateway.getGroup(cluster.description.groups[0].name, { name: 'sneakyGroup', autoCreate: false }, 5_000);
      expect(await outcomeCode(lookup)).to.equal('CONSUMER_GROUP_NOT_FOUND');
    } finally {
      context.close();
    }
  });

  it('keeps users through a leader SIGKILL: they are in every node\'s log', async () => {
    const killed = await killLeaderAndRestart(cluster);
    const leader = await waitFor('a leader', () => cluster.leaderId().then((id) => id ?? undefined));
    const producer = new Producer({ nameServers: cluster.description.namesrv, credentials: PRODUCER, batching: false, requestTimeoutMs: 10_000 });
    owned.push({ shutdown: () => Promise.resolve(producer.shutdown()) });
    await waitFor('a send accepted after the failover', () => outcomeCode(producer.send({ topic: 'AclOrders', body: 'after-failover' })).then((code) => code === 'OK' || undefined), 60_000);
    expect(await outcomeCode(producer.send({ topic: 'AclPayments', body: 'still-forbidden' }))).to.equal('FORBIDDEN');
    // The killed node has its users back (from its store and log), as every member does.
    const context = new ClientContext({ nameServers: cluster.description.namesrv, credentials: ADMIN });
    try {
      const address = cluster.nodes.find((n) => n.id === killed)?.broker ?? '';
      const users = await waitFor(`${killed} answering ListAclUsers`, () => context.gateway.listAclUsersAt(address, 5_000).then((r) => r.users, () => undefined), 30_000);
      expect(users.map((u) => u.accessKey).sort()).to.deep.equal([CONSUMER.accessKey, PRODUCER.accessKey, STRANGER.accessKey].sort());
    } finally {
      context.close();
    }
    expect(leader).to.not.equal('');
  });
});
