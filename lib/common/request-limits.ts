/**
 * The in-flight bytes budget ({@link InflightBudget}) applied to a gRPC server, as a grpc-js
 * server interceptor plus a service definition whose (de)serializers note each message's size.
 *
 * - **Admission before reading.** A send's request is read only once the budget grants it the
 *   server's receive limit (the largest request it may be): grpc-js keeps the HTTP/2 stream paused
 *   until the handler's first read, and this interceptor holds that read. So sends are never
 *   buffered beyond the budget, however many start at once. Requests of every other method (acks,
 *   pops, heartbeats: small by nature) are read on one of a few read slots instead, so that they do
 *   not queue behind sends for grants of the receive limit; a hostile near-limit request to such a
 *   method costs at most one receive limit per slot. Decoded, they are held in the budget like sends. A call that cannot
 *   even wait (the wait is full) or waits longer than {@link MAX_WAIT_MS} is answered with the
 *   server's busy answer (a response whose status is TOO_MANY_REQUESTS, or the gRPC status
 *   RESOURCE_EXHAUSTED where the method has no status field), unread; so is a granted request whose
 *   body does not arrive within {@link READ_TIMEOUT_MS} (a slow sender cannot sit on the budget).
 * - **Fair shares.** The per-client share and the round robin go by client instance where the
 *   call names one (`x-mq-client-id`: official clients, and the Proxy passing their id on to
 *   brokers), else by connection: clients behind one Proxy connection are not one client. Reads at
 *   once are also capped per connection, so naming many ids does not buy more.
 * - **Accounting.** Once decoded, the grant shrinks to the request's encoded size and is held until
 *   the call ends (answered, cancelled, deadline); each answer's encoded size is held from when it
 *   was serialized until it is handed to the stream (HTTP/2 flow control holds it back from a slow
 *   reader). So a send waiting for its Raft commit, a Proxy forward and a pull answer being
 *   written all count, and new requests wait for them: read slots are given only while the budget
 *   has room for the client. A granted request must be read whole, to its half-close, within
 *   {@link READ_TIMEOUT_MS}.
 * - Bidirectional and client streams (PullStream, Telemetry, Raft) pass unchecked: their reads are
 *   open-ended (a held read would hold the budget while idle); each of their messages is bounded by
 *   the receive limit and their number by the server's own caps (pulls per stream, sessions).
 */
import * as grpc from '@grpc/grpc-js';
import type { BudgetRefusal, InflightBudget, Reservation } from './inflight-budget.js';

/** The header official clients name their instance with (`x-mq-client-id`). */
export const CLIENT_ID_HEADER = 'x-mq-client-id';

/** Encoded size of every message decoded or serialized by a {@link sizedService} (weakly held). */
const encodedBytes = new WeakMap<object, number>();

function noteSize<T>(message: T, bytes: number): T {
  if (typeof message === 'object' && message !== null) encodedBytes.set(message, bytes);
  return message;
}

/** A message's encoded size, when a {@link sizedService} decoded or serialized it (else 0). */
export function encodedSizeOf(message: unknown): number {
  return typeof message === 'object' && message !== null ? (encodedBytes.get(message) ?? 0) : 0;
}

/**
 * A copy of `service` whose request deserializers and response serializers note each message's
 * encoded size for {@link requestLimitsInterceptor}. Register this copy with `addService`.
 */
export function sizedService(service: grpc.ServiceDefinition): grpc.ServiceDefinition {
  const sized: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, method] of Object.entries(service) as Array<[string, grpc.MethodDefinition<unknown, unknown>]>) {
    sized[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer) => noteSize(method.requestDeserialize(bytes), bytes.length),
      responseSerialize: (value: unknown) => {
        const bytes = method.responseSerialize(value);
        noteSize(value, bytes.length);
        return bytes;
      },
    };
  }
  return sized;
}

export interface RequestLimitsOptions {
  budget: InflightBudget;
  /** Bytes asked of `budget` before a request of a body method is read: the server's receive limit. */
  requestGrantBytes: number;
  /** Methods whose requests carry message bodies (sends): read on a grant of `requestGrantBytes`. */
  bodyMethods: ReadonlySet<string>;
  /** Slots (1 "byte" each) for reading requests of every other method; decoded, they move to `budget`. */
  readSlots: InflightBudget;
  /**
   * The answer a refused call of `method` gets: a response message (sent with gRPC status OK), or
   * null to end the call with gRPC status RESOURCE_EXHAUSTED.
   */
  busyAnswer: (method: string, message: string) => object | null;
  /** Told of every refusal (metrics). */
  onRefused: (reason: RequestRefusal, method: string) => void;
  /** Longest wait for a grant (default {@link MAX_WAIT_MS}). */
  maxWaitMs?: number;
  /** Longest a granted request may take to arrive whole (default {@link READ_TIMEOUT_MS}). */
  readTimeoutMs?: number;
}

/** Why a call was refused by the budget: the wait was full, too long, or the body too slow. */
export type RequestRefusal = BudgetRefusal | 'read_wait_timeout' | 'read_timeout';

/** Longest a request waits for the budget before it is refused. */
export const MAX_WAIT_MS = 10_000;
/** Longest a granted request's body may take to arrive. */
export const READ_TIMEOUT_MS = 10_000;

const REASON_TEXT: Record<RequestRefusal, string> = {
  read_queue_node: 'the node has too many requests waiting to be read (in-flight bytes budget spent); retry later',
  read_queue_client: 'this client has too many requests waiting to be read (in-flight bytes budget spent); retry later',
  read_wait_timeout: `the request waited ${MAX_WAIT_MS} ms for the in-flight bytes budget; retry later`,
  read_timeout: `the request body did not arrive within ${READ_TIMEOUT_MS} ms of being admitted`,
};

/** What {@link AdmittedCall} hands back to the interceptor. */
interface AdmissionHooks {
  /** Runs `read` once the request may be read (the first read only; later ones pass). */
  admit: (read: () => void) => void;
  /** An answer was handed to the stream (its write callback ran). */
  written: () => void;
}

/** A call whose reads go through `admit` first (grpc-js reads nothing until the first read). */
class AdmittedCall extends grpc.ServerInterceptingCall {
  constructor(next: grpc.ServerInterceptingCallInterface, responder: grpc.Responder, private readonly hooks: AdmissionHooks) {
    super(next, responder);
  }

  override startRead(): void {
    this.hooks.admit(() => super.startRead());
  }

  override sendMessage(message: unknown, callback: () => void): void {
    super.sendMessage(message, () => {
      this.hooks.written();
      callback();
    });
  }
}

/** The server interceptor; see the file comment. Pass it in the server's `interceptors` option. */
export function requestLimitsInterceptor(options: RequestLimitsOptions): grpc.ServerInterceptor {
  const { budget } = options;
  return (descriptor, call) => {
    if (descriptor.requestStream) return new grpc.ServerInterceptingCall(call);
    const method = descriptor.path.slice(descriptor.path.lastIndexOf('/') + 1);
    const peer = call.getPeer();
    // Fair shares go by client instance where the caller names one (official clients, and the
    // Proxy passing their id on), else by connection; reads are capped per connection as well.
    let client = peer;
    const body = options.bodyMethods.has(method);
    const pool = body ? budget : options.readSlots;
    /** The grant the request is read on, then (body methods) its decoded size. */
    let reading: Reservation | null = null;
    /** The decoded request's bytes in `budget` (other methods). */
    let request: Reservation | null = null;
    /** Answers not written yet, oldest first (writes complete in order). */
    const answers: Reservation[] = [];
    let cancelWait: () => void = () => undefined;
    let timer: NodeJS.Timeout | undefined;
    let ended = false;
    const finish = (): void => {
      ended = true;
      clearTimeout(timer);
      cancelWait();
      reading?.release();
      request?.release();
      for (const answer of answers.splice(0)) answer.release();
    };
    /** Answers without reading the request (grpc-js drops its frames once the call ends). */
    const refuse = (reason: RequestRefusal): void => {
      if (ended) return;
      finish();
      options.onRefused(reason, method);
      const text = `${REASON_TEXT[reason]} (${budget.usedBytes} bytes in flight, ${budget.waitingRequests + options.readSlots.waitingRequests} requests waiting)`;
      const answer = options.busyAnswer(method, text);
      if (answer === null) {
        call.sendStatus({ code: grpc.status.RESOURCE_EXHAUSTED, details: text });
        return;
      }
      call.sendMessage(answer, () => undefined);
      call.sendStatus({ code: grpc.status.OK, details: 'OK' });
    };
    const admit = (read: () => void): void => {
      // Reads after the first (the half-close) need nothing more.
      if (ended || reading !== null) {
        read();
        return;
      }
      const asked = pool.request(client, peer, body ? options.requestGrantBytes : 1, (granted) => {
        clearTimeout(timer);
        if (ended) {
          granted.release();
          return;
        }
        reading = granted;
        // Until the half-close: a request whose end never comes would hold its bytes for good.
        timer = setTimeout(() => refuse('read_timeout'), options.readTimeoutMs ?? READ_TIMEOUT_MS);
        read();
      });
      if (typeof asked === 'string') {
        refuse(asked);
        return;
      }
      cancelWait = asked;
      if (reading === null) timer = setTimeout(() => refuse('read_wait_timeout'), options.maxWaitMs ?? MAX_WAIT_MS);
    };
    return new AdmittedCall(call, {
      start(next) {
        next({
          onReceiveMetadata(metadata, pass) {
            const clientId = metadata.get(CLIENT_ID_HEADER)[0];
            if (typeof clientId === 'string' && clientId !== '') client = `client ${clientId.slice(0, 128)}`;
            pass(metadata);
          },
          onReceiveMessage(message, pass) {
            const size = encodedSizeOf(message);
            if (body) {
              reading?.resize(size);
            } else if (!ended) {
              // A second message (a protocol error grpc-js answers) resizes, never leaks, the first hold.
              reading?.release();
              if (request) request.resize(size);
              else request = budget.hold(client, size);
            }
            pass(message);
          },
          onReceiveHalfClose(pass) {
            clearTimeout(timer);
            pass();
          },
          onCancel: finish,
        });
      },
      sendMessage(message, next) {
        next(message);
        // Serialized by now (the base call does it synchronously when no metadata is pending).
        if (!ended) answers.push(budget.hold(client, encodedSizeOf(message)));
      },
      sendStatus(status, next) {
        finish();
        next(status);
      },
    }, {
      admit,
      written: () => answers.shift()?.release(),
    });
  };
}
