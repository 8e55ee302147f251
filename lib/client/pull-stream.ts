/**
 * A client's pulls to one broker node, multiplexed over long-lived `PullStream` calls (see
 * lib/broker/broker-grpc-pulls.ts): each pull is one request frame and one answer frame on an open
 * HTTP/2 stream instead of a call of its own, which costs the broker about half as much per pull.
 *
 * A stream (a lane) carries at most {@link LANE_CAPACITY} pulls in flight (below the broker's
 * default `maxPullsPerStream`); more open further lanes on the same connection, and a lane other
 * than the first is closed when its last pull ends. A lane that fails (the node went down, the
 * connection broke) fails its pulls with a retriable error and is replaced on the next pull.
 *
 * A pull with no answer within its time fails alone (retriable) and is cancelled on the broker.
 * Only when the lane has received nothing at all since that pull was sent is the connection taken
 * for dead (a partition, a paused node) and the lane torn down with every pull on it, so later
 * pulls are not swallowed by it too.
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
  /** Frames this lane had received when the pull was sent. */
  framesAtSend: number;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** One PullStream call and the pulls in flight on it. */
class PullStreamLane {
  private readonly call: grpc.ClientDuplexStream<PullStreamRequest, PullStreamResponse__Output>;
  private readonly pending = new Map<number, PendingPull>();
  private nextId = 0;
  /** Answer frames received so far (any request): proof the connection is alive. */
  private framesReceived = 0;
  failed = false;

  constructor(
    client: BrokerServiceClient,
    private readonly address: string,
    private readonly onFailed: (lane: PullStreamLane) => void,
    /** Told when the lane's last pull in flight ended. */
    private readonly onIdle: (lane: PullStreamLane) => void,
  ) {
    this.call = client.PullStream();
    this.call.on('data', (frame: PullStreamResponse__Output) => {
      this.framesReceived += 1;
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
        timer: setTimeout(() => this.timeOut(id, pull, timeoutMs), timeoutMs),
        framesAtSend: this.framesReceived,
        signal,
        onAbort: undefined,
      };
      if (signal) {
        pull.onAbort = () => this.giveUp(id, pull, abortError());
        signal.addEventListener('abort', pull.onAbort, { once: true });
      }
      this.pending.set(id, pull);
      this.call.write({ requestId: id, pull: request });
    });
  }

  /** Ends the call of an idle lane (no pull in flight); the pool stops using it. */
  close(): void {
    if (this.failed) return;
    this.failed = true;
    this.call.end();
    this.onFailed(this);
  }

  private timeOut(id: number, pull: PendingPull, timeoutMs: number): void {
    const error = transportError(`no answer to a pull from ${this.address} in ${timeoutMs} ms`, new Error('deadline exceeded'), 'PROXY_TIMEOUT');
    // Nothing at all came back since this pull went out: the connection is taken for dead.
    if (this.framesReceived === pull.framesAtSend) this.fail(error);
    else this.giveUp(id, pull, error);
  }

  /** Fails one pull with `error` and cancels it on the broker. */
  private giveUp(id: number, pull: PendingPull, error: LedgerError): void {
    if (this.pending.get(id) !== pull) return;
    this.settle(id, pull);
    if (!this.failed) this.call.write({ requestId: id, cancel: true });
    pull.reject(error);
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
    if (this.pending.size === 0 && !this.failed) this.onIdle(this);
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
      lane = new PullStreamLane(
        this.client,
        this.address,
        (ended) => (this.lanes = this.lanes.filter((l) => l !== ended)),
        // Keep the first lane open for the next pull; close extra lanes once they drain.
        (idle) => {
          if (idle !== this.lanes[0]) idle.close();
        },
      );
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
