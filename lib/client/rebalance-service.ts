/**
 * Keeps a consumer instance in its group and decides which queues it owns (RocketMQ's
 * RebalanceService plus the heartbeat of MQClientInstance). Every `heartbeatIntervalMs` it
 * heartbeats to the leader of each broker group serving a subscribed topic, reporting the queues
 * it owns there, and gets the group's live members back. Clustering mode allocates the topic's
 * readable queues among the members ({@link allocateAveragely}); broadcasting mode owns them all.
 * A member list from a leader that has not listened for a full expiry (`settled` false, e.g. just
 * after a failover) is not acted on: the current assignment stays until a settled list arrives.
 *
 * Joining takes one heartbeat round; a graceful leave (unregister) too; a crashed member is
 * dropped by the brokers after their consumer expiry (5 s by default).
 */
import { LedgerError } from '../common/errors.js';
import type { HeartbeatRequest } from '../gen/internal/ledgermq/v1/HeartbeatRequest.js';
import type { HeartbeatResponse__Output } from '../gen/internal/ledgermq/v1/HeartbeatResponse.js';
import type { UnregisterClientRequest } from '../gen/internal/ledgermq/v1/UnregisterClientRequest.js';
import type { UnregisterClientResponse__Output } from '../gen/internal/ledgermq/v1/UnregisterClientResponse.js';
import type { ClientContext } from './client-context.js';
import { allocateAveragely, queueKey } from './queue-allocation.js';
import type { MessageQueue } from './queue-allocation.js';
import { readableQueues } from './topic-queues.js';

export type ConsumeMode = 'CLUSTERING' | 'BROADCASTING';

export interface TopicSubscription {
  topic: string;
  filterType: string;
  filterExpression: string;
}

export interface RebalanceSettings {
  group: string;
  mode: ConsumeMode;
  subscriptions: readonly TopicSubscription[];
  heartbeatIntervalMs: number;
}

export class RebalanceService {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | null = null;
  private assigned: MessageQueue[] = [];
  private stopped = false;

  constructor(
    private readonly context: ClientContext,
    private readonly settings: RebalanceSettings,
    /** Applies a new assignment (drops revoked queues, starts new ones); awaited before the next round. */
    private readonly onAssignment: (queues: MessageQueue[]) => Promise<void>,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** The queues this instance owns now. */
  get assignment(): readonly MessageQueue[] {
    return this.assigned;
  }

  /** Runs one round now and then every heartbeat interval. */
  async start(): Promise<void> {
    await this.round();
    this.timer = setInterval(() => void this.round(), this.settings.heartbeatIntervalMs);
  }

  /** Stops the rounds and tells the brokers this instance left (its queues are reassigned at once). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
    const groups = new Set(this.assigned.map((q) => q.brokerGroup));
    for (const subscription of this.settings.subscriptions) {
      try {
        for (const g of (await this.context.routes.route(subscription.topic)).groups) groups.add(g.group);
      } catch {
        // no route: nothing to leave there
      }
    }
    await Promise.all(
      [...groups].map((brokerGroup) =>
        this.context.gateway
          .call<UnregisterClientRequest, UnregisterClientResponse__Output>(
            brokerGroup, (c) => (r, o, cb) => c.UnregisterClient(r, o, cb), { clientId: this.context.clientId, groups: [this.settings.group] }, this.context.requestTimeoutMs,
          )
          .catch((error: unknown) => this.onError(error)),
      ),
    );
  }

  /** One heartbeat round and, when the member list is settled, one rebalance. Rounds never overlap. */
  round(): Promise<void> {
    if (this.running || this.stopped) return this.running ?? Promise.resolve();
    this.running = this.roundOnce()
      .catch((error: unknown) => this.onError(error))
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  private async roundOnce(): Promise<void> {
    const queues: MessageQueue[] = [];
    for (const subscription of this.settings.subscriptions) {
      try {
        queues.push(...readableQueues(await this.context.routes.route(subscription.topic)));
      } catch (error) {
        // The group's retry topic exists only once a message was sent back: not an error.
        const retryTopicMissing = subscription.topic.startsWith('%RETRY%') && error instanceof LedgerError && error.code === 'TOPIC_NOT_FOUND';
        if (!retryTopicMissing) this.onError(error);
      }
    }
    const brokerGroups = [...new Set(queues.map((q) => q.brokerGroup))].sort();
    const answers = await Promise.all(brokerGroups.map((brokerGroup) => this.heartbeat(brokerGroup)));
    const members = answers.find((answer) => answer !== null && answer.settled)?.clientIds ?? null;
    if (this.stopped) return;
    let next: MessageQueue[];
    if (this.settings.mode === 'BROADCASTING') next = queues;
    else if (members === null) return; // no settled member list: keep the current assignment
    else next = allocateAveragely(queues, members.includes(this.context.clientId) ? members : [...members, this.context.clientId], this.context.clientId);
    const key = (list: readonly MessageQueue[]): string => list.map(queueKey).sort().join(',');
    if (key(next) === key(this.assigned)) return;
    await this.onAssignment(next);
    this.assigned = next;
  }

  private async heartbeat(brokerGroup: string): Promise<{ clientIds: string[]; settled: boolean } | null> {
    const request: HeartbeatRequest = {
      clientId: this.context.clientId,
      groups: [{
        group: this.settings.group,
        mode: this.settings.mode,
        subscriptions: this.settings.subscriptions.map((s) => ({ topic: s.topic, filter: { type: s.filterType, expression: s.filterExpression } })),
        owned: this.assigned.filter((q) => q.brokerGroup === brokerGroup).map((q) => ({ topic: q.topic, queueId: q.queueId })),
      }],
    };
    try {
      const response = await this.context.gateway.call<HeartbeatRequest, HeartbeatResponse__Output>(
        brokerGroup, (c) => (r, o, cb) => c.Heartbeat(r, o, cb), request, this.context.requestTimeoutMs,
      );
      const group = response.groups.find((g) => g.group === this.settings.group);
      return group ? { clientIds: group.clientIds, settled: group.settled } : null;
    } catch (error) {
      this.onError(error);
      return null;
    }
  }
}
