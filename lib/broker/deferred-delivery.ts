/**
 * The leader's jobs that deliver messages later: scheduled retries (ScheduleService), delayed
 * messages (TimerService) and transaction checks (TransactionService, with the streams of the
 * producers that answer them). One place wakes them when there is work or leadership comes, and
 * stops them; each keeps its own state in the replicated log, so a new leader carries on.
 */
import { NotLeaderError, LedgerError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { CommitLog } from '../store/commit-log.js';
import type { ConsumeQueueStore } from '../store/consume-queue-store.js';
import type { MetaStore } from '../store/meta-store.js';
import { HALF_TOPIC } from '../store/transaction-table.js';
import type { BrokerConfig } from './broker-config.js';
import type { CommitPipeline } from './commit-pipeline.js';
import type { MessageReader } from './message-reader.js';
import type { PopState } from './pop-state.js';
import type { ReplicatedLog } from './replicated-log.js';
import { SCHEDULE_TOPIC, ScheduleService } from './schedule-service.js';
import type { SendService } from './send-service.js';
import type { StateMachine } from './state-machine.js';
import { TimerService } from './timer-service.js';
import { TransactionService } from './transaction-service.js';
import { TransactionWatchers } from './transaction-watchers.js';

/** What the deferred-delivery jobs work with. */
export interface DeferredDeliveryDeps {
  config: BrokerConfig;
  log: ReplicatedLog;
  commitLog: CommitLog;
  consumeQueues: ConsumeQueueStore;
  popState: PopState;
  metaStore: MetaStore;
  stateMachine: StateMachine;
  pipeline: CommitPipeline;
  sender: SendService;
  reader: MessageReader;
  delayLevels: readonly number[];
  logger: Logger;
}

/** See the file comment. */
export class DeferredDelivery {
  readonly schedule: ScheduleService;
  readonly timers: TimerService;
  readonly transactions: TransactionService;
  readonly transactionWatchers = new TransactionWatchers();

  constructor(deps: DeferredDeliveryDeps) {
    const { config, log, commitLog, consumeQueues, popState, metaStore, pipeline, sender, reader, delayLevels, logger } = deps;
    this.schedule = new ScheduleService({ log, commitLog, consumeQueues, popState, pipeline, sender, reader, delayLevels, logger });
    this.timers = new TimerService({ config, log, index: metaStore.timerIndex, reader, sender, pipeline, logger });
    this.transactions = new TransactionService({ config, log, table: metaStore.transactions, reader, sender, pipeline, watchers: this.transactionWatchers, logger });
    deps.stateMachine.onDispatch((topic) => {
      if (topic === SCHEDULE_TOPIC) this.schedule.wake();
      if (topic === HALF_TOPIC) this.transactions.wake();
    });
    // Timer rows are readable once LMDB committed them (see TimerIndex).
    metaStore.timerIndex.onAdded(() => this.timers.wake());
  }

  /** Looks for work now (startup, or this node became leader). */
  wakeAll(): void {
    this.schedule.wake();
    this.timers.wake();
    this.transactions.wake();
  }

  /** This node stopped leading: producers watching for transaction checks reconnect to the leader. */
  leadershipLost(leaderId: string | null, leaderAddress: string | null): void {
    this.transactionWatchers.endAll(new NotLeaderError(leaderId, leaderAddress));
  }

  stop(): void {
    this.schedule.stop();
    this.timers.stop();
    this.transactions.stop();
    this.transactionWatchers.endAll(new LedgerError('HA_NOT_AVAILABLE', 'the broker node is stopping'));
  }
}
