import { expect } from 'chai';
import { Registry } from 'prom-client';
import { LedgerError } from '../common/errors.js';
import { silentLogger } from '../common/logger.js';
import { StatusCode } from '../common/status-codes.js';
import type { BrokerRegistration } from '../gen/internal/ledgermq/v1/BrokerRegistration.js';
import { BrokerRegistrar } from './broker-registrar.js';
import { NameServer } from './name-server.js';
import { NameServerClient } from './name-server-client.js';
import { NameServiceStub } from './name-service-stub.js';
import type { TopicRoute } from './route-table.js';

/**
 * Polls `probe` until it returns a value other than `undefined` (or stops throwing), and returns
 * it; fails with the last problem once `timeoutMs` has passed.
 */
async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastProblem: unknown = 'no value yet';
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error: unknown) {
      lastProblem = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${String(lastProblem)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function expectRejection(promise: Promise<unknown>, code: string): Promise<LedgerError> {
  try {
    await promise;
  } catch (error: unknown) {
    expect(error).to.be.instanceOf(LedgerError);
    expect((error as LedgerError).code, (error as Error).message).to.equal(code);
    return error as LedgerError;
  }
  expect.fail(`expected a rejection with ${code}`);
}

/** The registration a broker node would report; mutable so a test can change role or topics. */
function nodeState(nodeId: string, port: number): BrokerRegistration {
  return {
    cluster: 'test-cluster',
    group: 'g1',
    nodeId,
    brokerAddress: `127.0.0.1:${port}`,
    role: 'follower',
    term: 1,
    leaderId: '',
    leaderAddress: '',
    topics: [{ name: 'orders', readQueues: 8, writeQueues: 8, perm: 6 }],
  };
}

function leaderOf(route: TopicRoute): string {
  return route.groups.map((group) => `${group.group}:${group.leaderId}`).join(',');
}

describe('NameServer over gRPC', function () {
  this.timeout(20_000);
  const logger = silentLogger();
  const closers: Array<() => Promise<void> | void> = [];

  async function startNameServer(options: { clock?: () => number; scanIntervalMs?: number } = {}): Promise<{ server: NameServer; registry: Registry }> {
    const registry = new Registry();
    const server = await NameServer.start({ host: '127.0.0.1', port: 0, registry, logger, ...options });
    closers.push(() => server.close());
    return { server, registry };
  }

  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  it('serves routes registered by BrokerRegistrars to a NameServerClient, and fails over when a NameServer closes', async () => {
    const first = await startNameServer();
    const second = await startNameServer();
    expect(first.server.address).to.match(/^127\.0\.0\.1:\d+$/);
    expect(first.server.address).to.not.equal('127.0.0.1:0');
    const addresses = [first.server.address, second.server.address];

    const states = [nodeState('n1', 20001), nodeState('n2', 20002)];
    const registrars = states.map(
      (state) => new BrokerRegistrar({ nameServerAddresses: addresses, registration: () => state, logger, intervalMs: 60_000, callTimeoutMs: 500 }),
    );
    for (const registrar of registrars) {
      closers.push(() => registrar.stop());
      registrar.start();
    }
    const client = new NameServerClient(addresses, { callTimeoutMs: 500 });
    closers.push(() => client.close());

    // Both NameServers get both nodes (a node registers with every NameServer).
    for (const { server } of [first, second]) {
      await waitFor('both nodes registered', () => (server.routeTable.brokers().length === 2 ? true : undefined));
    }
    let route = await client.getRoute('orders');
    expect(route.groups).to.have.length(1);
    expect(route.groups[0].nodes.map((node) => node.brokerAddress)).to.deep.equal(['127.0.0.1:20001', '127.0.0.1:20002']);
    expect(route.groups[0].leaderId, 'no node claims leadership yet').to.equal('');

    // A role change is pushed at once (the 60 s interval would be far too late).
    Object.assign(states[0], { role: 'leader', term: 2 });
    Object.assign(states[1], { term: 2, leaderId: 'n1', leaderAddress: '127.0.0.1:20001' });
    for (const registrar of registrars) registrar.notifyChange();
    route = await waitFor('n1 routed as leader', async () => {
      const candidate = await client.getRoute('orders');
      return leaderOf(candidate) === 'g1:n1' ? candidate : undefined;
    });
    expect(route.groups[0].leaderAddress).to.equal('127.0.0.1:20001');

    const brokers = await client.getClusterInfo();
    expect(brokers.map((broker) => [broker.nodeId, broker.role, broker.term])).to.deep.equal([
      ['n1', 'leader', 2],
      ['n2', 'follower', 2],
    ]);
    expect(brokers[0].lastHeartbeatMs).to.be.a('number').and.to.be.greaterThan(0);
    expect(first.server.statusJson()).to.deep.include({ role: 'namesrv', address: first.server.address });
    expect(first.server.statusJson().brokers.map((broker) => broker.nodeId)).to.deep.equal(['n1', 'n2']);
    expect(await first.registry.getSingleMetricAsString('ledgermq_namesrv_brokers')).to.match(/ledgermq_namesrv_brokers 2$/m);

    // Close one NameServer: every call still answers, whichever server the rotation starts at.
    await first.server.close();
    for (let call = 0; call < 4; call++) {
      expect(leaderOf(await client.getRoute('orders'))).to.equal('g1:n1');
    }

    // Registrars keep working against the survivor (the failure against the closed one is only logged).
    states[0].topics = [...(states[0].topics ?? []), { name: 'payments', readQueues: 4, writeQueues: 4, perm: 6 }];
    await registrars[0].registerNow();
    expect((await client.getRoute('payments')).groups[0].topic).to.deep.include({ name: 'payments', writeQueues: 4 });
    await expectRejection(client.getRoute('no-such-topic'), 'TOPIC_NOT_FOUND');

    // With every NameServer gone, the client fails with a retriable error instead of hanging.
    await second.server.close();
    const error = await expectRejection(client.getRoute('orders'), 'INTERNAL_SERVER_ERROR');
    expect(error.retriable).to.equal(true);
    expect(error.message).to.include(first.server.address).and.to.include(second.server.address);
  });

  it('asks the next NameServer when one does not know the topic yet', async () => {
    const knowing = await startNameServer();
    const fresh = await startNameServer(); // e.g. just restarted: no heartbeats received yet
    knowing.server.routeTable.register(nodeState('n1', 20001));
    const client = new NameServerClient([fresh.server.address, knowing.server.address], { callTimeoutMs: 500 });
    closers.push(() => client.close());
    for (let call = 0; call < 3; call++) {
      expect((await client.getRoute('orders')).groups[0].nodes[0].nodeId).to.equal('n1');
    }
  });

  it('unregisters on stop', async () => {
    const { server } = await startNameServer();
    const registrar = new BrokerRegistrar({ nameServerAddresses: [server.address], registration: () => nodeState('n1', 20001), logger });
    closers.push(() => registrar.stop());
    registrar.start();
    await registrar.registerNow();
    expect(server.routeTable.brokers().map((broker) => broker.nodeId)).to.deep.equal(['n1']);
    await registrar.stop();
    expect(server.routeTable.brokers()).to.deep.equal([]);
    // Stopped: further rounds are no-ops.
    registrar.notifyChange();
    await registrar.registerNow();
    expect(server.routeTable.brokers()).to.deep.equal([]);
  });

  it('coalesces change notifications into at most one extra round', async () => {
    const { server, registry } = await startNameServer();
    let builds = 0;
    const registrar = new BrokerRegistrar({
      nameServerAddresses: [server.address],
      registration: () => {
        builds++;
        return nodeState('n1', 20001);
      },
      logger,
      intervalMs: 60_000,
    });
    closers.push(() => registrar.stop());
    const rounds = [registrar.registerNow(), registrar.registerNow(), registrar.registerNow(), registrar.registerNow()];
    await Promise.all(rounds);
    expect(builds).to.equal(2);
    expect(await registry.getSingleMetricAsString('ledgermq_namesrv_registrations_total')).to.match(/result="ok"} 2$/m);
  });

  it('expires silent brokers on its scan timer, by its injected clock', async () => {
    let nowMs = 5_000_000;
    const { server, registry } = await startNameServer({ clock: () => nowMs, scanIntervalMs: 20 });
    const stub = new NameServiceStub(server.address);
    closers.push(() => stub.close());
    const response = await stub.registerBroker({ registration: nodeState('n1', 20001) }, 1_000);
    expect(response.status?.code).to.equal(StatusCode.OK);
    expect(Number(response.expireAfterMs)).to.equal(120_000);
    expect(server.statusJson().brokers[0]).to.include({ nodeId: 'n1', lastHeartbeatMs: 5_000_000 });

    nowMs += 120_001;
    await waitFor('expiry counted', async () =>
      /ledgermq_namesrv_expirations_total 1$/m.test(await registry.getSingleMetricAsString('ledgermq_namesrv_expirations_total')) ? true : undefined,
    );
    expect(server.routeTable.brokers()).to.deep.equal([]);
  });

  it('answers invalid requests with a status, never a gRPC error', async () => {
    const { server, registry } = await startNameServer();
    const stub = new NameServiceStub(server.address);
    closers.push(() => stub.close());

    const badGroup = await stub.registerBroker({ registration: { ...nodeState('n1', 20001), group: 'bad group!' } }, 1_000);
    expect(badGroup.status?.code).to.equal(StatusCode.BAD_REQUEST);
    expect(badGroup.status?.message).to.include('group');
    const missing = await stub.registerBroker({}, 1_000);
    expect(missing.status?.code).to.equal(StatusCode.BAD_REQUEST);
    expect(await registry.getSingleMetricAsString('ledgermq_namesrv_registrations_total')).to.match(/result="refused"} 2$/m);

    const emptyTopic = await stub.getRoute({ topic: '' }, 1_000);
    expect(emptyTopic.status?.code).to.equal(StatusCode.BAD_REQUEST);
    const unknownTopic = await stub.getRoute({ topic: 'nope' }, 1_000);
    expect(unknownTopic.status?.code).to.equal(StatusCode.TOPIC_NOT_FOUND);
    const unknownNode = await stub.unregisterBroker({ cluster: 'c', group: 'g', nodeId: 'n' }, 1_000);
    expect(unknownNode.status?.code).to.equal(StatusCode.OK);
  });
});
