/**
 * Protocol adapter for pull consumption in `ledgermq.v1.BrokerService`: PullMessages (one pull per
 * call) and PullStream (many pulls multiplexed over one long-lived call, answered by request id).
 *
 * Why a stream: a parked pull returns empty at its poll timeout and the consumer sends it again at
 * once. As one unary call, each re-poll costs a whole HTTP/2 stream on the broker (headers,
 * metadata, stream setup and teardown): on the bench machine about twice the broker CPU of one
 * frame on an open stream (~300 against ~150 µs per pull).
 *
 * Bounds: a stream has at most `maxPullsPerStream` pulls running (cancelled ones count until they
 * end); one more is answered TOO_MANY_REQUESTS. When the transport stops taking answers (a client
 * that sends and does not read, held back by HTTP/2 flow control), the stream stops reading frames
 * until they drain, so such a client cannot grow the broker's buffers. A pull given up by the client
 * (cancel frame, cancelled call, stream ended) frees its parked slot at once. At shutdown
 * {@link OpenPullStreams.endAll} ends every stream, so a graceful stop does not wait for clients.
 */
import type * as grpc from '@grpc/grpc-js';
import { LedgerError, toWireStatus } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { BrokerServiceHandlers } from '../gen/internal/ledgermq/v1/BrokerService.js';
import type { PullMessagesRequest__Output } from '../gen/internal/ledgermq/v1/PullMessagesRequest.js';
import type { PullMessagesResponse } from '../gen/internal/ledgermq/v1/PullMessagesResponse.js';
import type { PullStreamRequest__Output } from '../gen/internal/ledgermq/v1/PullStreamRequest.js';
import type { PullStreamResponse } from '../gen/internal/ledgermq/v1/PullStreamResponse.js';
import type { BrokerMetrics } from './broker-metrics.js';
import { answer } from './grpc-answer.js';
import { toMessageData } from './message-wire.js';
import type { PullService } from './pull-service.js';

export interface PullHandlerDeps {
  puller: PullService;
  metrics: BrokerMetrics;
  logger: Logger;
  /** Pulls running on one PullStream at most. */
  maxPullsPerStream: number;
  /** The node's open PullStreams (ended at shutdown). */
  streams: OpenPullStreams;
}

/** The PullStreams a node serves now; {@link endAll} closes them at shutdown. */
export class OpenPullStreams {
  private readonly ends = new Set<() => void>();
  private closed = false;

  /** Registers a stream's end; false when the node is shutting down (the stream is ended at once). */
  add(end: () => void): boolean {
    if (this.closed) return false;
    this.ends.add(end);
    return true;
  }

  delete(end: () => void): void {
    this.ends.delete(end);
  }

  /** Streams open now (metrics). */
  get size(): number {
    return this.ends.size;
  }

  /** Ends every open stream (their parked pulls are released unanswered) and refuses new ones. */
  endAll(): void {
    this.closed = true;
    for (const end of [...this.ends]) end();
  }
}

type PullHandlers = Pick<BrokerServiceHandlers, 'PullMessages' | 'PullStream'>;

/** Builds the PullMessages and PullStream handlers. */
export function pullServiceHandlers(deps: PullHandlerDeps): PullHandlers {
  return {
    PullMessages(call, callback) {
      const given = new AbortController();
      // The client gave up (deadline, cancel): a parked pull frees its slot now, not at its timeout.
      call.on('cancelled', () => given.abort());
      runPull(deps, call.request, given.signal, callback);
    },
    PullStream(call) {
      servePullStream(deps, call);
    },
  };
}

/** Serves one PullStream call until either side ends it. */
function servePullStream(deps: PullHandlerDeps, call: grpc.ServerDuplexStream<PullStreamRequest__Output, PullStreamResponse>): void {
  const inFlight = new Map<number, AbortController>();
  /** Pulls started and not yet ended, cancelled ones included. */
  let running = 0;
  let open = true;
  let paused = false;
  const max = deps.maxPullsPerStream;
  const reply = (requestId: number, response: PullMessagesResponse): void => {
    if (!open) return;
    // The transport stopped taking answers (the client reads none, HTTP/2 flow control holds
    // them): read no more frames until they drain.
    if (!call.write({ requestId, response }) && !paused) {
      paused = true;
      call.pause();
      call.once('drain', () => {
        paused = false;
        if (open) call.resume();
      });
    }
  };
  const refuse = (requestId: number, error: LedgerError): void => reply(requestId, { status: toWireStatus(error) });
  const close = (): void => {
    if (!open) return;
    open = false;
    deps.streams.delete(end);
    for (const given of inFlight.values()) given.abort();
    inFlight.clear();
  };
  const end = (): void => {
    close();
    call.end();
  };
  if (!deps.streams.add(end)) {
    end();
    return;
  }

  call.on('data', (frame: PullStreamRequest__Output) => {
    if (!open) return;
    const id = frame.requestId;
    if (frame.kind === 'cancel') {
      inFlight.get(id)?.abort();
      inFlight.delete(id);
      return;
    }
    if (frame.kind !== 'pull' || !frame.pull) return refuse(id, new LedgerError('BAD_REQUEST', 'a PullStream frame carries a pull or a cancel'));
    if (inFlight.has(id)) return refuse(id, new LedgerError('BAD_REQUEST', `request id ${id} is already in flight on this stream`));
    if (running >= max) return refuse(id, new LedgerError('TOO_MANY_REQUESTS', `${max} pulls in flight on this stream (maxPullsPerStream)`));
    const given = new AbortController();
    inFlight.set(id, given);
    running += 1;
    runPull(deps, frame.pull, given.signal, (_error, response) => {
      running -= 1;
      // Cancelled (and perhaps its id reused since): nobody waits for this answer.
      if (inFlight.get(id) !== given) return;
      inFlight.delete(id);
      reply(id, response);
    });
  });
  // The client half-closed: it wants no more answers; end our side too.
  call.on('end', end);
  call.on('cancelled', close);
  call.on('error', close);
  call.on('close', close);
}

/** One pull, answered through `callback` with its status (never an error on the gRPC level). */
function runPull(deps: PullHandlerDeps, request: PullMessagesRequest__Output, signal: AbortSignal, callback: (error: null, response: PullMessagesResponse) => void): void {
  answer(deps.logger, callback, async () => {
    const result = await deps.puller.pull({
      group: request.group,
      topic: request.topic,
      queueId: request.queueId,
      offset: Number(request.offset),
      maxMessages: request.maxMessages,
      pollTimeoutMs: Number(request.pollTimeoutMs),
      filterType: request.filter?.type ?? '',
      filterExpression: request.filter?.expression ?? '',
      resetVersion: Number(request.resetVersion),
    }, signal);
    // An answer nobody will read (the pull was given up) is not counted as delivered.
    if (result.messages.length > 0 && !signal.aborted) deps.metrics.delivered(request.topic, request.group, result.messages.length, result.messages.reduce((sum, m) => sum + m.message.body.length, 0));
    return {
      pullStatus: result.status,
      messages: result.messages.map((m) => ({ message: toMessageData(m.message), queueOffset: m.queueOffset })),
      nextOffset: result.nextOffset,
      minOffset: result.minOffset,
      maxOffset: result.maxOffset,
      suggestedNodeId: result.suggested?.nodeId ?? '',
      suggestedAddress: result.suggested?.address ?? '',
      resetVersion: result.resetVersion,
    };
  });
}
