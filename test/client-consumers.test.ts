/**
 * Issue 5, real processes (a NameServer and a 3-node group): our client's Producer, PushConsumer
 * (clustering and broadcasting), PullConsumer, offsets committed through Raft, offset reset by
 * time while consumers run, and rebalancing when an instance leaves.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConsumerAdmin, Producer, PullConsumer, PushConsumer } from '../lib/client/index.js';
import type { ReceivedMessage } from '../lib/client/index.js';
import { queueKey } from '../lib/client/queue-allocation.js';
import { startCluster, waitFor } from './cluster-helpers.js';

type Cluster = Awaited<ReturnType<typeof startCluster>>;

describe('our client: producer, push and pull consumers (real processes)', function () {
  this.timeout(180_000);
  let cluster: Cluster;
  let producer: Producer;
  let admin: ConsumerAdmin;
  const consumers: Array<{ shutdown(): Promise<void> }> = [];
  const offsetDir = mkdtempSync(join(tmpdir(), 'ledgermq-offsets-'));

  before(async () => {
    // Delay levels scaled down (RocketMQ: 1s 5s 10s ... 2h): level n waits n × 40 ms.
    const messageDelayLevel = Array.from({ length: 18 }, (_, i) => `${(i + 1) * 40}ms`).join(' ');
    cluster = await startCluster({ nodes: 3, brokerOverrides: { defaultQueueCount: 4, consumerExpiryMs: 2_000, messageDelayLevel } });
    producer = new Producer({ nameServers: cluster.description.namesrv });
    admin = new ConsumerAdmin({ nameServers: cluster.description.namesrv });
  });

  afterEach(async () => {
    for (const consumer of consumers.splice(0)) await consumer.shutdown().catch(() => undefined);
  });

  after(async () => {
    producer?.shutdown();
    admin?.close();
    await cluster?.dispose();
    rmSync(offsetDir, { recursive: true, force: true });
  });

  function pushConsumer(group: string, topic: string, received: ReceivedMessage[], extra: Partial<ConstructorParameters<typeof PushConsumer>[0]> = {}): PushConsumer {
    const consumer = new PushConsumer({
      nameServers: cluster.description.namesrv,
      group,
      consumeFrom: 'FIRST_OFFSET',
      pollTimeoutMs: 2_000,
      commitIntervalMs: 500,
      offsetStoreDir: offsetDir,
      listener: (messages) => {
        received.push(...messages);
        return 'SUCCESS';
      },
      ...extra,
    }).subscribe(topic);
    consumers.push(consumer);
    return consumer;
  }

  /** Runs `ledgermq admin <args> -o json` against the cluster; resolves with its stdout. */
  async function cli(...args: string[]): Promise<string> {
    const { stdout } = await promisify(execFile)(process.execPath, ['dist/cmd/ledgermq.js', 'admin', ...args, '-n', cluster.description.namesrv.join(';'), '-o', 'json']);
    return stdout;
  }

  async function sendAll(topic: string, count: number, prefix: string): Promise<string[]> {
    const bodies: string[] = [];
    for (let i = 0; i < count; i++) bodies.push(`${prefix}-${i}`);
    await Promise.all(bodies.map((body) => producer.send({ topic, body, tag: 'a' })));
    return bodies;
  }

  /** Waits until the instances' assignments are disjoint and cover all `queueCount` queues. */
  async function balanced(instances: PushConsumer[], queueCount: number): Promise<void> {
    await waitFor('a converged rebalance', () => {
      const keys = instances.flatMap((c) => c.assignment().map(queueKey));
      return keys.length === queueCount && new Set(keys).size === queueCount && instances.every((c) => c.assignment().length > 0);
    }, 30_000);
  }

  it('clustering: three instances share the queues and each message reaches exactly one of them', async () => {
    await sendAll('ClusterTopic', 1, 'warm-up'); // creates the topic
    const received: ReceivedMessage[][] = [[], [], []];
    const instances = received.map((list) => pushConsumer('cluster-group', 'ClusterTopic', list));
    await Promise.all(instances.map((c) => c.start()));
    await balanced(instances, 4);
    const bodies = await sendAll('ClusterTopic', 300, 'c');
    await waitFor('every message', () => received.flat().filter((m) => m.body.toString().startsWith('c-')).length >= 300, 30_000);
    const all = received.flat().map((m) => m.body.toString()).filter((b) => b.startsWith('c-'));
    expect(all.length, 'no duplicates while all are healthy').to.equal(300);
    expect(new Set(all)).to.deep.equal(new Set(bodies));
    expect(received.every((list) => list.length > 0), 'every instance consumed').to.equal(true);

    // The admin CLI shows the rebalance and, once progress is committed, no lag.
    // Owned queues reach the broker with the next heartbeat (every second).
    const connection = await waitFor('owned queues in the heartbeats', async () => {
      const list = JSON.parse(await cli('consumerConnection', '-g', 'cluster-group', '-t', 'ClusterTopic')) as Array<{ clientId: string; owned: unknown[] }>;
      return list.reduce((sum, c) => sum + c.owned.length, 0) === 4 ? list : undefined;
    });
    expect(connection.map((c) => c.clientId).sort()).to.deep.equal(instances.map((c) => c.clientId).sort());
    await waitFor('lag 0', async () => {
      const progress = JSON.parse(await cli('consumerProgress', '-g', 'cluster-group', '-t', 'ClusterTopic')) as Array<{ lag: number }>;
      return progress.length === 4 && progress.every((p) => p.lag === 0);
    });
  });

  it('broadcasting: every instance gets every message; two groups on one topic each get everything', async () => {
    await sendAll('BroadcastTopic', 1, 'warm-up');
    const broadcast: ReceivedMessage[][] = [[], []];
    const other: ReceivedMessage[] = [];
    const instances = broadcast.map((list, i) => pushConsumer('broadcast-group', 'BroadcastTopic', list, { mode: 'BROADCASTING', instanceName: `i${i}` }));
    instances.push(pushConsumer('second-group', 'BroadcastTopic', other));
    await Promise.all(instances.map((c) => c.start()));
    await waitFor('all queues owned', () => instances.every((c) => c.assignment().length === 4), 30_000);
    const bodies = await sendAll('BroadcastTopic', 100, 'b');
    const seen = (list: ReceivedMessage[]): Set<string> => new Set(list.map((m) => m.body.toString()).filter((b) => b.startsWith('b-')));
    await waitFor('every instance to get everything', () => [...broadcast, other].every((list) => seen(list).size === 100), 30_000);
    for (const list of [...broadcast, other]) expect(seen(list)).to.deep.equal(new Set(bodies));
  });

  it('commits offsets through Raft: progress survives a leader kill, and a reset by time redelivers what was stored after it', async () => {
    await sendAll('OffsetTopic', 40, 'early');
    const pull = new PullConsumer({
      nameServers: cluster.description.namesrv, group: 'offset-group', consumeFrom: 'FIRST_OFFSET', autoCommit: false, pollTimeoutMs: 1_000,
      onError: (error) => process.env.LEDGERMQ_TEST_DEBUG && console.log('pull consumer:', error),
    });
    consumers.push(pull);
    await pull.assign(await pull.queuesOf('OffsetTopic'));
    const got: ReceivedMessage[] = [];
    await waitFor('the first 40', async () => {
      got.push(...(await pull.poll(500)));
      return got.length >= 40;
    });
    await pull.commit();
    const before = await admin.progress('offset-group', 'OffsetTopic');
    expect(before.reduce((sum, q) => sum + q.offset, 0)).to.equal(40);

    const leaderId = await waitFor('a leader', () => cluster.leaderId().then((id) => id ?? undefined));
    await cluster.stopNode(leaderId, 'SIGKILL');
    let lastError: unknown = null;
    const after = await waitFor('progress from the new leader', async () => {
      try {
        return await admin.progress('offset-group', 'OffsetTopic');
      } catch (error) {
        lastError = error;
        return undefined;
      }
    }).catch((error: unknown) => {
      throw new Error(`${String(error)}; last error: ${String(lastError)}`);
    });
    expect(after.map((q) => q.offset)).to.deep.equal(before.map((q) => q.offset));
    await cluster.startNode(leaderId);

    // Messages stored from T on are delivered again after a reset to T, to a consumer that keeps running.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const resetPoint = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const late = await sendAll('OffsetTopic', 20, 'late');
    await waitFor('the 20 late ones', async () => {
      got.push(...(await pull.poll(500)));
      return got.filter((m) => m.body.toString().startsWith('late-')).length >= 20;
    });
    await pull.commit();
    const reset = await admin.resetOffsets('offset-group', 'OffsetTopic', { timestampMs: resetPoint });
    expect(reset.reduce((sum, q) => sum + (q.maxOffset - q.offset), 0), 'exactly the late ones are behind the reset point').to.equal(20);
    const again: ReceivedMessage[] = [];
    await waitFor('the late ones again', async () => {
      again.push(...(await pull.poll(500)));
      return again.length >= 20;
    });
    expect(new Set(again.map((m) => m.body.toString()))).to.deep.equal(new Set(late));
  });

  it('retries a failing message through %RETRY%<group> with growing delays, then dead-letters it after 16 retries', async () => {
    await sendAll('RetryTopic', 1, 'warm-up');
    const deliveries: Array<{ atMs: number; reconsumeTimes: number; topic: string }> = [];
    const consumer = new PushConsumer({
      nameServers: cluster.description.namesrv,
      group: 'retry-group',
      consumeFrom: 'FIRST_OFFSET',
      pollTimeoutMs: 2_000,
      commitIntervalMs: 500,
      listener: (messages) => {
        for (const m of messages) if (m.body.toString() === 'poison') deliveries.push({ atMs: Date.now(), reconsumeTimes: m.reconsumeTimes, topic: m.topic });
        return messages.some((m) => m.body.toString() === 'poison') ? 'RETRY' : 'SUCCESS';
      },
    }).subscribe('RetryTopic');
    consumers.push(consumer);
    await consumer.start();
    await producer.send({ topic: 'RetryTopic', body: 'poison', tag: 'a' });
    await waitFor('17 deliveries', () => deliveries.length >= 17, 60_000);
    expect(deliveries.map((d) => d.reconsumeTimes)).to.deep.equal(Array.from({ length: 17 }, (_, i) => i));
    expect(deliveries.every((d) => d.topic === 'RetryTopic'), 'the listener sees the original topic').to.equal(true);
    // Retry n waits at least level (3 + n) = (3 + n) × 40 ms after the failure before it.
    deliveries.slice(1).forEach((d, n) => {
      expect(d.atMs - deliveries[n].atMs, `gap before retry ${n + 1}`).to.be.at.least((3 + n) * 40 - 5);
    });
    const dlq = new PullConsumer({ nameServers: cluster.description.namesrv, group: 'dlq-reader', consumeFrom: 'FIRST_OFFSET', autoCommit: false, pollTimeoutMs: 1_000 });
    consumers.push(dlq);
    const dead = await waitFor('the dead letter', async () => {
      try {
        if ((await dlq.queuesOf('%DLQ%retry-group')).length === 0) return undefined;
      } catch {
        return undefined;
      }
      await dlq.assign(await dlq.queuesOf('%DLQ%retry-group'));
      const polled = await dlq.poll(1_000);
      return polled.length > 0 ? polled : undefined;
    }, 30_000);
    expect(dead.map((m) => m.body.toString())).to.deep.equal(['poison']);
    expect(dead[0].properties.RECONSUME_TIME).to.equal('17');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(deliveries.length, 'no delivery after the dead letter').to.equal(17);
    // The admin CLI sees the retry and DLQ topics: 16 retries went through one, 1 message is in the other.
    const retryProgress = JSON.parse(await cli('consumerProgress', '-g', 'retry-group', '-t', '%RETRY%retry-group')) as Array<{ maxOffset: number; lag: number }>;
    expect(retryProgress.map((q) => q.maxOffset)).to.deep.equal([16]);
    await waitFor('retry progress committed', async () => {
      const progress = JSON.parse(await cli('consumerProgress', '-g', 'retry-group', '-t', '%RETRY%retry-group')) as Array<{ lag: number }>;
      return progress[0].lag === 0;
    });
    const dlqProgress = JSON.parse(await cli('consumerProgress', '-g', 'retry-group', '-t', '%DLQ%retry-group')) as Array<{ maxOffset: number }>;
    expect(dlqProgress.map((q) => q.maxOffset)).to.deep.equal([1]);
  });

  it('admin updateTopic creates a topic on the group leader with the queues asked for', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [
      'dist/cmd/ledgermq.js', 'admin', 'updateTopic', '-n', cluster.description.namesrv.join(';'), '-t', 'AdminTopic', '-r', '3', '-w', '3',
    ]);
    expect(stdout).to.match(/read=3 write=3 perm=6/);
    const progress = await waitFor('the new topic in the routes', async () => {
      const text = await cli('consumerProgress', '-g', 'admin-group', '-t', 'AdminTopic').catch(() => undefined);
      return text === undefined ? undefined : (JSON.parse(text) as Array<{ queueId: number; offset: number }>);
    });
    expect(progress.map((p) => [p.queueId, p.offset])).to.deep.equal([[0, -1], [1, -1], [2, -1]]);
  });

  it('rebalances within seconds when an instance leaves, losing nothing', async () => {
    await sendAll('LeaveTopic', 1, 'warm-up');
    const first: ReceivedMessage[] = [];
    const second: ReceivedMessage[] = [];
    const a = pushConsumer('leave-group', 'LeaveTopic', first);
    const b = pushConsumer('leave-group', 'LeaveTopic', second);
    await Promise.all([a.start(), b.start()]);
    await balanced([a, b], 4);
    const before = await sendAll('LeaveTopic', 50, 'x');
    await waitFor('the first 50', () => new Set([...first, ...second].map((m) => m.body.toString())).size >= 51);
    await b.shutdown();
    const left = Date.now();
    await waitFor('the remaining instance to own every queue', () => a.assignment().length === 4, 10_000);
    const convergedMs = Date.now() - left;
    const afterLeave = await sendAll('LeaveTopic', 50, 'y');
    await waitFor('the next 50', () => afterLeave.every((body) => first.some((m) => m.body.toString() === body)), 30_000);
    const all = new Set([...first, ...second].map((m) => m.body.toString()));
    for (const body of [...before, ...afterLeave]) expect(all.has(body), body).to.equal(true);
    expect(convergedMs).to.be.below(10_000);
  });
});
