/**
 * The `runtime` part of a broker node's `/status` (admin brokerStatus): process, store and
 * transport figures, read when asked.
 */
import type { ServerLimitGuard } from '../common/server-limits.js';
import type { CommitLog } from '../store/commit-log.js';
import type { ConsumeQueueStore } from '../store/consume-queue-store.js';
import { storageBytes } from './broker-gauges.js';
import type { PollWaiters } from './poll-waiters.js';
import type { StateMachine } from './state-machine.js';
import type { TopicTable } from './topic-table.js';

/** What the figures are read from. */
export interface RuntimeSources {
  commitLog: CommitLog;
  consumeQueues: ConsumeQueueStore;
  stateMachine: StateMachine;
  waiters: PollWaiters;
  topicTable: TopicTable;
  /** Null before the node serves. */
  limitGuard: ServerLimitGuard | null;
}

/** Process and store figures, with the in-flight budget's and the connections'. */
export function runtimeFigures(sources: RuntimeSources): Record<string, number | string> {
  const { commitLog, consumeQueues, stateMachine, limitGuard } = sources;
  const memory = process.memoryUsage();
  const storage = storageBytes(commitLog, consumeQueues);
  return {
    pid: process.pid,
    nodeVersion: process.version,
    uptimeSeconds: Math.round(process.uptime()),
    rssBytes: memory.rss,
    heapUsedBytes: memory.heapUsed,
    commitLogBytes: storage.commitLog,
    consumeQueueBytes: storage.consumeQueue,
    dispatchBehindBytes: Math.max(0, commitLog.endPosition - stateMachine.dispatchPosition().nextPosition),
    unflushedEntries: Math.max(0, commitLog.lastIndex - commitLog.durableIndex),
    parkedPolls: sources.waiters.size,
    inflightBytes: limitGuard?.budget.usedBytes ?? 0,
    peakInflightBytes: limitGuard?.budget.peakBytes ?? 0,
    waitingRequests: limitGuard?.waitingRequests ?? 0,
    connections: limitGuard?.connections ?? 0,
    topics: sources.topicTable.topics().length,
    subscriptionGroups: sources.topicTable.groups().length,
  };
}
