/**
 * Issue 6, real processes: Prometheus scrapes the NameServer and the three brokers of a group
 * every second. The broker and Raft series are there with their labels; after the leader is
 * killed, `ledgermq_raft_is_leader` names the new leader within one scrape interval of the
 * election; deleting a topic (admin deleteTopic) removes its series. Where Debian's `prometheus`
 * is not installed (`.ci/run` installs it), the same checks read each `/metrics` directly and the
 * timing check, which needs a scraping server, is reported as not measured.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Closable } from './cluster-helpers.js';
import { adminCli, startCluster, startProducer, startSimpleConsumer, waitFor } from './cluster-helpers.js';
import { directScraper, prometheusInstalled, startPrometheus } from './metrics-scraper.js';
import type { MetricsScraper } from './metrics-scraper.js';

type Cluster = Awaited<ReturnType<typeof startCluster>>;

const SCRAPE_INTERVAL_SECONDS = 1;

/** Series every broker node exports (label sets aside). */
const BROKER_SERIES = [
  'rocketmq_storage_size_bytes', 'rocketmq_storage_dispatch_behind_bytes', 'rocketmq_topic_number', 'rocketmq_consumer_group_number',
  'ledgermq_raft_has_leader', 'ledgermq_raft_is_leader', 'ledgermq_raft_term', 'ledgermq_raft_commit_index', 'ledgermq_raft_applied_index',
  'ledgermq_raft_leader_changes_seen_total', 'ledgermq_raft_proposals_committed_total', 'ledgermq_raft_proposals_applied_total',
  'ledgermq_raft_proposals_failed_total', 'ledgermq_raft_proposals_pending', 'ledgermq_raft_members',
  'ledgermq_raft_fsync_duration_seconds_count', 'ledgermq_raft_append_duration_seconds_bucket', 'process_resident_memory_bytes',
];

describe('metrics: Prometheus scrapes every process (real processes)', function () {
  this.timeout(180_000);
  let cluster: Cluster;
  let scraper: MetricsScraper;
  let dir: string;
  const owned: Closable[] = [];

  before(async () => {
    cluster = await startCluster({ nodes: 3 });
    dir = mkdtempSync(join(tmpdir(), 'ledgermq-prometheus-'));
    const targets = [cluster.description.namesrvProcess.http, ...cluster.nodes.map((n) => n.http)];
    // The Prometheus port: one past the cluster's last node (LocalCluster's ports are base + 10i + 10..12).
    const port = Number(cluster.description.namesrv[0].split(':')[1]) + 90;
    scraper = prometheusInstalled() ? await startPrometheus(dir, port, targets, SCRAPE_INTERVAL_SECONDS) : directScraper(targets);
    console.log(`      reading series through: ${scraper.kind}`);
  });

  after(async () => {
    for (const closable of owned.splice(0)) await closable.shutdown().catch(() => undefined);
    await scraper?.stop();
    await cluster?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('has the broker and Raft series of every node, labelled by cluster, group and node', async () => {
    const up = await waitFor('every target up', async () => {
      const targets = await scraper.targetsUp();
      return targets.size === 4 && [...targets.values()].every(Boolean) ? targets : undefined;
    }, 30_000);
    expect(up.size).to.equal(4);
    for (const name of BROKER_SERIES) {
      const series = await waitFor(`${name} from the 3 brokers`, async () => {
        const found = await scraper.series(name, { group: 'broker-a' });
        const nodes = new Set(found.map((s) => s.labels.node));
        return nodes.size === 3 ? found : undefined;
      }, 20_000);
      for (const s of series) expect(s.labels, name).to.include({ cluster: 'DefaultCluster', group: 'broker-a' });
    }
    expect((await scraper.series('ledgermq_namesrv_brokers'))[0]?.value).to.equal(3);
    const leaders = await scraper.series('ledgermq_raft_is_leader', {});
    expect(leaders.filter((s) => s.value === 1).map((s) => s.labels.node)).to.deep.equal([await cluster.leaderId()]);
  });

  it('counts messages in and out per topic and consumer group, and lag per group', async () => {
    const topic = 'MetricsTopic';
    const producer = await startProducer(cluster, topic, owned);
    for (let i = 0; i < 30; i++) await producer.send({ topic, tag: 't', body: Buffer.from(`m-${i}`) });
    const consumer = await startSimpleConsumer(cluster, 'metrics-group', topic, owned);
    let received = 0;
    await waitFor('ten messages received', async () => {
      for (const message of await consumer.receive(10, 2_000)) {
        received += 1;
        if (received > 10) break;
        await consumer.ack(message);
      }
      return received >= 10;
    }, 30_000);
    const inSeries = await waitFor('messages in', async () => {
      const found = await scraper.series('rocketmq_messages_in_total', { topic });
      return found.reduce((sum, s) => sum + s.value, 0) >= 30 ? found : undefined;
    });
    expect(inSeries.every((s) => s.labels.node === inSeries[0].labels.node)).to.equal(true);
    await waitFor('messages out for the group', async () => (await scraper.series('rocketmq_messages_out_total', { topic, consumer_group: 'metrics-group' })).some((s) => s.value >= 10));
    await waitFor('bytes in', async () => (await scraper.series('rocketmq_throughput_in_total', { topic })).some((s) => s.value > 0));
    await waitFor('lag of the group', async () => (await scraper.series('rocketmq_consumer_lag_messages', { topic, consumer_group: 'metrics-group' })).some((s) => s.value > 0));
    await waitFor('RPC latency of sends', async () => (await scraper.series('rocketmq_rpc_latency_seconds_count', { operation: 'SendMessages', status: 'OK' })).some((s) => s.value >= 30));
  });

  it('shows the new leader within one scrape interval after the leader is killed', async () => {
    const oldLeader = await waitFor('a leader', () => cluster.leaderId().then((id) => id ?? undefined));
    await cluster.stopNode(oldLeader, 'SIGKILL');
    const newLeader = await waitFor('a new leader', async () => {
      for (const node of cluster.nodes.filter((n) => n.id !== oldLeader)) {
        const status = await cluster.nodeStatus(node.id).catch(() => null);
        if (status?.role === 'leader') return node.id;
      }
      return undefined;
    }, 20_000);
    const electedAt = Date.now();
    await waitFor('the new leader in the series', async () => {
      const leaders = (await scraper.series('ledgermq_raft_is_leader')).filter((s) => s.value === 1).map((s) => s.labels.node);
      return leaders.length === 1 && leaders[0] === newLeader;
    }, 20_000);
    const seenAfterMs = Date.now() - electedAt;
    if (scraper.intervalSeconds > 0) {
      console.log(`      new leader ${newLeader} in Prometheus ${seenAfterMs} ms after it was elected (scrape interval ${scraper.intervalSeconds * 1000} ms)`);
      // One interval, plus the query's own polling granularity.
      expect(seenAfterMs).to.be.at.most(scraper.intervalSeconds * 1000 + 200);
    } else {
      console.log(`      new leader ${newLeader} read from /metrics ${seenAfterMs} ms after it was elected (no scraping server: the scrape-interval bound is not measured)`);
    }
    await cluster.startNode(oldLeader);
  });

  it('drops the series of a deleted topic', async () => {
    const topic = 'MetricsTopic';
    // The leader changed in the test before: its counters start with these sends.
    const producer = await startProducer(cluster, topic, owned);
    for (let i = 0; i < 5; i++) await producer.send({ topic, tag: 't', body: Buffer.from(`d-${i}`) });
    await waitFor('the topic\'s series', async () => (await scraper.series('rocketmq_messages_in_total', { topic })).length > 0);
    const deleted = await adminCli(cluster, 'deleteTopic', '-t', topic);
    expect(deleted.code, deleted.stderr).to.equal(0);
    await waitFor('no series of the deleted topic', async () => {
      for (const name of ['rocketmq_messages_in_total', 'rocketmq_throughput_in_total', 'rocketmq_messages_out_total', 'rocketmq_consumer_lag_messages', 'rocketmq_consumer_inflight_messages']) {
        if ((await scraper.series(name, { topic })).length > 0) return false;
      }
      return true;
    }, 20_000);
    const topics = await adminCli(cluster, 'topicList', '-o', 'json');
    expect((JSON.parse(topics.stdout) as Array<{ topic: string }>).map((t) => t.topic)).to.not.include(topic);
  });
});
