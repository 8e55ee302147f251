/**
 * Transactional messages (RocketMQ's two-phase send), on the leader. A producer's TRANSACTION send
 * stores a half message in {@link HALF_TOPIC} (ProduceService), invisible to consumers. Then:
 *
 * - **Commit** (EndTransaction): the half message is copied to its real topic with
 *   TRAN_END_OF naming the transaction; dispatching that copy ends the transaction on every node in
 *   log order, so a commit is delivered once, also when it is repeated or crosses a failover.
 * - **Rollback**: a `txn.rollback` META command ends it; nothing is delivered.
 * - **Check**: a transaction still pending `transactionTimeoutMs` after it was stored, and then
 *   every `transactionCheckIntervalMs`, is sent to a watcher of its topic (TransactionWatchers:
 *   our client's checker, or the Proxy, which asks an official client over Telemetry with
 *   RecoverOrphanedTransactionCommand); the producer answers with EndTransaction. Each check is
 *   counted through the log (`txn.checked`); after `transactionCheckMax` checks the transaction is
 *   rolled back (or committed, with transactionCommitWhenUnresolved).
 *
 * Transaction ids are `<broker group>:<message id>`: the Proxy routes EndTransaction by them.
 * Before it acts in a new term, or after a write whose outcome is unknown, the leader commits an
 * empty entry (LeaderBarrier) and so has applied every earlier commit and rollback: a repeated or
 * retried decision never commits a second copy or a rolled-back transaction.
 */
import { LedgerError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { WakeableLoop } from '../common/wakeable-loop.js';
import type { StoredMessage } from '../store/message-codec.js';
import { HALF_TOPIC, TRANSACTION_END_PROPERTY, transactionKey } from '../store/transaction-table.js';
import type { HalfMessage, TransactionTable } from '../store/transaction-table.js';
import type { BrokerConfig } from './broker-config.js';
import type { CommitPipeline } from './commit-pipeline.js';
import type { MessageReader } from './message-reader.js';
import { toMessageData } from './message-wire.js';
import { LeaderBarrier } from './leader-barrier.js';
import { requireLeader } from './replicated-log.js';
import type { ReplicatedLog } from './replicated-log.js';
import type { SendService } from './send-service.js';
import { SystemProperty } from './system-properties.js';
import type { TransactionWatchers } from './transaction-watchers.js';
import { transactionIdOf } from '../common/transaction-id.js';

/** What the TransactionService works with. */
export interface TransactionServiceDeps {
  config: Pick<BrokerConfig, 'group' | 'transactionTimeoutMs' | 'transactionCheckIntervalMs' | 'transactionCheckMax' | 'transactionCommitWhenUnresolved'>;
  log: ReplicatedLog;
  table: TransactionTable;
  reader: MessageReader;
  sender: SendService;
  pipeline: CommitPipeline;
  watchers: TransactionWatchers;
  logger: Logger;
  clock?: () => number;
}

/** Transactions handled per check round. */
const ROUND_LIMIT = 256;
/** Errors of a commit that will not pass by retrying: the transaction is rolled back instead. */
const PERMANENT = new Set(['TOPIC_NOT_FOUND', 'ILLEGAL_TOPIC', 'FORBIDDEN']);

/** See the file comment. */
export class TransactionService {
  private readonly loop: WakeableLoop;
  private readonly clock: () => number;
  /** Transactions this leader is committing or rolling back now (key → the outcome's promise). */
  private readonly ending = new Map<string, Promise<void>>();
  private readonly barrier: LeaderBarrier;

  constructor(private readonly deps: TransactionServiceDeps) {
    this.clock = deps.clock ?? Date.now;
    this.barrier = new LeaderBarrier(deps.log, deps.pipeline);
    this.loop = new WakeableLoop(() => this.round(), (error) => deps.logger.warn({ err: error }, 'transaction check round failed; retrying'));
  }

  /** Looks for transactions to check now (leadership changed, a half message arrived). */
  wake(): void {
    this.loop.wake();
  }

  stop(): void {
    this.loop.stop();
  }

  /**
   * Commits or rolls back a pending transaction. Repeating the same decision answers OK; the other
   * decision on an ended transaction, an unknown one or a transaction id that does not match
   * answers INVALID_TRANSACTION_ID.
   */
  async end(topic: string, messageId: string, transactionId: string, commit: boolean): Promise<void> {
    requireLeader(this.deps.log);
    if (transactionId !== transactionIdOf(this.deps.config.group, messageId)) {
      throw new LedgerError('INVALID_TRANSACTION_ID', `transaction id ${JSON.stringify(transactionId)} does not name message ${messageId} of broker group ${this.deps.config.group}`);
    }
    await this.barrier.ready();
    const key = transactionKey(topic, messageId);
    const running = this.ending.get(key);
    if (running) await running.catch(() => undefined);
    const half = this.deps.table.get(key);
    if (!half) {
      const outcome = this.deps.table.outcomeOf(key);
      if (outcome === (commit ? 'COMMIT' : 'ROLLBACK')) return;
      throw new LedgerError('INVALID_TRANSACTION_ID', outcome
        ? `transaction of message ${messageId} was already ${outcome === 'COMMIT' ? 'committed' : 'rolled back'}`
        : `no pending transaction for message ${messageId} on topic ${topic}`);
    }
    await this.endOnce(key, half, commit);
  }

  /** Pending transactions on this node. */
  pending(): number {
    return this.deps.table.size;
  }

  private endOnce(key: string, half: HalfMessage, commit: boolean): Promise<void> {
    const work = (commit ? this.commit(key, half) : this.rollback([key])).finally(() => {
      this.ending.delete(key);
      // A failed end leaves the transaction pending: its checks go on.
      this.wake();
    });
    this.ending.set(key, work);
    return work;
  }

  private async commit(key: string, half: HalfMessage): Promise<void> {
    const message = await this.deps.reader.read(HALF_TOPIC, 0, half.queueOffset, half.position, half.size);
    const properties: Record<string, string> = { ...message.properties, [TRANSACTION_END_PROPERTY]: key };
    const queueId = Number(properties[SystemProperty.REAL_QUEUE_ID] ?? -1);
    delete properties[SystemProperty.REAL_TOPIC];
    delete properties[SystemProperty.REAL_QUEUE_ID];
    try {
      await this.barrier.certain(this.deps.sender.send(half.topic, Number.isInteger(queueId) ? queueId : -1, [{ ...message, topic: half.topic, properties }]));
    } catch (error) {
      if (!(error instanceof LedgerError) || !PERMANENT.has(error.code)) throw error;
      this.deps.logger.warn({ err: error, topic: half.topic, messageId: half.messageId }, 'committed transaction cannot be delivered to its topic; rolled back');
      await this.rollback([key]);
      throw error;
    }
  }

  private async rollback(keys: string[]): Promise<void> {
    await this.barrier.certain(this.deps.pipeline.submitMeta([{ kind: 'txn.rollback', keys }]));
  }

  /** Checks or resolves due transactions; returns ms until the next is due, or null when none is pending. */
  private async round(): Promise<number | null> {
    if (!this.deps.log.isLeader()) return null;
    await this.barrier.ready();
    const { transactionTimeoutMs, transactionCheckIntervalMs, transactionCheckMax, transactionCommitWhenUnresolved } = this.deps.config;
    const now = this.clock();
    const checked: Array<{ key: string; checks: number }> = [];
    const unresolved: Array<[string, HalfMessage]> = [];
    let next: number | null = null;
    let handled = 0;
    for (const [key, half] of this.deps.table.entries()) {
      if (this.ending.has(key)) continue;
      const dueAt = half.storedAtMs + transactionTimeoutMs + half.checks * transactionCheckIntervalMs;
      if (dueAt > now || handled >= ROUND_LIMIT) {
        next = next === null ? Math.max(0, dueAt - now) : Math.min(next, Math.max(0, dueAt - now));
        continue;
      }
      handled += 1;
      if (half.checks >= transactionCheckMax) {
        unresolved.push([key, half]);
        continue;
      }
      // A check no producer listens to still counts (RocketMQ does the same).
      await this.sendCheck(half);
      checked.push({ key, checks: half.checks + 1 });
    }
    if (checked.length > 0) await this.barrier.certain(this.deps.pipeline.submitMeta([{ kind: 'txn.checked', keys: checked.map((c) => c.key), counts: checked.map((c) => c.checks) }]));
    for (const [key, half] of unresolved) {
      this.deps.logger.warn({ topic: half.topic, messageId: half.messageId, checks: half.checks }, `transaction unresolved after its checks; ${transactionCommitWhenUnresolved ? 'committed' : 'rolled back'}`);
      await this.endOnce(key, half, transactionCommitWhenUnresolved).catch((error: unknown) => this.deps.logger.warn({ err: error }, 'ending an unresolved transaction failed'));
    }
    if (handled >= ROUND_LIMIT) return 0;
    return checked.length > 0 ? Math.min(next ?? transactionCheckIntervalMs, transactionCheckIntervalMs) : next;
  }

  private async sendCheck(half: HalfMessage): Promise<boolean> {
    let message: StoredMessage | null;
    message = await this.deps.reader.readOrNull(HALF_TOPIC, 0, half.queueOffset, half.position, half.size);
    if (message === null) return false;
    message = { ...message, topic: half.topic };
    return this.deps.watchers.publish(half.topic, {
      message: toMessageData(message),
      transactionId: transactionIdOf(this.deps.config.group, half.messageId),
      checkTimes: half.checks + 1,
    });
  }
}
