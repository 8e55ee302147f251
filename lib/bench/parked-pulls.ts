/**
 * Many long-polling PullMessages requests held on one broker, as a crowd of idle consumers would
 * hold them: each slot pulls one queue from that queue's head over a few gRPC channels (one
 * connection each), either multiplexed on the channel's PullStream as our client does or as one
 * unary PullMessages call each, and pulls again as soon as its request returns, whether with
 * messages or empty at its poll timeout. Slots start at `rampPerSecond` (consumers arrive over
 * time; 2,000 requests in one burst stall a leader long enough to lose its leadership), and first
 * requests get poll timeouts spread evenly up to the full one, so later re-polls are spread over
 * time as in a steady state, not all at once.
 */
import * as grpc from '@grpc/grpc-js';
import { performance } from 'node:perf_hooks';
import { StatusCode } from '../common/status-codes.js';
import type { BrokerServiceClient } from '../gen/internal/ledgermq/v1/BrokerService.js';
import type { PullMessagesRequest } from '../gen/internal/ledgermq/v1/PullMessagesRequest.js';
import type { PullMessagesResponse__Output } from '../gen/internal/ledgermq/v1/PullMessagesResponse.js';
import { loadInternal } from '../protocol/proto-definitions.js';
import { PullStreams } from '../client/pull-stream.js';

export interface ParkedPullsOptions {
  /** The broker (group leader) to park on, `host:port`. */
  brokerAddress: string;
  topic: string;
  group: string;
  queues: number;
  /** Requests held at once; slot i pulls queue i % queues over channel i % channels. */
  parked: number;
  /** gRPC channels (separate HTTP/2 connections). */
  channels: number;
  /** `stream`: pulls multiplexed over each channel's PullStream (our client's way); `unary`: one PullMessages call per pull. */
  transport: 'stream' | 'unary';
  /** Poll timeout of every request after the first (at most the broker's maxPollTimeoutMs). */
  pollTimeoutMs: number;
  /** Slots started per second. */
  rampPerSecond: number;
  /**
   * Spread first poll timeouts evenly up to `pollTimeoutMs` (steady-state re-polls); false: every
   * first request holds the full timeout, so none returns for that long (the cost of holding alone).
   */
  staggerFirstTimeouts: boolean;
  /** Told of every message a request returned, with the time it returned (performance.now()). */
  onMessages: (queueId: number, bodies: Buffer[], atMs: number) => void;
}

/** Pause of a slot after its request failed. */
const ERROR_PAUSE_MS = 200;
/** gRPC deadline beyond a request's poll timeout. */
const DEADLINE_MARGIN_MS = 10_000;

/** See the file comment. */
export class ParkedPulls {
  private readonly clients: BrokerServiceClient[];
  private readonly streams: PullStreams[];
  private readonly calls = new Set<grpc.ClientUnaryCall>();
  private inFlight = 0;
  /** The next offset of each queue, as far as the returned requests tell. */
  private readonly heads: number[];
  private stopped = false;
  private loops: Promise<void>[] = [];
  /** Requests returned empty at their poll timeout. */
  timeouts = 0;
  /** Requests that returned messages. */
  deliveries = 0;
  /** Requests that failed or were answered with an error status. */
  errors = 0;
  lastError = '';

  constructor(private readonly options: ParkedPullsOptions) {
    const BrokerService = loadInternal().ledgermq.v1.BrokerService;
    // A local subchannel pool per client: each channel is its own TCP connection.
    this.clients = Array.from({ length: options.channels }, () => new BrokerService(options.brokerAddress, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }));
    this.streams = this.clients.map((client) => new PullStreams(client, options.brokerAddress));
    this.heads = Array.from({ length: options.queues }, () => 0);
  }

  /** Requests in flight now (sent, not yet answered): the client-side count of parked pulls. */
  get outstanding(): number {
    return this.inFlight;
  }

  /** Starts every slot at `heads` (each queue's max offset). Returns at once. */
  start(heads: readonly number[]): void {
    heads.forEach((head, queueId) => (this.heads[queueId] = head));
    const { parked, pollTimeoutMs } = this.options;
    this.loops = Array.from({ length: parked }, (_, slot) =>
      this.runSlot(slot, Math.floor((slot * 1000) / this.options.rampPerSecond), this.options.staggerFirstTimeouts ? Math.max(1, Math.round((pollTimeoutMs * (slot + 1)) / parked)) : pollTimeoutMs));
  }

  /** Cancels every request in flight, waits for the slots to end, closes the channels. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const call of this.calls) call.cancel();
    for (const streams of this.streams) streams.close();
    await Promise.all(this.loops);
    for (const client of this.clients) client.close();
  }

  private async runSlot(slot: number, startDelayMs: number, firstPollTimeoutMs: number): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, startDelayMs));
    const queueId = slot % this.options.queues;
    const channel = slot % this.clients.length;
    let pollTimeoutMs = firstPollTimeoutMs;
    while (!this.stopped) {
      const offset = this.heads[queueId];
      let response: PullMessagesResponse__Output;
      try {
        response = await this.pull(channel, { group: this.options.group, topic: this.options.topic, queueId, offset, maxMessages: 32, pollTimeoutMs, filter: { type: 'TAG', expression: '*' }, resetVersion: -1 });
      } catch (error) {
        if (this.stopped) return;
        this.recordError(error instanceof Error ? error.message : String(error));
        await new Promise((resolve) => setTimeout(resolve, ERROR_PAUSE_MS));
        continue;
      }
      const returnedAt = performance.now();
      pollTimeoutMs = this.options.pollTimeoutMs;
      const code = response.status?.code ?? StatusCode.OK;
      if (code !== StatusCode.OK) {
        this.recordError(`status ${code}: ${response.status?.message ?? ''}`);
        await new Promise((resolve) => setTimeout(resolve, ERROR_PAUSE_MS));
        continue;
      }
      if (response.suggestedAddress !== '' && response.pullStatus !== 'FOUND') {
        // Only a follower sends an empty answer elsewhere: this node no longer leads, nothing parks here.
        this.recordError(`${this.options.brokerAddress} answers as a follower and suggests ${response.suggestedAddress}`);
        await new Promise((resolve) => setTimeout(resolve, ERROR_PAUSE_MS));
        continue;
      }
      const nextOffset = Number(response.nextOffset);
      if (response.pullStatus === 'FOUND') {
        this.deliveries += 1;
        this.options.onMessages(queueId, response.messages.map((m) => m.message?.body ?? Buffer.alloc(0)), returnedAt);
      } else if (response.pullStatus === 'NO_NEW_MSG') {
        this.timeouts += 1;
      }
      // FOUND moves the head (slots of a queue return in any order); OFFSET_ILLEGAL names where it is.
      if (response.pullStatus === 'FOUND') this.heads[queueId] = Math.max(this.heads[queueId], nextOffset);
      else if (response.pullStatus === 'OFFSET_ILLEGAL') this.heads[queueId] = nextOffset;
    }
  }

  private recordError(message: string): void {
    this.errors += 1;
    this.lastError = message;
  }

  private async pull(channel: number, request: PullMessagesRequest): Promise<PullMessagesResponse__Output> {
    this.inFlight += 1;
    try {
      if (this.options.transport === 'stream') return await this.streams[channel].pull(request, Number(request.pollTimeoutMs) + DEADLINE_MARGIN_MS);
      return await this.unaryPull(this.clients[channel], request);
    } finally {
      this.inFlight -= 1;
    }
  }

  private unaryPull(client: BrokerServiceClient, request: PullMessagesRequest): Promise<PullMessagesResponse__Output> {
    return new Promise((resolve, reject) => {
      const call = client.PullMessages(request, { deadline: Date.now() + Number(request.pollTimeoutMs) + DEADLINE_MARGIN_MS }, (error, response) => {
        this.calls.delete(call);
        if (error) reject(error);
        else if (response === undefined) reject(new Error('PullMessages returned no response'));
        else resolve(response);
      });
      this.calls.add(call);
    });
  }
}
