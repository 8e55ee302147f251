import { Counter, Gauge, Registry } from 'prom-client';
import { collectProcessMetrics } from '../common/process-metrics.js';

/** Values the broker's gauges read at each scrape. */
export interface GaugeSample {
  commitIndex: number;
  appliedIndex: number;
  parkedPolls: number;
}

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
  private sampler: (() => GaugeSample) | null = null;

  constructor(labels: { cluster: string; group: string; node: string }) {
    this.registry.setDefaultLabels(labels);
    collectProcessMetrics(this.registry);
    const registers = [this.registry];
    this.messagesIn = new Counter({ name: 'rocketmq_messages_in_total', help: 'Messages committed by producers', labelNames: ['topic'], registers });
    this.bytesIn = new Counter({ name: 'rocketmq_throughput_in_total', help: 'Message body bytes committed by producers', labelNames: ['topic'], registers });
    this.messagesOut = new Counter({ name: 'rocketmq_messages_out_total', help: 'Messages delivered to consumers', labelNames: ['topic', 'group'], registers });
    this.corruptReads = new Counter({ name: 'ledgermq_store_corrupt_reads_total', help: 'Reads refused because a stored message failed its checksum', registers });
    this.pullsServed = new Counter({ name: 'ledgermq_pull_messages_served_total', help: 'Messages this node served to pull consumers, by the role it had', labelNames: ['role'], registers });
    this.scrubBytes = new Counter({ name: 'ledgermq_store_scrub_read_bytes_total', help: 'CommitLog bytes read and checked by the background scrub', registers });
    this.scrubPasses = new Counter({ name: 'ledgermq_store_scrub_passes_total', help: 'Background scrub passes completed over the committed log', registers });
    this.scrubDamaged = new Counter({ name: 'ledgermq_store_scrub_damaged_records_total', help: 'Damaged committed records found by the background scrub', registers });
    /** A gauge set from the sampler at each scrape (not only when someone asks for /status). */
    const sampledGauge = (name: string, help: string, pick: (sample: GaugeSample) => number): Gauge => {
      const gauge: Gauge = new Gauge({
        name, help, registers,
        collect: () => {
          const sample = this.sampler?.();
          if (sample) gauge.set(pick(sample));
        },
      });
      return gauge;
    };
    this.commitIndex = sampledGauge('ledgermq_raft_commit_index', 'Highest committed log index', (s) => s.commitIndex);
    this.appliedIndex = sampledGauge('ledgermq_raft_applied_index', 'Highest applied log index', (s) => s.appliedIndex);
    this.parkedPolls = sampledGauge('ledgermq_broker_parked_polls', 'Long-poll requests waiting for messages', (s) => s.parkedPolls);
  }

  /** Where the gauges read their values at each scrape. */
  sampleGaugesFrom(sampler: () => GaugeSample): void {
    this.sampler = sampler;
  }
}
