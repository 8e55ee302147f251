/**
 * A client's pulls to one broker node, multiplexed over long-lived `PullStream` calls (see
 * lib/broker/broker-grpc-pulls.ts): each pull is one request frame and one answer frame on an open
 * HTTP/2 stream instead of a call of its own, which makes a parked pull's re-poll about three
 * times cheaper for the broker.
 *
 * A stream (a lane) carries at most {@link LANE_CAPACITY} pulls in flight (below the broker's
 * default `maxPullsPerStream`); more open further lanes on the same connection. A lane that fails
 * (the node went down, the connection broke) fails its pulls with a retriable error and is
 * replaced on the next pull. A pull with no answer within its time is given up and its lane torn
 * down with every pull on it: a connection that stopped answering (a partition, a paused node)
 * would otherwise swallow every later pull too.
 */
import type * as grpc from '@grpc/grpc-js';
import { LedgerError } from '../common/errors.js';
import type { BrokerServiceClient } from '../gen/internal/ledgermq/v1/BrokerService.js';
import type { PullMessagesRequest } from '../gen/internal/ledgermq/v1/PullMessagesRequest.js';
import type { PullMessagesResponse__Output } from '../gen/internal/ledgermq/v1/PullMessagesResponse.js';
import type { PullStreamRequest } from '../gen/internal/ledgermq/v1/PullStreamRequest.js';
import type { PullStreamResponse__Output } from '../gen/internal/ledgermq/v1/PullStreamResponse.js';

/** Pulls in flight on one stream at most (the broker's default maxPullsPerStream is 4,096). */
export const LANE_CAPACITY = 1_024;

interface PendingPull {
  resolve: (response: PullMessagesResponse__Output) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** One PullStream call and the pulls in flight on it. */
class PullStreamLane {
  private readonly call: grpc.ClientDuplexStream<PullStreamRequest, PullStreamResponse__Output>;
  private readonly pending = new Map<number, PendingPull>();
  private nextId = 0;
  failed = false;

  constructor(client: BrokerServiceClient, private readonly address: string, private readonly onFailed: (lane: PullStreamLane) => void) {
    this.call = client.PullStream();
    this.call.on('data', (frame: PullStreamResponse__Output) => {
      const pull = this.pending.get(frame.requestId);
      if (!pull) return; // given up already
      this.settle(frame.requestId, pull);
      if (frame.response) pull.resolve(frame.response);
      else pull.reject(new LedgerError('INTERNAL_SERVER_ERROR', `pull stream to ${address} answered request ${frame.requestId} with no response`));
    });
    this.call.on('error', (error: grpc.ServiceError) => this.fail(transportError(`pull stream to ${address} failed: ${error.details || error.message}`, error)));
    this.call.on('end', () => this.fail(transportError(`pull stream to ${address} ended`, new Error('stream ended'))));
  }

  get inFlight(): number {
    return this.pending.size;
  }

  pull(request: PullMessagesRequest, timeoutMs: number, signal?: AbortSignal): Promise<PullMessagesResponse__Output> {
    if (signal?.aborted) return Promise.reject(abortError());
    return new Promise((resolve, reject) => {
      let id = this.nextId;
      while (this.pending.has(id)) id = (id + 1) >>> 0;
      this.nextId = (id + 1) >>> 0;
      const pull: PendingPull = {
        resolve,
        reject,
        timer: setTimeout(() => this.fail(transportError(`no answer to a pull from ${this.address} in ${timeoutMs} ms`, new Error('deadline exceeded'), 'PROXY_TIMEOUT')), timeoutMs),
        signal,
        onAbort: undefined,
      };
      if (signal) {
        pull.onAbort = () => {
          if (this.pending.get(id) !== pull) return;
          this.settle(id, pull);
          if (!this.failed) this.call.write({ requestId: id, cancel: true });
          reject(abortError());
        };
        signal.addEventListener('abort', pull.onAbort, { once: true });
      }
      this.pending.set(id, pull);
      this.call.write({ requestId: id, pull: request });
    });
  }

  /** Fails every pull in flight with `error` and ends the call; the pool stops using this lane. */
  fail(error: LedgerError): void {
    if (this.failed) return;
    this.failed = true;
    const pulls = [...this.pending.entries()];
    for (const [id, pull] of pulls) this.settle(id, pull);
    for (const [, pull] of pulls) pull.reject(error);
    this.call.cancel();
    this.onFailed(this);
  }

  private settle(id: number, pull: PendingPull): void {
    this.pending.delete(id);
    clearTimeout(pull.timer);
    if (pull.onAbort) pull.signal?.removeEventListener('abort', pull.onAbort);
  }
}

/** See the file comment. */
export class PullStreams {
  private lanes: PullStreamLane[] = [];
  private closed = false;

  constructor(private readonly client: BrokerServiceClient, private readonly address: string) {}

  /**
   * One pull; resolves with the broker's answer (whatever its status) or rejects with a retriable
   * LedgerError when the stream fails or no answer comes within `timeoutMs`, or when `signal`
   * aborts (the pull is then cancelled on the broker too).
   */
  pull(request: PullMessagesRequest, timeoutMs: number, signal?: AbortSignal): Promise<PullMessagesResponse__Output> {
    if (this.closed) return Promise.reject(new LedgerError('INTERNAL_SERVER_ERROR', 'the client is shut down'));
    let lane = this.lanes.find((l) => l.inFlight < LANE_CAPACITY);
    if (!lane) {
      lane = new PullStreamLane(this.client, this.address, (failed) => (this.lanes = this.lanes.filter((l) => l !== failed)));
      this.lanes.push(lane);
    }
    return lane.pull(request, timeoutMs, signal);
  }

  /** Fails every pull in flight and ends the streams. */
  close(): void {
    this.closed = true;
    for (const lane of [...this.lanes]) lane.fail(new LedgerError('INTERNAL_SERVER_ERROR', 'the client is shut down', { retriable: false }));
  }
}

function transportError(message: string, cause: Error, code: 'INTERNAL_SERVER_ERROR' | 'PROXY_TIMEOUT' = 'INTERNAL_SERVER_ERROR'): LedgerError {
  return new LedgerError(code, message, { cause, retriable: true });
}

/** Final (no cause, not retriable): the caller gave the pull up and wants no retry. */
function abortError(): LedgerError {
  return new LedgerError('INTERNAL_SERVER_ERROR', 'the pull was given up', { retriable: false });
}
