/**
 * etcd-style Raft series of a broker node in a group (`ledgermq_raft_*`, after etcd's
 * `etcd_server_*` and `etcd_disk_*`), read from the Raft node at each scrape; the disk histograms
 * are fed by the driver as it handles each Ready. Registered only on nodes with peers.
 *
 * | series | type | meaning |
 * |---|---|---|
 * | `ledgermq_raft_has_leader` | gauge | 1 when this node knows a leader |
 * | `ledgermq_raft_is_leader` | gauge | 1 on the leader |
 * | `ledgermq_raft_term` | gauge | current term |
 * | `ledgermq_raft_leader_changes_seen_total` | counter | leader changes this node saw |
 * | `ledgermq_raft_proposals_committed_total` | counter | entries committed since start |
 * | `ledgermq_raft_proposals_applied_total` | counter | entries applied since start |
 * | `ledgermq_raft_proposals_failed_total` | counter | proposals that failed (overwritten, timed out, node stopping) |
 * | `ledgermq_raft_proposals_pending` | gauge | proposals waiting for commit |
 * | `ledgermq_raft_follower_lag_entries{peer}` | gauge | leader only: entries each member is behind the leader's last |
 * | `ledgermq_raft_members{kind}` | gauge | voters and learners in the membership this node applied |
 * | `ledgermq_raft_append_duration_seconds` | histogram | CommitLog write of one Ready's entries |
 * | `ledgermq_raft_fsync_duration_seconds` | histogram | fsync of one Ready (group commit) |
 * | `ledgermq_raft_installs_sent_total` | counter | bulk catch-up streams started to far-behind peers |
 * | `ledgermq_raft_install_entries_total{direction}` | counter | entries sent / received by installs |
 */
import { Histogram } from 'prom-client';
import type { Gauge, Registry } from 'prom-client';
import { cumulativeCounter, sampledGauge } from '../common/sampled-metrics.js';
import type { RaftMetricsView } from '../raft/driver/raft-node.js';

/** Disk latency buckets, seconds: 50 µs .. 4 s. */
const DISK_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096];

/** What the series read at each scrape. */
export interface RaftMetricsSource {
  view(): RaftMetricsView;
  appliedIndex(): number;
}

/** See the file comment. */
export class RaftMetrics {
  private readonly append: Histogram;
  private readonly fsync: Histogram;
  private source: RaftMetricsSource | null = null;
  /** Indexes when the node started serving: the committed and applied counters count from there. */
  private baseline = { commitIndex: 0, applied: 0 };
  /** One view per scrape, shared by every series. */
  private cached: { atMs: number; view: RaftMetricsView; applied: number } | null = null;

  constructor(registry: Registry) {
    const registers = [registry];
    this.append = new Histogram({ name: 'ledgermq_raft_append_duration_seconds', help: "CommitLog write of one Ready's entries", buckets: DISK_BUCKETS, registers });
    this.fsync = new Histogram({ name: 'ledgermq_raft_fsync_duration_seconds', help: 'fsync of one Ready (group commit of the log)', buckets: DISK_BUCKETS, registers });
    const gauge = (name: string, help: string, read: (view: RaftMetricsView, g: Gauge) => void, labelNames: string[] = []): void => {
      sampledGauge({ name, help, registers, labelNames, read: (g) => {
        const sample = this.sample();
        if (sample !== null) read(sample.view, g);
      } });
    };
    gauge('ledgermq_raft_has_leader', '1 when this node knows a leader', (v, g) => g.set(v.leaderId === null ? 0 : 1));
    gauge('ledgermq_raft_is_leader', '1 on the leader', (v, g) => g.set(v.role === 'leader' ? 1 : 0));
    gauge('ledgermq_raft_term', 'Current Raft term', (v, g) => g.set(v.term));
    gauge('ledgermq_raft_proposals_pending', 'Proposals waiting for commit', (v, g) => g.set(v.pendingProposals));
    gauge('ledgermq_raft_follower_lag_entries', "Leader only: entries each member is behind the leader's last entry", (v, g) => {
      for (const peer of v.peers) g.set({ peer: peer.id }, Math.max(0, v.lastIndex - peer.matchIndex));
    }, ['peer']);
    gauge('ledgermq_raft_members', 'Members in the membership this node applied, by kind', (v, g) => {
      g.set({ kind: 'voter' }, v.voters);
      g.set({ kind: 'learner' }, v.learners);
    }, ['kind']);
    /** A counter of a value counted since the node started. */
    const counter = (name: string, help: string, read: (sample: { view: RaftMetricsView; applied: number }) => number): void => {
      cumulativeCounter({ name, help, registers, read: () => {
        const sample = this.sample();
        return sample === null ? null : [{ value: read(sample) }];
      } });
    };
    counter('ledgermq_raft_leader_changes_seen_total', 'Leader changes this node saw', (s) => s.view.leaderChanges);
    counter('ledgermq_raft_proposals_committed_total', 'Entries committed since the node started', (s) => s.view.commitIndex - this.baseline.commitIndex);
    counter('ledgermq_raft_proposals_applied_total', 'Entries applied since the node started', (s) => s.applied - this.baseline.applied);
    counter('ledgermq_raft_proposals_failed_total', 'Proposals that failed: overwritten by a newer leader, timed out, or the node stopping', (s) => s.view.proposalsFailed);
    counter('ledgermq_raft_installs_sent_total', 'Bulk catch-up streams started to far-behind peers', (s) => s.view.installsSent);
    cumulativeCounter({
      name: 'ledgermq_raft_install_entries_total', help: 'Entries sent and received by installs (bulk catch-up)', labelNames: ['direction'], registers,
      read: () => {
        const sample = this.sample();
        return sample === null ? null : [
          { labels: { direction: 'sent' }, value: sample.view.installedEntriesSent },
          { labels: { direction: 'received' }, value: sample.view.installedEntriesReceived },
        ];
      },
    });
  }

  /** Where the series read their values. */
  readFrom(source: RaftMetricsSource): void {
    this.source = source;
    this.baseline = { commitIndex: source.view().commitIndex, applied: source.appliedIndex() };
  }

  /** The driver's disk timings (RaftNodeOptions.observeDisk). */
  observeDisk(operation: 'append' | 'fsync', seconds: number): void {
    (operation === 'append' ? this.append : this.fsync).observe(seconds);
  }

  private sample(): { view: RaftMetricsView; applied: number } | null {
    if (this.source === null) return null;
    const now = Date.now();
    if (this.cached === null || now - this.cached.atMs > 200) this.cached = { atMs: now, view: this.source.view(), applied: this.source.appliedIndex() };
    return this.cached;
  }
}
