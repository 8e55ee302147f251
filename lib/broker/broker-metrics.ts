import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** The broker node's Prometheus series (seconds and bytes as units, counters end in `_total`). */
export class BrokerMetrics {
  readonly registry = new Registry();
  readonly messagesIn: Counter<'topic'>;
  readonly bytesIn: Counter<'topic'>;
  readonly messagesOut: Counter<'topic' | 'group'>;
  readonly corruptReads: Counter;
  readonly pullsServed: Counter<'role'>;
  readonly scrubBytes: Counter;
  readonly scrubPasses: Counter;
  readonly scrubDamaged: Counter;
  readonly commitIndex: Gauge;
  readonly appliedIndex: Gauge;
  readonly parkedPolls: Gauge;

  constructor(labels: { cluster: string; group: string; node: string }) {
    this.registry.setDefaultLabels(labels);
    collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];
    this.messagesIn = new Counter({ name: 'rocketmq_messages_in_total', help: 'Messages committed by producers', labelNames: ['topic'], registers });
    this.bytesIn = new Counter({ name: 'rocketmq_throughput_in_total', help: 'Message body bytes committed by producers', labelNames: ['topic'], registers });
    this.messagesOut = new Counter({ name: 'rocketmq_messages_out_total', help: 'Messages delivered to consumers', labelNames: ['topic', 'group'], registers });
    this.corruptReads = new Counter({ name: 'ledgermq_store_corrupt_reads_total', help: 'Reads refused because a stored message failed its checksum', registers });
    this.pullsServed = new Counter({ name: 'ledgermq_pull_messages_served_total', help: 'Messages this node served to pull consumers, by the role it had', labelNames: ['role'], registers });
    this.scrubBytes = new Counter({ name: 'ledgermq_store_scrub_read_bytes_total', help: 'CommitLog bytes read and checked by the background scrub', registers });
    this.scrubPasses = new Counter({ name: 'ledgermq_store_scrub_passes_total', help: 'Background scrub passes completed over the committed log', registers });
    this.scrubDamaged = new Counter({ name: 'ledgermq_store_scrub_damaged_records_total', help: 'Damaged committed records found by the background scrub', registers });
    this.commitIndex = new Gauge({ name: 'ledgermq_raft_commit_index', help: 'Highest committed log index', registers });
    this.appliedIndex = new Gauge({ name: 'ledgermq_raft_applied_index', help: 'Highest applied log index', registers });
    this.parkedPolls = new Gauge({ name: 'ledgermq_broker_parked_polls', help: 'Long-poll requests waiting for messages', registers });
  }
}
