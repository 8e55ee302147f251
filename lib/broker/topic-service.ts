import { LedgerError } from '../common/errors.js';
import type { BrokerConfig } from './broker-config.js';
import type { CommitPipeline } from './commit-pipeline.js';
import type { GroupConfig, RetryBackoff, TopicConfig } from './meta-command.js';
import { checkGroupName, checkTopicName } from './name-rules.js';
import type { TopicTable } from './topic-table.js';
import { SCHEDULE_TOPIC } from './schedule-service.js';

/** apache.rocketmq.v2.MessageType.NORMAL */
export const MESSAGE_TYPE_NORMAL = 1;
/** RocketMQ permission bits. */
export const PERM_READ = 4;
export const PERM_WRITE = 2;

/**
 * Topic and subscription-group lookup with RocketMQ-style auto-creation: a missing topic or group
 * is created (through the log, so every replica has it) when auto-creation is on, otherwise the
 * caller gets TOPIC_NOT_FOUND / CONSUMER_GROUP_NOT_FOUND.
 */
export class TopicService {
  private readonly creating = new Map<string, Promise<void>>();

  constructor(
    private readonly config: BrokerConfig,
    private readonly table: TopicTable,
    private readonly pipeline: CommitPipeline,
  ) {}

  /** The topic, created if missing and `autoCreate` and the broker allows it. */
  async topic(name: string, autoCreate: boolean): Promise<TopicConfig> {
    checkTopicName(name);
    const existing = this.table.topic(name);
    if (existing) return existing;
    if (!autoCreate || !this.config.autoCreateTopics) throw new LedgerError('TOPIC_NOT_FOUND', `topic ${name} does not exist`);
    const queues = this.config.defaultQueueCount;
    await this.once(`t:${name}`, () => this.putTopic({ name, readQueues: queues, writeQueues: queues, perm: PERM_READ | PERM_WRITE, messageTypes: [MESSAGE_TYPE_NORMAL] }));
    return this.mustHaveTopic(name);
  }

  /**
   * A broker-managed topic (`%RETRY%<group>`, `%DLQ%<group>`, the schedule topic) with `queues`
   * queues, created if missing whatever the auto-creation setting.
   */
  async systemTopic(name: string, queues: number): Promise<TopicConfig> {
    const existing = this.table.topic(name);
    if (existing) return existing;
    await this.once(`t:${name}`, () => this.putTopic({ name, readQueues: queues, writeQueues: queues, perm: PERM_READ | PERM_WRITE, messageTypes: [MESSAGE_TYPE_NORMAL] }));
    return this.mustHaveTopic(name);
  }

  /** Creates or replaces a topic (admin `updateTopic`). */
  async putTopic(topic: TopicConfig): Promise<TopicConfig> {
    checkTopicName(topic.name);
    const bad = (what: string): LedgerError => new LedgerError('BAD_REQUEST', `topic ${topic.name}: ${what}`);
    if (!Number.isInteger(topic.readQueues) || topic.readQueues < 1 || topic.readQueues > 1024) throw bad('read queues must be 1..1024');
    if (!Number.isInteger(topic.writeQueues) || topic.writeQueues < 1 || topic.writeQueues > 1024) throw bad('write queues must be 1..1024');
    if ((topic.perm & ~(PERM_READ | PERM_WRITE)) !== 0) throw bad('perm must combine 2 (write) and 4 (read)');
    // No types given: keep the topic's (a new topic accepts NORMAL).
    const messageTypes = topic.messageTypes.length > 0 ? topic.messageTypes : (this.table.topic(topic.name)?.messageTypes ?? [MESSAGE_TYPE_NORMAL]);
    for (const type of messageTypes) if (!Number.isInteger(type) || type < 1 || type > 4) throw bad(`message type ${type} is not NORMAL (1), FIFO (2), DELAY (3) or TRANSACTION (4)`);
    await this.pipeline.submitMeta([{ kind: 'topic.put', topic: { ...topic, messageTypes } }]);
    return this.mustHaveTopic(topic.name);
  }

  /**
   * Deletes a topic (admin `deleteTopic`): TOPIC_NOT_FOUND when it does not exist; the broker's
   * schedule topic cannot be deleted. See DeleteTopicCommand for what goes with it.
   */
  async deleteTopic(name: string): Promise<void> {
    checkTopicName(name);
    if (name === SCHEDULE_TOPIC) throw new LedgerError('BAD_REQUEST', `${name} holds the broker's delayed messages and cannot be deleted`);
    if (!this.table.topic(name)) throw new LedgerError('TOPIC_NOT_FOUND', `topic ${name} does not exist`);
    await this.pipeline.submitMeta([{ kind: 'topic.delete', name }]);
  }

  /**
   * Creates or updates a subscription group (admin `updateSubGroup`); fields left out keep their
   * current value, or the broker's default for a new group.
   */
  async putGroup(update: Partial<GroupConfig> & { name: string }): Promise<GroupConfig & { retryBackoff: RetryBackoff }> {
    checkGroupName(update.name);
    const current = this.table.group(update.name);
    const next: GroupConfig = {
      name: update.name,
      maxDeliveryAttempts: update.maxDeliveryAttempts ?? current?.maxDeliveryAttempts ?? this.config.maxDeliveryAttempts,
      retryBackoff: update.retryBackoff ?? current?.retryBackoff ?? this.defaultBackoff(),
      consumeOrderly: update.consumeOrderly ?? current?.consumeOrderly ?? false,
    };
    if (!Number.isInteger(next.maxDeliveryAttempts) || next.maxDeliveryAttempts < 1 || next.maxDeliveryAttempts > 1000) {
      throw new LedgerError('BAD_REQUEST', `group ${update.name}: max delivery attempts must be 1..1000`);
    }
    const backoff = next.retryBackoff;
    if (backoff && (!(backoff.initialMs >= 0) || !(backoff.maxMs >= backoff.initialMs) || !(backoff.multiplier >= 1))) {
      throw new LedgerError('BAD_REQUEST', `group ${update.name}: retry backoff needs 0 <= initial <= max and multiplier >= 1`);
    }
    await this.pipeline.submitMeta([{ kind: 'group.put', group: next }]);
    return this.withBackoff(this.table.group(update.name) ?? next);
  }

  /** Deletes a subscription group and its progress (admin `deleteSubGroup`); CONSUMER_GROUP_NOT_FOUND when missing. */
  async deleteGroup(name: string): Promise<void> {
    checkGroupName(name);
    if (!this.table.group(name)) throw new LedgerError('CONSUMER_GROUP_NOT_FOUND', `consumer group ${name} does not exist`);
    await this.pipeline.submitMeta([{ kind: 'group.delete', name }]);
  }

  /**
   * The subscription group, created if missing and `autoCreate` and the broker allows it; its
   * retry backoff is the broker's default when the group has none of its own.
   */
  async group(name: string, autoCreate: boolean): Promise<GroupConfig & { retryBackoff: RetryBackoff }> {
    checkGroupName(name);
    const existing = this.table.group(name);
    if (existing) return this.withBackoff(existing);
    if (!autoCreate || !this.config.autoCreateGroups) throw new LedgerError('CONSUMER_GROUP_NOT_FOUND', `consumer group ${name} does not exist`);
    await this.once(`g:${name}`, () =>
      this.pipeline.submitMeta([{ kind: 'group.put', group: { name, maxDeliveryAttempts: this.config.maxDeliveryAttempts, retryBackoff: this.defaultBackoff() } }]).then(() => undefined),
    );
    const created = this.table.group(name);
    if (!created) throw new LedgerError('INTERNAL_ERROR', `group ${name} was not created`);
    return this.withBackoff(created);
  }

  private withBackoff(group: GroupConfig): GroupConfig & { retryBackoff: RetryBackoff } {
    return { ...group, retryBackoff: group.retryBackoff ?? this.defaultBackoff() };
  }

  private defaultBackoff(): RetryBackoff {
    const { retryBackoffInitialMs, retryBackoffMaxMs, retryBackoffMultiplier } = this.config;
    return { initialMs: retryBackoffInitialMs, maxMs: retryBackoffMaxMs, multiplier: retryBackoffMultiplier };
  }

  private mustHaveTopic(name: string): TopicConfig {
    const topic = this.table.topic(name);
    if (!topic) throw new LedgerError('INTERNAL_ERROR', `topic ${name} was not created`);
    return topic;
  }

  /** Runs `create` once for concurrent callers with the same key. */
  private async once(key: string, create: () => Promise<unknown>): Promise<void> {
    let pending = this.creating.get(key);
    if (!pending) {
      pending = create().then(
        () => undefined,
        (error: unknown) => {
          throw error;
        },
      );
      pending.finally(() => this.creating.delete(key)).catch(() => undefined);
      this.creating.set(key, pending);
    }
    await pending;
  }
}
