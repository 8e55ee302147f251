/**
 * The broker node's Prometheus series, RocketMQ 5 style (`rocketmq_*`, names as RocketMQ's
 * BrokerMetricsConstant has them, with units in the name) plus LedgerMQ's own (`ledgermq_*`).
 * Units are seconds and bytes; counters end in `_total`; every series carries the default labels
 * `cluster`, `group` (the broker group) and `node`. A consumer group is labelled `consumer_group`.
 *
 * Gauges are read from the node at each scrape (see {@link BrokerGaugeSource}); per-topic and
 * per-consumer-group counters are dropped when their topic or group is deleted, so a deleted
 * topic's series disappear at the next scrape.
 */
import { Counter, Histogram, Registry } from 'prom-client';
import type { Gauge } from 'prom-client';
import { collectProcessMetrics } from '../common/process-metrics.js';
import { sampledGauge } from '../common/sampled-metrics.js';

/** What the broker's gauges read at each scrape. */
export interface BrokerGaugeSource {
  commitIndex(): number;
  appliedIndex(): number;
  parkedPolls(): number;
  openPullStreams(): number;
  topicCount(): number;
  consumerGroupCount(): number;
  /** CommitLog bytes stored, and ConsumeQueue bytes stored. */
  storageBytes(): { commitLog: number; consumeQueue: number };
  /** Bytes appended but not yet handed to the OS. */
  writePendingBytes(): number;
  /** Log entries appended but not yet fsynced. */
  unflushedEntries(): number;
  /** CommitLog bytes not yet dispatched to ConsumeQueues. */
  dispatchBehindBytes(): number;
  /** Free (for the broker's user) and total bytes of the filesystem holding the store. */
  diskSpace(): Promise<{ freeBytes: number; sizeBytes: number }>;
  /** Which writes the disk watermarks refuse now: 0 none, 1 producers', 2 every write (disk-space-monitor.ts). */
  diskWritesRefused(): number;
  /** Live consumer instances per consumer group (clients heartbeating to this leader). */
  consumerConnections(): Map<string, number>;
  /**
   * Per (consumer group, topic): messages not yet acknowledged and messages delivered but not
   * acknowledged (pop inflight). Only the leader reports them (followers: empty).
   */
  consumerProgress(): Array<{ group: string; topic: string; lag: number; inflight: number }>;
}

/** One walk over the consumer progress serves both of a scrape's lag and inflight gauges. */
const PROGRESS_REUSE_MS = 500;

/** RPC latency buckets, seconds: 0.5 ms .. 30 s (a long poll answers after up to 30 s). */
const RPC_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** See the file comment. */
export class BrokerMetrics {
  readonly registry = new Registry();
  readonly messagesIn: Counter<'topic'>;
  readonly bytesIn: Counter<'topic'>;
  readonly messagesOut: Counter<'topic' | 'consumer_group'>;
  readonly bytesOut: Counter<'topic' | 'consumer_group'>;
  readonly rpcLatency: Histogram<'operation' | 'status'>;
  readonly corruptReads: Counter;
  readonly pullsServed: Counter<'role'>;
  readonly scrubBytes: Counter;
  readonly scrubPasses: Counter;
  readonly scrubDamaged: Counter;
  readonly diskRefusedWrites: Counter<'kind'>;
  private source: BrokerGaugeSource | null = null;
  /** Consumer groups seen per topic on the per-(topic, group) counters, to drop them with the topic or group. */
  private readonly groupsByTopic = new Map<string, Set<string>>();

  constructor(labels: { cluster: string; group: string; node: string }) {
    this.registry.setDefaultLabels(labels);
    collectProcessMetrics(this.registry);
    const registers = [this.registry];
    this.messagesIn = new Counter({ name: 'rocketmq_messages_in_total', help: 'Messages committed by producers', labelNames: ['topic'], registers });
    this.bytesIn = new Counter({ name: 'rocketmq_throughput_in_total', help: 'Message body bytes committed by producers', labelNames: ['topic'], registers });
    this.messagesOut = new Counter({ name: 'rocketmq_messages_out_total', help: 'Messages delivered to consumers', labelNames: ['topic', 'consumer_group'], registers });
    this.bytesOut = new Counter({ name: 'rocketmq_throughput_out_total', help: 'Message body bytes delivered to consumers', labelNames: ['topic', 'consumer_group'], registers });
    this.rpcLatency = new Histogram({
      name: 'rocketmq_rpc_latency_seconds', help: 'Broker RPC latency by operation and answered status (long polls included)', labelNames: ['operation', 'status'], buckets: RPC_BUCKETS, registers,
    });
    this.corruptReads = new Counter({ name: 'ledgermq_store_corrupt_reads_total', help: 'Reads refused because a stored message failed its checksum', registers });
    this.pullsServed = new Counter({ name: 'ledgermq_pull_messages_served_total', help: 'Messages this node served to pull consumers, by the role it had', labelNames: ['role'], registers });
    this.scrubBytes = new Counter({ name: 'ledgermq_store_scrub_read_bytes_total', help: 'CommitLog bytes read and checked by the background scrub', registers });
    this.scrubPasses = new Counter({ name: 'ledgermq_store_scrub_passes_total', help: 'Background scrub passes completed over the committed log', registers });
    this.scrubDamaged = new Counter({ name: 'ledgermq_store_scrub_damaged_records_total', help: 'Damaged committed records found by the background scrub', registers });
    this.diskRefusedWrites = new Counter({
      name: 'ledgermq_disk_refused_writes_total', help: 'Writes refused because the disk is under a free-space watermark, by kind (producer, internal, replication)', labelNames: ['kind'], registers,
    });
    this.sampledGauges(registers);
  }

  /** Where the gauges read their values at each scrape. */
  readGaugesFrom(source: BrokerGaugeSource): void {
    this.source = source;
  }

  /** Counts messages delivered to a consumer group (pop or pull). */
  delivered(topic: string, consumerGroup: string, messages: number, bodyBytes: number): void {
    const labels = { topic, consumer_group: consumerGroup };
    this.messagesOut.inc(labels, messages);
    this.bytesOut.inc(labels, bodyBytes);
    let groups = this.groupsByTopic.get(topic);
    if (groups === undefined) {
      groups = new Set();
      this.groupsByTopic.set(topic, groups);
    }
    groups.add(consumerGroup);
  }

  /** Drops every series of a deleted topic. */
  forgetTopic(topic: string): void {
    this.messagesIn.remove({ topic });
    this.bytesIn.remove({ topic });
    for (const group of this.groupsByTopic.get(topic) ?? []) {
      this.messagesOut.remove({ topic, consumer_group: group });
      this.bytesOut.remove({ topic, consumer_group: group });
    }
    this.groupsByTopic.delete(topic);
  }

  /** Drops every series of a deleted consumer group. */
  forgetConsumerGroup(group: string): void {
    for (const [topic, groups] of this.groupsByTopic) {
      if (!groups.delete(group)) continue;
      this.messagesOut.remove({ topic, consumer_group: group });
      this.bytesOut.remove({ topic, consumer_group: group });
    }
  }

  private sampledGauges(registers: Registry[]): void {
    /** A gauge read from the source at each scrape (nothing before the node serves). */
    const gauge = (name: string, help: string, read: (source: BrokerGaugeSource, gauge: Gauge) => void | Promise<void>, labelNames: string[] = []): void => {
      sampledGauge({ name, help, registers, labelNames, read: (g) => (this.source === null ? undefined : read(this.source, g)) });
    };
    gauge('ledgermq_raft_commit_index', 'Highest committed log index', (s, g) => g.set(s.commitIndex()));
    gauge('ledgermq_raft_applied_index', 'Highest applied log index', (s, g) => g.set(s.appliedIndex()));
    gauge('ledgermq_broker_parked_polls', 'Long-poll requests waiting for messages', (s, g) => g.set(s.parkedPolls()));
    gauge('ledgermq_broker_pull_streams', 'Open PullStream calls (one per client connection that pulls)', (s, g) => g.set(s.openPullStreams()));
    gauge('rocketmq_topic_number', 'Topics on this broker group', (s, g) => g.set(s.topicCount()));
    gauge('rocketmq_consumer_group_number', 'Subscription groups on this broker group', (s, g) => g.set(s.consumerGroupCount()));
    gauge('rocketmq_storage_size_bytes', 'Bytes stored, by store', (s, g) => {
      const { commitLog, consumeQueue } = s.storageBytes();
      g.set({ store: 'commitlog' }, commitLog);
      g.set({ store: 'consumequeue' }, consumeQueue);
    }, ['store']);
    gauge('rocketmq_storage_write_pending_bytes', 'CommitLog bytes appended but not yet written to the OS', (s, g) => g.set(s.writePendingBytes()));
    gauge('ledgermq_store_unflushed_entries', 'Log entries appended but not yet fsynced', (s, g) => g.set(s.unflushedEntries()));
    gauge('rocketmq_storage_dispatch_behind_bytes', 'CommitLog bytes not yet dispatched to ConsumeQueues', (s, g) => g.set(s.dispatchBehindBytes()));
    // One statfs per scrape, shared by the two disk gauges.
    let disk: Promise<{ freeBytes: number; sizeBytes: number }> | null = null;
    const diskGauge = (name: string, help: string, pick: (space: { freeBytes: number; sizeBytes: number }) => number): void => {
      gauge(name, help, async (s, g) => {
        disk ??= s.diskSpace().finally(() => setTimeout(() => (disk = null), PROGRESS_REUSE_MS).unref());
        try {
          g.set(pick(await disk));
        } catch {
          // statfs failed (the folder went away?): leave the gauge out rather than fail the scrape.
          g.reset();
        }
      });
    };
    diskGauge('ledgermq_store_disk_free_bytes', 'Free bytes (for the broker) on the filesystem holding the store', (d) => d.freeBytes);
    diskGauge('ledgermq_store_disk_size_bytes', 'Size of the filesystem holding the store', (d) => d.sizeBytes);
    gauge('ledgermq_disk_writes_refused', "Writes refused by the disk watermarks now: 0 none, 1 producers' writes, 2 every write", (s, g) => g.set(s.diskWritesRefused()));
    gauge('rocketmq_consumer_connections', 'Live consumer instances per consumer group (leader)', (s, g) => {
      for (const [group, count] of s.consumerConnections()) g.set({ consumer_group: group }, count);
    }, ['consumer_group']);
    // Lag and inflight come from one walk over the consumer progress, shared by both gauges of a scrape.
    let walked: { atMs: number; rows: ReturnType<BrokerGaugeSource['consumerProgress']> } = { atMs: 0, rows: [] };
    const progress = (source: BrokerGaugeSource): typeof walked.rows => {
      if (Date.now() - walked.atMs > PROGRESS_REUSE_MS) walked = { atMs: Date.now(), rows: source.consumerProgress() };
      return walked.rows;
    };
    gauge('rocketmq_consumer_lag_messages', 'Messages of a topic the consumer group has not acknowledged (leader)', (s, g) => {
      for (const row of progress(s)) g.set({ consumer_group: row.group, topic: row.topic }, row.lag);
    }, ['consumer_group', 'topic']);
    gauge('rocketmq_consumer_inflight_messages', 'Messages delivered to the consumer group and not yet acknowledged (leader)', (s, g) => {
      for (const row of progress(s)) g.set({ consumer_group: row.group, topic: row.topic }, row.inflight);
    }, ['consumer_group', 'topic']);
  }
}
