/**
 * One broker node: composes the store (CommitLog, ConsumeQueues, MetaStore), the replicated log,
 * the state machine and the broker services, and serves them over gRPC (BrokerService) and HTTP
 * (/metrics, /healthz, /status). Startup recovers the CommitLog, truncates ConsumeQueues to their
 * durable checkpoint and replays committed entries before the node serves anything.
 */
import * as grpc from '@grpc/grpc-js';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DurabilityTrace } from '../common/durability-trace.js';
import { DurableWatermark } from '../common/durable-watermark.js';
import { LedgerError } from '../common/errors.js';
import { HttpEndpoint } from '../common/http-endpoint.js';
import type { Logger } from '../common/logger.js';
import type { BrokerRegistrar } from '../namesrv/broker-registrar.js';
import { brokerRegistrar, raftSettingsOf } from './broker-registration.js';
import { loadInternal } from '../protocol/proto-definitions.js';
import { CommitLog } from '../store/commit-log.js';
import { CommitLogScrubber } from '../store/commit-log-scrubber.js';
import { ConsumeQueueStore } from '../store/consume-queue-store.js';
import { MetaStore } from '../store/meta-store.js';
import { RaftNode } from '../raft/driver/raft-node.js';
import { parsePeers } from './broker-config.js';
import type { BrokerConfig } from './broker-config.js';
import { brokerServiceHandlers } from './broker-grpc-service.js';
import { OpenPullStreams } from './broker-grpc-pulls.js';
import { transferLeadership } from './leadership-transfer.js';
import { MembershipChanger } from './membership-change.js';
import { BrokerConfigEditor } from './broker-config-overrides.js';
import { describeMembership, initialMembership } from '../raft/driver/group-membership.js';
import { startupFacts } from '../common/process-facts.js';
import { BrokerMetrics } from './broker-metrics.js';
import { DISK_LEVEL_VALUE, DiskSpaceMonitor, isNoSpaceError } from './disk-space-monitor.js';
import { consumerProgress, storageBytes } from './broker-gauges.js';
import { runtimeFigures } from './broker-runtime.js';
import { RaftMetrics } from './raft-metrics.js';
import { timedHandlers } from './timed-handlers.js';
import { rebuildDamagedConsumeQueues } from './consume-queue-check.js';
import { CommitPipeline } from './commit-pipeline.js';
import { clampConsumerProgress, cutRecordsDamagedAtRecovery, findLostEntries, rollBackCheckpoints } from './lost-log-tail.js';
import type { LostEntries } from './lost-log-tail.js';
import { PollWaiters } from './poll-waiters.js';
import { ConsumerRegistry } from './consumer-registry.js';
import { MessageReader } from './message-reader.js';
import { OffsetService } from './offset-service.js';
import { parseDelayLevels } from './delay-levels.js';
import { RetryService } from './retry-service.js';
import { DeferredDelivery } from './deferred-delivery.js';
import { ProduceService } from './produce-service.js';
import { QueueLocks } from './queue-locks.js';
import { PopService } from './pop-service.js';
import { PullService } from './pull-service.js';
import { PopState } from './pop-state.js';
import { SendService } from './send-service.js';
import { RaftReplicatedLog } from './raft-replicated-log.js';
import type { ReplicatedLog } from './replicated-log.js';
import { SingleNodeLog } from './single-node-log.js';
import { StateMachine } from './state-machine.js';
import { DeletionFences } from './deletion-fences.js';
import { MessageQuery } from './message-query.js';
import { TopicService } from './topic-service.js';
import { TopicTable } from './topic-table.js';
import { ClusterAuth } from '../security/cluster-auth.js';
import { brokerLimitGuard } from './broker-server-limits.js';
import type { ServerLimitGuard } from '../common/server-limits.js';
import type { BoundListener } from '../security/secure-listener.js';
import { loadServerTls } from '../security/tls-config.js';
import { peerAuthRefusedCounter } from '../security/peer-auth-metric.js';
import { AclService } from './acl-service.js';
import { loadAclTable, withAccessControl } from './broker-access.js';
import { combinedRecovery } from '../store/commit-log-recovery.js';
import type { RecoveryReport } from '../store/commit-log-recovery.js';

/** How long a leadership transfer may take (the target first catches up, then wins at once). */
const TRANSFER_TIMEOUT_MS = 3_000;
/** A learner at most this many entries behind the commit index may be promoted to voter. */
const MAX_PROMOTE_LAG_ENTRIES = 1_000;

/** Data folders of a node, under its dataDir. */
export function nodeDirectories(dataDir: string): { commitLog: string; consumeQueue: string; meta: string } {
  return { commitLog: join(dataDir, 'commitlog'), consumeQueue: join(dataDir, 'consumequeue'), meta: join(dataDir, 'meta') };
}

export interface BrokerNodeOptions {
  config: BrokerConfig;
  logger: Logger;
  /** Called when storage fails (fsync, corrupt committed entry): the process must stop. */
  onFatal: (error: unknown) => void;
}

/** See the file comment. */
export class BrokerNode {
  private closed = false;
  private checkpointTimer: NodeJS.Timeout | undefined;
  private checkpointRunning: Promise<void> = Promise.resolve();
  private scrubber: CommitLogScrubber | null = null;
  private deferred: DeferredDelivery | null = null;
  private limitGuard: ServerLimitGuard | null = null;
  /** What recovering the CommitLog found and cut in this start (/status). */
  private recovery: RecoveryReport | null = null;
  private disk: DiskSpaceMonitor | null = null;

  private constructor(
    readonly config: BrokerConfig,
    private readonly logger: Logger,
    private readonly commitLog: CommitLog,
    private readonly consumeQueues: ConsumeQueueStore,
    private readonly metaStore: MetaStore,
    private readonly log: ReplicatedLog,
    private readonly raft: RaftNode | null,
    private readonly stateMachine: StateMachine,
    private readonly topicTable: TopicTable,
    private readonly waiters: PollWaiters,
    readonly metrics: BrokerMetrics,
    private readonly server: grpc.Server,
    private readonly listener: BoundListener,
    private readonly http: HttpEndpoint,
    private readonly registrar: BrokerRegistrar,
    readonly brokerAddress: string,
    private readonly lostEntries: LostEntries | null,
    private readonly pullStreams: OpenPullStreams,
  ) {}

  /** Recovers the store, replays the log, then serves. Rejects if recovery or binding fails. */
  static async start(options: BrokerNodeOptions): Promise<BrokerNode> {
    const { config, logger } = options;
    const startedAtMs = Date.now();
    const dirs = nodeDirectories(config.dataDir);
    // Startup only: create the folders synchronously.
    for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true });
    const metaStore = MetaStore.open(dirs.meta);
    const popState = new PopState();
    const topicTable = new TopicTable();
    for (const topic of metaStore.topics()) topicTable.putTopic(topic);
    for (const group of metaStore.groups()) topicTable.putGroup(group);
    const aclTable = loadAclTable(config, metaStore);
    const inflightByQueue = new Map<string, Array<[number, { visibleAtMs: number; attempts: number; handleSeq: number }]>>();
    for (const { queueKey, offset, value } of metaStore.inflight()) {
      const list = inflightByQueue.get(queueKey) ?? [];
      list.push([offset, value]);
      inflightByQueue.set(queueKey, list);
    }
    for (const { key, value } of metaStore.progress()) {
      const [group, topic, queueId] = key.split('\u0000');
      popState.restore(group, topic, Number(queueId), value, inflightByQueue.get(key) ?? []);
    }
    const members = parsePeers(config.peers, config.nodeId);
    const clusterAuth = config.clusterSecretFile ? ClusterAuth.fromFile(config.clusterSecretFile, config.authMaxSkewMs) : null;
    if (clusterAuth === null && members.size > 0) logger.warn('no clusterSecretFile: Raft calls and NameServer registrations are not authenticated');
    const replicated = members.size > 0;
    if (config.joinAsLearner && !replicated) throw new LedgerError('BAD_REQUEST', 'joinAsLearner needs peers: the group to join and this node');
    const replayFrom = Math.min(metaStore.applied().nextPosition, metaStore.dispatched().nextPosition);
    const trace = DurabilityTrace.fromEnvironment(config.nodeId);
    const watermark = DurableWatermark.fromEnvironment(config.nodeId);
    const onDurable = trace || watermark ? (index: number): void => { trace?.record('durable', index); watermark?.record(index); } : undefined;
    const openLog = (recoverFromPosition: number): Promise<CommitLog> => CommitLog.open({
      dir: dirs.commitLog, segmentSizeBytes: config.segmentSizeBytes, logger, recoverFromPosition, onDurable,
    });
    let commitLog = await openLog(replayFrom);
    let recovery = commitLog.recovery;
    const consumeQueues = ConsumeQueueStore.open({ dir: dirs.consumeQueue, logger });
    await consumeQueues.truncateAllFromPosition(metaStore.dispatched().nextPosition);
    if (await rebuildDamagedConsumeQueues(consumeQueues, commitLog, metaStore, config.maxBatchBytes, logger)) {
      // Replay now reads records recovery trusted: recover again from the new checkpoint, so a
      // damaged one among them is handled like any found at recovery (below), not met at replay.
      await commitLog.close();
      commitLog = await openLog(Math.min(replayFrom, metaStore.dispatched().nextPosition));
      recovery = combinedRecovery(recovery, commitLog.recovery);
    }
    // The catch-up marker it persists is picked up by RaftNode.start.
    if (replicated) await cutRecordsDamagedAtRecovery(commitLog, metaStore, logger);
    const lostEntries = findLostEntries(commitLog, metaStore, logger);
    // A single node has no replica to restore committed entries its log lost: forget them. In a
    // group the leader sends them again, byte for byte, and the state machine skips what it applied.
    if (lostEntries && !replicated) await rollBackCheckpoints(commitLog, metaStore);
    // Again: a single node that lost entries rolled its dispatch checkpoint back.
    await consumeQueues.truncateAllFromPosition(metaStore.dispatched().nextPosition);
    logger.info({ recovery, applied: metaStore.applied(), dispatched: metaStore.dispatched(), lastIndex: commitLog.lastIndex }, 'store recovered');

    const metrics = new BrokerMetrics({ cluster: config.cluster, group: config.group, node: config.nodeId });
    const raftMetrics = replicated ? new RaftMetrics(metrics.registry) : null;
    // Sampled before Raft starts, so a node restarted on a full disk takes no entries it cannot store.
    const disk = new DiskSpaceMonitor({
      dir: config.dataDir, marks: config, intervalMs: config.diskCheckIntervalMs, logger,
      onRefused: (kind) => metrics.diskRefusedWrites.inc({ kind }),
    });
    await disk.start();
    const brokerAddress = `${config.host}:${config.brokerPort}`;
    const tls = loadServerTls({ mode: config.tlsMode, certFile: config.tlsCertFile, keyFile: config.tlsKeyFile, caFile: config.tlsCaFile }, 'broker config');
    const peerAuthRefused = peerAuthRefusedCounter(metrics.registry);
    // Bound once the Raft node exists (a group only): entries unreadable while it repairs its log.
    let raftRef: RaftNode | null = null;
    const fences = new DeletionFences();
    for (const { key, intervals } of metaStore.fences()) fences.restore(key, intervals);
    const stateMachine = new StateMachine({
      commitLog, consumeQueues, metaStore, popState, topics: topicTable, acl: aclTable, fences, logger, onFatal: options.onFatal,
      onUnreadableEntry: (index, error) => raftRef !== null && (raftRef.repairOnDamage(error, index - 1) || raftRef.restoringLog),
      // While replaying before the Raft node starts, the MetaStore keeps it; the node boots from it.
      onMembership: (membership, index) => raftRef?.applyMembership(membership, index),
    });
    const waitApplied = (index: number): Promise<unknown> => (stateMachine.appliedIndex >= index ? Promise.resolve() : stateMachine.waitApplied(index));
    const limitGuard = brokerLimitGuard(config, metrics.registry);
    const waiters = new PollWaiters(config.maxParkedPolls, Date.now, () => limitGuard.refused('parked_polls'));
    stateMachine.onDispatch((topic, queueId) => waiters.notify(topic, queueId));
    // Entries up to a checkpoint were applied, so committed: replay them before serving.
    const knownCommitted = Math.min(commitLog.lastIndex, Math.max(metaStore.applied().index, metaStore.dispatched().index));
    let log: ReplicatedLog;
    let raft: RaftNode | null = null;
    if (replicated) {
      await replay(stateMachine, knownCommitted, logger);
      // Joining until a membership naming this node is applied (restarts mid-join included).
      const persistedMembership = metaStore.raftMembership();
      // A node once a member and since removed stays removed, joinAsLearner or not.
      const joining = config.joinAsLearner && !metaStore.wasMember() && !(persistedMembership?.members.some((m) => m.id === config.nodeId) ?? false);
      raft = await RaftNode.start({
        id: config.nodeId,
        group: config.group,
        membership: joining
          ? { members: [...(persistedMembership?.members ?? initialMembership(members, config.nodeId, true).members).filter((m) => m.id !== config.nodeId), { id: config.nodeId, raftAddress: members.get(config.nodeId) ?? '', voter: false }] }
          : persistedMembership ?? initialMembership(members, config.nodeId, false),
        joining,
        listenAddress: members.get(config.nodeId) ?? '',
        brokerAddress,
        commitLog,
        hardState: {
          load: () => metaStore.raftHardState(),
          save: (state) => metaStore.writeRaftHardState(state),
          loadCatchUp: () => metaStore.raftCatchUp(),
          saveCatchUp: (value) => metaStore.writeRaftCatchUp(value),
        },
        knownCommitted,
        configAppliedThrough: metaStore.applied().index,
        catchUp: lostEntries
          ? { untilIndex: lostEntries.toIndex }
          : commitLog.lastIndex === 0 && metaStore.raftHardState().term === 0 && (config.initialClusterState === 'existing' || joining)
            ? { untilIndex: null }
            : null,
        settings: raftSettingsOf(config),
        logger,
        onFatal: options.onFatal,
        observeDisk: (operation, seconds) => raftMetrics?.observeDisk(operation, seconds),
        clusterAuth,
        tls,
        onPeerRefused: (reason) => peerAuthRefused.inc({ port: 'raft', reason }),
        acceptsEntries: () => disk.acceptsReplicatedEntries(),
      });
      raftRef = raft;
      const started = raft;
      raftMetrics?.readFrom({ view: () => started.metricsView(), appliedIndex: () => stateMachine.appliedIndex });
      log = new RaftReplicatedLog(raft, config.nodeId, () => stateMachine.appliedIndex);
    } else {
      const single = new SingleNodeLog(commitLog, config.nodeId, brokerAddress, 1);
      log = single;
      await replay(stateMachine, single.commitIndex, logger);
      if (lostEntries) await clampConsumerProgress(popState, consumeQueues, metaStore, logger);
    }
    log.onCommit((commitIndex) => stateMachine.notifyCommit(commitIndex));

    const pipeline = new CommitPipeline(log, stateMachine, trace ? (index) => trace.record('ack', index) : undefined, () => disk.checkInternalWrite());
    const topics = new TopicService(config, topicTable, pipeline);
    const unsafeAck = process.env.LEDGERMQ_UNSAFE_TEST_ACK_BEFORE_COMMIT === '1';
    if (unsafeAck) logger.warn('LEDGERMQ_UNSAFE_TEST_ACK_BEFORE_COMMIT=1: sends are acknowledged BEFORE they are committed; acknowledged messages WILL be lost (test mode)');
    const sender = new SendService(log, topics, pipeline, unsafeAck);
    const reader = new MessageReader({
      commitLog, logger, corruptReads: metrics.corruptReads,
      onCorruptRead: raft === null ? undefined : (position, error) => raft.reportDamagedPosition(position, error),
    });
    const popper = new PopService({ config, log, consumeQueues, popState, topics, pipeline, waiters, sender, reader });
    const offsets = new OffsetService({ log, commitLog, consumeQueues, popState, topics, pipeline, waiters });
    const consumers = new ConsumerRegistry({ expiryMs: config.consumerExpiryMs, maxConnections: config.maxConsumerConnections });
    const delayLevels = parseDelayLevels(config.messageDelayLevel);
    const retries = new RetryService({ log, consumeQueues, topics, sender, reader, delayLevels });
    const deferred = new DeferredDelivery({ config, log, commitLog, consumeQueues, popState, metaStore, stateMachine, pipeline, sender, reader, delayLevels, logger });
    const producer = new ProduceService({ config, sender, topics, delayLevels, openTransactions: () => metaStore.transactions.size, checkDiskSpace: () => disk.checkProducerWrite() });
    const queueLocks = new QueueLocks();
    const puller = new PullService({
      config, log, commitLog, consumeQueues, topics, waiters, reader, popState,
      replicas: raft === null ? null : { followersHolding: (index) => raft.followersHolding(index) },
      onServed: (role, messages) => metrics.pullsServed.inc({ role }, messages),
    });

    const pullStreams = new OpenPullStreams();
    const configEditor = new BrokerConfigEditor(config, config.dataDir);
    const server = new grpc.Server(limitGuard.serverOptions());
    server.addService(limitGuard.service(loadInternal().ledgermq.v1.BrokerService.service), timedHandlers(withAccessControl(brokerServiceHandlers({
      producer, queueLocks, timers: deferred.timers, transactions: deferred.transactions, transactionWatchers: deferred.transactionWatchers, popper, puller, topics, offsets, consumers, retries, log, metrics, logger, maxPullsPerStream: config.maxPullsPerStream, pullStreams,
      transferLeadership: raft === null ? null : (target) => transferLeadership(raft, log, target, TRANSFER_TIMEOUT_MS),
      nodeId: config.nodeId,
      query: new MessageQuery({ index: metaStore.messageIndex, reader, fences }),
      configEditor,
      membership: raft === null ? null : new MembershipChanger({ raft, log, waitApplied, logger, maxPromoteLagEntries: MAX_PROMOTE_LAG_ENTRIES }),
      acl: new AclService(aclTable, pipeline),
    }), { config, acl: aclTable, clusterAuth, registry: metrics.registry, logger }), metrics.rpcLatency, new Set(['PullStream'])));
    const listener = await limitGuard.listen(server, brokerAddress, { tls, role: 'client' });

    const registrar = brokerRegistrar({ config, brokerAddress, log, topicTable, tls, clusterAuth, logger });
    topicTable.onTopicsChanged(() => registrar.notifyChange());
    // A node removed from its group leaves the NameServers' routes; the operator stops it. Once a
    // membership names it, it is remembered as a member (a later joinAsLearner start is no join).
    raft?.onMembershipChange(() => {
      if (raft.isMember && !raft.joiningGroup) metaStore.markWasMember().catch(options.onFatal);
      if (!raft.isMember) void registrar.stop();
    });
    // RocketMQ brokers re-register at once on a role change; the Proxy routes by it.
    // Parked long polls wake on a role change: on a node that stopped leading they answer NOT_LEADER
    // at once, and the Proxy retries them on the new leader instead of waiting out the poll.
    if (log instanceof RaftReplicatedLog) {
      log.onLeadershipChange(() => {
        registrar.notifyChange();
        waiters.releaseAll();
        // A new leader learns its consumers afresh from their heartbeats (see consumer-registry.ts)
        // and takes over delivering scheduled retries.
        if (log.isLeader()) {
          consumers.restart();
          deferred.wakeAll();
        } else {
          const view = log.leadership();
          deferred.leadershipLost(view.leaderId, view.leaderAddress);
          queueLocks.clear();
        }
      }, (index) => stateMachine.waitApplied(index));
    }

    // The node object exists before HTTP starts so /status can read it.
    const holder: { node?: BrokerNode } = {};
    const http = await HttpEndpoint.start({
      host: config.host,
      port: config.httpPort,
      registry: metrics.registry,
      status: () => holder.node?.status() ?? { node: config.nodeId, starting: true },
      notReadyReason: () => (holder.node ? holder.node.notReadyReason() : 'starting'),
    });
    const node = new BrokerNode(config, logger, commitLog, consumeQueues, metaStore, log, raft, stateMachine, topicTable, waiters, metrics, server, listener, http, registrar, brokerAddress, lostEntries, pullStreams);
    metrics.readGaugesFrom({
      commitIndex: () => log.leadership().commitIndex,
      appliedIndex: () => stateMachine.appliedIndex,
      parkedPolls: () => waiters.size,
      openPullStreams: () => pullStreams.size,
      topicCount: () => topicTable.topics().length,
      consumerGroupCount: () => topicTable.groups().length,
      storageBytes: () => storageBytes(commitLog, consumeQueues),
      writePendingBytes: () => commitLog.stats.pendingBytes,
      unflushedEntries: () => Math.max(0, commitLog.lastIndex - commitLog.durableIndex),
      dispatchBehindBytes: () => Math.max(0, commitLog.endPosition - stateMachine.dispatchPosition().nextPosition),
      // A scrape samples afresh (and moves the watermark level with it).
      diskSpace: () => disk.checkNow().then(() => disk.lastSample ?? Promise.reject(new Error('no disk sample yet'))),
      diskWritesRefused: () => DISK_LEVEL_VALUE[disk.level],
      consumerConnections: () => (log.isLeader() ? consumers.groupSizes() : new Map()),
      consumerProgress: () => (log.isLeader() ? consumerProgress(popState, consumeQueues) : []),
    });
    topicTable.onDeleted((kind, name) => (kind === 'topic' ? metrics.forgetTopic(name) : metrics.forgetConsumerGroup(name)));
    holder.node = node;
    node.deferred = deferred;
    node.limitGuard = limitGuard;
    node.recovery = recovery;
    node.disk = disk;
    // Retries, delayed messages and transactions left by an earlier run (a leader of one node never changes role).
    deferred.wakeAll();
    if (raft === null || raft.isMember) registrar.start();
    else logger.warn({ node: config.nodeId }, 'this node was removed from its group: it does not register with the NameServers; stop it');
    node.checkpointTimer = setInterval(() => node.scheduleCheckpoint(), config.dispatchCheckpointIntervalMs);
    if (config.scrubBytesPerSecond > 0) {
      node.scrubber = new CommitLogScrubber({
        commitLog,
        limitIndex: () => log.commitIndex,
        isHeld: () => raft !== null && raft.restoringLog,
        // A single node has no intact copy to fetch: the damage stays reported (log, metric, /status).
        onDamage: (error) => raft !== null && raft.repairOnDamage(error, (error.index ?? commitLog.firstIndex) - 1),
        bytesPerSecond: config.scrubBytesPerSecond,
        intervalMs: config.scrubIntervalMs,
        logger,
        counters: { bytes: metrics.scrubBytes, passes: metrics.scrubPasses, damaged: metrics.scrubDamaged },
      });
      node.scrubber.start();
    }
    const view = log.leadership();
    logger.info({
      // The logger already names the group and node.
      ...startupFacts(startedAtMs), cluster: config.cluster, broker: brokerAddress, http: http.address, tlsMode: config.tlsMode,
      raft: members.get(config.nodeId) ?? null, members: raft === null ? null : describeMembership(raft.membership), role: view.role, term: view.term,
      dataDir: config.dataDir, lastIndex: commitLog.lastIndex, overrides: configEditor.overriddenKeys(),
    }, 'broker node serving');
    return node;
  }

  /**
   * Why this node cannot serve now, or null when it can (`/readyz`): it serves while it leads, or
   * follows a known leader (reads, hints to the leader); not while stopping, without a leader, or
   * while its Raft node repairs its log or has failed.
   */
  notReadyReason(): string | null {
    if (this.closed) return 'stopping';
    const raft = this.raft?.status();
    if (raft?.failed === true) return 'the Raft node failed (see the log)';
    if (raft?.repairing === true) return 'repairing its log';
    if (this.raft !== null && !this.raft.isMember) return 'removed from its group';
    if (this.log.isLeader()) return null;
    const view = this.log.leadership();
    if (view.role === 'follower' && view.leaderId !== null) return null;
    return view.role === 'leader' ? 'leader still applying entries from before its term' : 'no known leader';
  }

  /** The `/status` document (field names are relied on by monitoring and the test harness). */
  status(): Record<string, unknown> {
    const view = this.log.leadership();
    return {
      cluster: this.config.cluster,
      group: this.config.group,
      node: this.config.nodeId,
      role: view.role,
      term: view.term,
      leader: view.leaderId,
      leaderAddress: view.leaderAddress,
      commitIndex: view.commitIndex,
      appliedIndex: this.stateMachine.appliedIndex,
      lastIndex: this.commitLog.lastIndex,
      broker: this.brokerAddress,
      topics: this.topicTable.topics().map((t) => t.name),
      recovery: this.recovery,
      lostEntries: this.lostEntries,
      scrub: this.scrubber?.status() ?? null,
      raft: this.raft?.status() ?? null,
      // Waiting on this node (every node keeps them; the leader acts on them).
      delayedMessages: this.deferred?.timers.pending() ?? 0,
      openTransactions: this.deferred?.transactions.pending() ?? 0,
      disk: this.disk?.status() ?? null,
      runtime: runtimeFigures({
        commitLog: this.commitLog, consumeQueues: this.consumeQueues, stateMachine: this.stateMachine, waiters: this.waiters, topicTable: this.topicTable, limitGuard: this.limitGuard,
      }),
    };
  }

  /** Fsyncs every ConsumeQueue, then records the dispatch and applied checkpoint; never runs twice at once. */
  private scheduleCheckpoint(): void {
    this.checkpointRunning = this.checkpointRunning.then(async () => {
      const checkpoint = this.stateMachine.dispatchPosition();
      await this.consumeQueues.flushAll();
      await this.metaStore.writeCheckpoint(checkpoint);
    }).catch((error: unknown) => {
      this.logger.fatal({ err: error }, 'cannot persist the ConsumeQueue checkpoint');
      if (isNoSpaceError(error)) void this.disk?.checkNow();
    });
  }

  /**
   * Stops serving and closes the store cleanly (final checkpoint included). A leader first hands
   * its leadership to a caught-up follower, so the group has a leader again at once instead of
   * after an election timeout.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.raft !== null && this.log.isLeader()) {
      try {
        const view = await transferLeadership(this.raft, this.log, null, TRANSFER_TIMEOUT_MS);
        this.logger.info({ newLeader: view.leaderId, term: view.term }, 'leadership handed over before stopping');
      } catch (error) {
        this.logger.warn({ err: error, group: this.config.group, node: this.config.nodeId }, 'could not hand leadership over before stopping; the group elects a new leader');
      }
    }
    clearInterval(this.checkpointTimer);
    this.disk?.stop();
    this.deferred?.stop();
    await this.scrubber?.stop();
    await this.registrar.stop();
    // Long-lived PullStreams would hold tryShutdown forever; parked requests end unanswered or empty.
    this.pullStreams.endAll();
    this.waiters.close();
    this.listener.close();
    await new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
    await this.http.close();
    await this.raft?.close();
    this.scheduleCheckpoint();
    await this.checkpointRunning;
    await this.commitLog.close();
    await this.consumeQueues.close();
    await this.metaStore.close();
    this.logger.info({ lastIndex: this.commitLog.lastIndex, commitIndex: this.log.commitIndex, uptimeSeconds: Math.round(process.uptime()) }, 'broker node stopped');
  }
}

/** Applies committed entries up to `commitIndex` (startup replay) and waits for them. */
async function replay(stateMachine: StateMachine, commitIndex: number, logger: Logger): Promise<void> {
  if (commitIndex <= stateMachine.appliedIndex) return;
  stateMachine.notifyCommit(commitIndex);
  await stateMachine.waitApplied(commitIndex);
  logger.info({ replayedTo: commitIndex }, 'replayed committed entries');
}
