/**
 * Issue 6 (first step), real processes: the mqadmin-style read commands as an operator runs them
 * (`ledgermq admin ...` as a child process, JSON and table output, exit codes) against a 3-node
 * group: clusterList, topicList, topicRoute, topicStatus, raftStatus, including a member down.
 */
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import type { Producer } from 'rocketmq-client-nodejs';
import type { CliResult, Closable } from './cluster-helpers.js';
import { adminCli, startCluster, startProducer, waitFor } from './cluster-helpers.js';

type Cluster = Awaited<ReturnType<typeof startCluster>>;

describe('admin read commands: clusterList, topicList, topicRoute, topicStatus, raftStatus (real processes)', function () {
  this.timeout(180_000);
  let cluster: Cluster;
  let producer: Producer;
  const owned: Closable[] = [];

  before(async () => {
    cluster = await startCluster({ nodes: 3 });
  });

  after(async () => {
    for (const closable of owned.splice(0)) await closable.shutdown().catch(() => undefined);
    await cluster?.dispose();
  });

  const cli = (...args: string[]): Promise<CliResult> => adminCli(cluster, ...args);

  async function json<T>(...args: string[]): Promise<T> {
    const result = await cli(...args, '-o', 'json');
    expect(result.code, `${args.join(' ')}: ${result.stderr}`).to.equal(0);
    return JSON.parse(result.stdout) as T;
  }

  it('shows the nodes, the topic, its route and its queues as the cluster has them', async () => {
    expect((await cli('updateTopic', '-t', 'AdminOrders', '-r', '4', '-w', '4')).code).to.equal(0);
    producer = await startProducer(cluster, 'AdminOrders', owned);
    const startedAt = Date.now();
    for (let i = 0; i < 10; i++) await producer.send({ topic: 'AdminOrders', body: Buffer.from(`order-${i}`) });
    const leaderId = await waitFor('a leader', () => cluster.leaderId().then((id) => id ?? undefined));

    const nodes = await json<Array<{ nodeId: string; role: string; brokerAddress: string; term: number }>>('clusterList');
    expect(nodes.map((n) => n.nodeId).sort()).to.deep.equal(cluster.nodes.map((n) => n.id).sort());
    expect(nodes.filter((n) => n.role === 'leader').map((n) => n.nodeId)).to.deep.equal([leaderId]);
    expect(nodes.find((n) => n.nodeId === leaderId)!.brokerAddress).to.equal(cluster.nodes.find((n) => n.id === leaderId)!.broker);

    // Registrations carry topics at the next heartbeat; the producer's sends already created it.
    const topics = await waitFor('the topic in topicList', async () => {
      const list = await json<Array<{ topic: string; kind: string; groups: Array<{ readQueues: number; writeQueues: number }> }>>('topicList');
      return list.some((t) => t.topic === 'AdminOrders') ? list : undefined;
    });
    const orders = topics.find((t) => t.topic === 'AdminOrders')!;
    expect(orders.kind).to.equal('normal');
    expect(orders.groups).to.deep.equal([{ group: 'broker-a', readQueues: 4, writeQueues: 4, perm: 6, messageType: 'NORMAL' }]);

    const route = await json<{ topic: string; groups: Array<{ leaderId: string; nodes: Array<{ nodeId: string }>; readQueues: number }> }>('topicRoute', '-t', 'AdminOrders');
    expect(route.topic).to.equal('AdminOrders');
    expect(route.groups).to.have.length(1);
    expect(route.groups[0].leaderId).to.equal(leaderId);
    expect(route.groups[0].nodes).to.have.length(3);
    expect(route.groups[0].readQueues).to.equal(4);

    const queues = await json<Array<{ queueId: number; minOffset: number; maxOffset: number; lastStoreTimestampMs: number }>>('topicStatus', '-t', 'AdminOrders');
    expect(queues.map((q) => q.queueId)).to.deep.equal([0, 1, 2, 3]);
    expect(queues.reduce((sum, q) => sum + q.maxOffset - q.minOffset, 0)).to.equal(10);
    for (const q of queues.filter((x) => x.maxOffset > 0)) expect(q.lastStoreTimestampMs).to.be.within(startedAt - 1_000, Date.now() + 1_000);

    // Tables for people: headers and one row per queue.
    const table = await cli('topicStatus', '-t', 'AdminOrders');
    expect(table.code).to.equal(0);
    expect(table.stdout).to.match(/BROKER GROUP\s+QUEUE\s+MIN OFFSET\s+MAX OFFSET\s+LAST UPDATED/);
    expect(table.stdout.trim().split('\n')).to.have.length(2 + 4);

    const missing = await cli('topicStatus', '-t', 'NoSuchTopic');
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.match(/TOPIC_NOT_FOUND/);
  });

  it('raftStatus: every member with its indexes and lag, an unreachable one marked, exit 1 without a leader', async () => {
    type Group = { group: string; leaderId: string | null; members: Array<{ nodeId: string; role: string; matchIndex: number | null; lag: number | null; commitIndex: number | null; lastContactMsAgo: number | null }> };
    const leaderId = (await cluster.leaderId())!;
    const healthy = await waitFor('every member caught up', async () => {
      const [group] = await json<Group[]>('raftStatus');
      return group.members.every((m) => m.lag === 0) ? group : undefined;
    });
    expect(healthy.leaderId).to.equal(leaderId);
    for (const node of cluster.nodes) expect((await fetch(`http://${node.http}/readyz`)).status, `${node.id} ready`).to.equal(200);
    const ok = await cli('check');
    expect(ok.code, ok.stdout).to.equal(0);
    expect(ok.stdout).to.match(/^OK: \d+ checks, 0 not OK$/m);
    expect(healthy.members.map((m) => m.nodeId).sort()).to.deep.equal(cluster.nodes.map((n) => n.id).sort());

    // A follower down: still registered for a while, its /status unreachable, its lag growing.
    const follower = cluster.nodes.find((n) => n.id !== leaderId)!;
    await cluster.stopNode(follower.id, 'SIGKILL');
    for (let i = 0; i < 5; i++) await producer.send({ topic: 'AdminOrders', body: Buffer.from(`while-down-${i}`) });
    const [degraded] = await json<Group[]>('raftStatus');
    const down = degraded.members.find((m) => m.nodeId === follower.id)!;
    expect(down.role).to.equal('unreachable');
    expect(down.lag, 'the leader still sees it behind').to.be.greaterThan(0);
    const live = degraded.members.find((m) => m.nodeId !== follower.id && m.nodeId !== leaderId)!;
    expect(live.lastContactMsAgo, 'a live follower was heard from within a heartbeat or two').to.be.at.most(1_000);
    const warning = await cli('check', '--contact-crit-ms', '600000');
    expect(warning.code, `check with a follower down: ${warning.stdout}`).to.equal(1);
    expect(warning.stdout).to.match(/WARNING\s+broker-a\s+\S+\s+reachable/);
    // Silent since the kill (it answers nothing): its last contact only grows.
    await waitFor('the killed follower silent for over a second', async () => {
      const [group] = await json<Group[]>('raftStatus');
      const contact = group.members.find((m) => m.nodeId === follower.id)!.lastContactMsAgo;
      return contact !== null && contact > 1_000;
    });

    // Two of three down: no leader any more, raftStatus says so and exits 1.
    const other = cluster.nodes.find((n) => n.id !== leaderId && n.id !== follower.id)!;
    await cluster.stopNode(other.id, 'SIGKILL');
    const result = await waitFor('raftStatus to report no leader', async () => {
      const run = await cli('raftStatus', '-o', 'json');
      return run.code === 1 ? run : undefined;
    }, 30_000);
    expect(result.stderr).to.match(/no leader in broker-a/);
    // The survivor cannot serve: not ready, with the reason.
    const survivor = cluster.nodes.find((n) => n.id === leaderId)!;
    const notReady = await waitFor('the survivor not ready', async () => {
      const response = await fetch(`http://${survivor.http}/readyz`);
      return response.status === 503 ? response.text() : undefined;
    });
    expect(notReady).to.match(/not ready: (no known leader|leader still applying)/);
    const critical = await cli('check', '-o', 'json');
    expect(critical.code).to.equal(2);
    expect((JSON.parse(critical.stdout) as { status: string }).status).to.equal('CRITICAL');
    await cluster.startNode(follower.id);
    await cluster.startNode(other.id);
  });

  it('transferLeader moves the leadership where asked, and a leader stopped with SIGTERM hands it over first', async () => {
    type Group = { leaderId: string | null; term: number | null; members: Array<{ lag: number | null }> };
    const caughtUp = (): Promise<Group> => waitFor('a leader with every member caught up', async () => {
      const run = await cli('raftStatus', '-o', 'json');
      if (run.code !== 0) return undefined;
      const [group] = JSON.parse(run.stdout) as Group[];
      return group.leaderId !== null && group.members.every((m) => m.lag === 0) ? group : undefined;
    }, 30_000);
    const before = await caughtUp();
    const target = cluster.nodes.find((n) => n.id !== before.leaderId)!.id;
    const moved = await json<{ from: string; to: string; term: number }>('transferLeader', '-b', 'broker-a', '--to', target);
    expect(moved.from).to.equal(before.leaderId);
    expect(moved.to).to.equal(target);
    expect(moved.term).to.be.greaterThan(before.term!);
    expect((await caughtUp()).leaderId).to.equal(target);
    // Writes go on through the new leader.
    await producer.send({ topic: 'AdminOrders', body: Buffer.from('after-transfer') });

    const refused = await cli('transferLeader', '-b', 'broker-a', '--to', 'nX');
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.match(/PRECONDITION_FAILED/);

    // SIGTERM on the leader: it hands leadership to a follower before it exits.
    const leader = cluster.nodes.find((n) => n.id === target)!;
    await cluster.stopNode(leader.id, 'SIGTERM');
    const log = readFileSync(leader.logFile, 'utf8');
    const handover = /"newLeader":"(n\d)","term":(\d+),"msg":"leadership handed over before stopping"/.exec(log);
    expect(handover, 'the stopped leader logged its handover').to.not.equal(null);
    expect(handover![1]).to.not.equal(leader.id);
    const [after] = await json<Group[]>('raftStatus');
    expect(after.leaderId, 'the group leads on without an election').to.equal(handover![1]);
    expect(after.term).to.equal(Number(handover![2]));
    await producer.send({ topic: 'AdminOrders', body: Buffer.from('after-stop') });
    await cluster.startNode(leader.id);
  });
});
