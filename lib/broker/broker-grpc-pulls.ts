/**
 * Protocol adapter for pull consumption in `ledgermq.v1.BrokerService`: PullMessages (one pull per
 * call) and PullStream (many pulls multiplexed over one long-lived call, answered by request id).
 *
 * Why a stream: a parked pull returns empty at its poll timeout and the consumer sends it again at
 * once. As one unary call, each re-poll costs a whole HTTP/2 stream on the broker (headers,
 * metadata, stream setup and teardown), about three times the cost of one message on an open
 * stream. A consumer holding thousands of queues re-polls hundreds of times a second.
 *
 * Bounds: a stream has at most `maxPullsPerStream` pulls in flight, counting answers written but
 * not yet taken by the transport, so a client that sends pulls and reads no answers cannot grow
 * the broker's buffers; one more is answered TOO_MANY_REQUESTS. A pull given up by the client
 * (cancel frame, cancelled call, stream ended) frees its parked slot at once.
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
  /** Pulls in flight on one PullStream at most (answers not yet taken by the transport included). */
  maxPullsPerStream: number;
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
  let open = true;
  const reply = (requestId: number, response: PullMessagesResponse): void => {
    if (open) call.write({ requestId, response });
  };
  const refuse = (requestId: number, error: LedgerError): void => reply(requestId, { status: toWireStatus(error) });
  const close = (): void => {
    if (!open) return;
    open = false;
    for (const given of inFlight.values()) given.abort();
    inFlight.clear();
  };

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
    if (inFlight.size + call.writableLength >= deps.maxPullsPerStream) {
      return refuse(id, new LedgerError('TOO_MANY_REQUESTS', `${deps.maxPullsPerStream} pulls in flight on this stream (maxPullsPerStream)`));
    }
    const given = new AbortController();
    inFlight.set(id, given);
    runPull(deps, frame.pull, given.signal, (_error, response) => {
      // Cancelled (and perhaps its id reused since): nobody waits for this answer.
      if (inFlight.get(id) !== given) return;
      inFlight.delete(id);
      reply(id, response);
    });
  });
  // The client half-closed: it wants no more answers; end our side too.
  call.on('end', () => {
    close();
    call.end();
  });
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
    if (result.messages.length > 0) deps.metrics.messagesOut.inc({ topic: request.topic, group: request.group }, result.messages.length);
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
