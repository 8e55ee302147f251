/**
 * Pulls one queue (PullMessages) for a consumer: from the broker group's leader, or from the
 * follower the leader suggested for a consumer far behind, until that follower has nothing newer
 * and sends the consumer back. A follower that fails is dropped at once and the leader asked
 * again. Counts what each node served, for tests and metrics.
 */
import { LedgerError } from '../common/errors.js';
import type { PullMessagesRequest } from '../gen/internal/ledgermq/v1/PullMessagesRequest.js';
import type { PullMessagesResponse__Output } from '../gen/internal/ledgermq/v1/PullMessagesResponse.js';
import type { BrokerGateway } from './broker-gateway.js';
import { fromMessageData } from './message.js';
import type { ReceivedMessage } from './message.js';
import type { MessageQueue } from './queue-allocation.js';

export type PullStatus = 'FOUND' | 'NO_NEW_MSG' | 'NO_MATCHED_MSG' | 'OFFSET_ILLEGAL' | 'OFFSET_RESET';

export interface PullOutcome {
  status: PullStatus;
  messages: ReceivedMessage[];
  nextOffset: number;
  minOffset: number;
  maxOffset: number;
  resetVersion: number;
  /** `leader` or the follower's address. */
  servedBy: string;
}

export interface PullParams {
  group: string;
  offset: number;
  maxMessages: number;
  pollTimeoutMs: number;
  filterType: string;
  filterExpression: string;
  /** -1: the consumer keeps its own position. */
  resetVersion: number;
}

export class QueueReader {
  /** A follower the leader suggested, or null to read from the leader. */
  private follower: string | null = null;

  constructor(
    readonly queue: MessageQueue,
    private readonly gateway: BrokerGateway,
    private readonly requestTimeoutMs: number,
    /** Whether to follow a leader's suggestion to read from a follower. */
    private readonly followerReads: boolean,
  ) {}

  /** Where the next pull goes: `leader` or a follower's address. */
  get source(): string {
    return this.follower ?? 'leader';
  }

  /** One pull; `signal` gives it up (the queue was dropped): it rejects with a final error then. */
  async pull(params: PullParams, signal?: AbortSignal): Promise<PullOutcome> {
    const request: PullMessagesRequest = {
      group: params.group,
      topic: this.queue.topic,
      queueId: this.queue.queueId,
      offset: params.offset,
      maxMessages: params.maxMessages,
      pollTimeoutMs: params.pollTimeoutMs,
      filter: { type: params.filterType, expression: params.filterExpression },
      resetVersion: params.resetVersion,
    };
    if (this.follower !== null) {
      const follower = this.follower;
      try {
        // A follower answers at once (no long polling there): it sends the consumer back instead.
        const response = await this.gateway.pullAt(follower, { ...request, pollTimeoutMs: 0 }, this.requestTimeoutMs, signal);
        const outcome = this.toOutcome(response, follower);
        // Nothing newer there, or it names another node: back to the leader (or on to that node).
        if (response.suggestedAddress !== '' || outcome.messages.length === 0) this.follower = null;
        if (outcome.messages.length > 0 || outcome.status === 'OFFSET_RESET' || outcome.status === 'OFFSET_ILLEGAL') return outcome;
      } catch (error) {
        if (!(error instanceof LedgerError) || !error.retriable) throw error;
        this.follower = null;
      }
    }
    const response = await this.gateway.pull(this.queue.brokerGroup, request, params.pollTimeoutMs + this.requestTimeoutMs, signal);
    if (this.followerReads && response.suggestedAddress !== '') this.follower = response.suggestedAddress;
    return this.toOutcome(response, 'leader');
  }

  private toOutcome(response: PullMessagesResponse__Output, servedBy: string): PullOutcome {
    return {
      status: response.pullStatus as PullStatus,
      messages: response.messages.map((m) => fromMessageData(m.message!, this.queue.brokerGroup, this.queue.queueId, Number(m.queueOffset))),
      nextOffset: Number(response.nextOffset),
      minOffset: Number(response.minOffset),
      maxOffset: Number(response.maxOffset),
      resetVersion: Number(response.resetVersion),
      servedBy,
    };
  }
}
