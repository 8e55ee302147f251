/**
 * Admin operations on consumer groups, for the CLI and applications (mqadmin's consumerProgress,
 * consumerConnection and resetOffsetByTime): over every broker group serving the topic.
 */
import type { ListConsumersRequest } from '../gen/internal/ledgermq/v1/ListConsumersRequest.js';
import type { ListConsumersResponse__Output } from '../gen/internal/ledgermq/v1/ListConsumersResponse.js';
import type { QueryOffsetsRequest } from '../gen/internal/ledgermq/v1/QueryOffsetsRequest.js';
import type { QueryOffsetsResponse__Output } from '../gen/internal/ledgermq/v1/QueryOffsetsResponse.js';
import type { QueueOffset__Output } from '../gen/internal/ledgermq/v1/QueueOffset.js';
import type { ResetOffsetsRequest } from '../gen/internal/ledgermq/v1/ResetOffsetsRequest.js';
import type { ResetOffsetsResponse__Output } from '../gen/internal/ledgermq/v1/ResetOffsetsResponse.js';
import { ClientContext } from './client-context.js';
import type { ClientOptions } from './client-options.js';

/** A group's progress on one queue. */
export interface QueueProgress {
  brokerGroup: string;
  topic: string;
  queueId: number;
  /** -1: the group never committed here. */
  offset: number;
  resetVersion: number;
  minOffset: number;
  maxOffset: number;
  /** Messages not consumed yet (max - offset; from min when never committed). */
  lag: number;
}

/** One live consumer instance of a group, as one broker group's leader knows it. */
export interface ConsumerInstance {
  brokerGroup: string;
  clientId: string;
  mode: string;
  topics: string[];
  owned: Array<{ topic: string; queueId: number }>;
  lastHeartbeatMs: number;
}

export class ConsumerAdmin {
  private readonly context: ClientContext;

  constructor(options: ClientOptions) {
    this.context = new ClientContext(options);
  }

  /** The group's progress on every queue of `topic`. */
  async progress(group: string, topic: string): Promise<QueueProgress[]> {
    return this.perBrokerGroup(topic, async (brokerGroup) => {
      const response = await this.context.gateway.call<QueryOffsetsRequest, QueryOffsetsResponse__Output>(
        brokerGroup, (c) => (r, o, cb) => c.QueryOffsets(r, o, cb), { group, topic, queueIds: [] }, this.context.requestTimeoutMs,
      );
      return response.offsets.map((o) => toProgress(brokerGroup, o));
    });
  }

  /**
   * Resets the group's progress on every queue of `topic` to the first message stored at or after
   * `timestampMs` (or to `offset`); running consumers continue from there. Returns the new progress.
   */
  async resetOffsets(group: string, topic: string, target: { timestampMs: number } | { offset: number }): Promise<QueueProgress[]> {
    return this.perBrokerGroup(topic, async (brokerGroup) => {
      const response = await this.context.gateway.call<ResetOffsetsRequest, ResetOffsetsResponse__Output>(
        brokerGroup, (c) => (r, o, cb) => c.ResetOffsets(r, o, cb), { group, topic, queueIds: [], ...target }, this.context.requestTimeoutMs,
      );
      return response.offsets.map((o) => toProgress(brokerGroup, o));
    });
  }

  /** Live instances of the group with the queues they own, per broker group serving `topic`. */
  async consumers(group: string, topic: string): Promise<ConsumerInstance[]> {
    return this.perBrokerGroup(topic, async (brokerGroup) => {
      const response = await this.context.gateway.call<ListConsumersRequest, ListConsumersResponse__Output>(
        brokerGroup, (c) => (r, o, cb) => c.ListConsumers(r, o, cb), { group }, this.context.requestTimeoutMs,
      );
      return response.consumers.map((c) => ({
        brokerGroup,
        clientId: c.clientId,
        mode: c.mode,
        topics: c.subscriptions.map((s) => s.topic),
        owned: c.owned.map((q) => ({ topic: q.topic, queueId: q.queueId })),
        lastHeartbeatMs: Number(c.lastHeartbeatMs),
      }));
    });
  }

  close(): void {
    this.context.close();
  }

  private async perBrokerGroup<T>(topic: string, work: (brokerGroup: string) => Promise<T[]>): Promise<T[]> {
    const route = await this.context.routes.route(topic);
    const groups = [...new Set(route.groups.map((g) => g.group))].sort();
    return (await Promise.all(groups.map(work))).flat();
  }
}

function toProgress(brokerGroup: string, wire: QueueOffset__Output): QueueProgress {
  const offset = Number(wire.offset);
  const minOffset = Number(wire.minOffset);
  const maxOffset = Number(wire.maxOffset);
  return {
    brokerGroup, topic: wire.topic, queueId: wire.queueId, offset, resetVersion: Number(wire.resetVersion), minOffset, maxOffset,
    lag: Math.max(0, maxOffset - (offset >= 0 ? offset : minOffset)),
  };
}
