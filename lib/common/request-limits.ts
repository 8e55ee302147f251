/**
 * The in-flight bytes budget ({@link InflightBudget}) applied to a gRPC server, as a grpc-js
 * server interceptor plus a service definition whose (de)serializers note each message's size.
 *
 * - **Admission before reading.** A send's request is read only once the budget grants it the
 *   server's receive limit (the largest request it may be): grpc-js keeps the HTTP/2 stream paused
 *   until the handler's first read, and this interceptor holds that read. So sends are never
 *   buffered beyond the budget, however many start at once. Requests of every other method (acks,
 *   pops, heartbeats: small by nature) are read on one of a few read slots instead, so that they do
 *   not queue behind sends for bytes; a hostile near-limit request to such a method costs at most
 *   one receive limit per slot. Decoded, they are held in the budget like sends. A call that cannot
 *   even wait (the wait is full) or waits longer than {@link MAX_WAIT_MS} is answered with the
 *   server's busy answer (a response whose status is TOO_MANY_REQUESTS, or the gRPC status
 *   RESOURCE_EXHAUSTED where the method has no status field), unread; so is a granted request whose
 *   body does not arrive within {@link READ_TIMEOUT_MS} (a slow sender cannot sit on the budget).
 * - **Fair shares.** The per-connection budget and the round robin go by client instance where
 *   the call names one (`x-mq-client-id`: official clients, and the Proxy passing their id on to
 *   brokers), else by connection: clients behind one Proxy connection are not one client.
 * - **Accounting.** Once decoded, the grant shrinks to the request's encoded size and is held, with
 *   each answer's encoded size from when it was serialized, until the call ends (answered,
 *   cancelled, deadline). So a send waiting for its Raft commit, a Proxy forward and a pull answer
 *   being written all count, and new requests wait for them.
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

/** A call whose reads go through `admit` first (grpc-js reads nothing until the first read). */
class AdmittedCall extends grpc.ServerInterceptingCall {
  constructor(next: grpc.ServerInterceptingCallInterface, responder: grpc.Responder, private readonly admit: (read: () => void) => void) {
    super(next, responder);
  }

  override startRead(): void {
    this.admit(() => super.startRead());
  }
}

/** The server interceptor; see the file comment. Pass it in the server's `interceptors` option. */
export function requestLimitsInterceptor(options: RequestLimitsOptions): grpc.ServerInterceptor {
  const { budget } = options;
  return (descriptor, call) => {
    if (descriptor.requestStream) return new grpc.ServerInterceptingCall(call);
    const method = descriptor.path.slice(descriptor.path.lastIndexOf('/') + 1);
    // Fair shares go by client instance where the caller names one (official clients, and the
    // Proxy passing their id on), else by connection.
    let connection = call.getPeer();
    const body = options.bodyMethods.has(method);
    const pool = body ? budget : options.readSlots;
    /** The grant the request is read on, then (body methods) its decoded size. */
    let reading: Reservation | null = null;
    /** The decoded request's bytes in `budget` (other methods). */
    let request: Reservation | null = null;
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
      const text = `${REASON_TEXT[reason]} (${budget.usedBytes} bytes in flight, ${budget.waitingRequests} requests waiting)`;
      const answer = options.busyAnswer(method, text);
      if (answer === null) {
        call.sendStatus({ code: grpc.status.RESOURCE_EXHAUSTED, details: text });
        return;
      }
      call.sendMessage(answer, () => undefined);
      call.sendStatus({ code: grpc.status.OK, details: 'OK' });
    };
    const admit = (read: () => void): void => {
      // Reads after the request (its half-close) need nothing more.
      if (ended || reading !== null) {
        read();
        return;
      }
      const asked = pool.request(connection, body ? options.requestGrantBytes : 1, (granted) => {
        clearTimeout(timer);
        if (ended) {
          granted.release();
          return;
        }
        reading = granted;
        timer = setTimeout(() => refuse('read_timeout'), READ_TIMEOUT_MS);
        read();
      });
      if (typeof asked === 'string') {
        refuse(asked);
        return;
      }
      cancelWait = asked;
      if (reading === null) timer = setTimeout(() => refuse('read_wait_timeout'), MAX_WAIT_MS);
    };
    return new AdmittedCall(call, {
      start(next) {
        next({
          onReceiveMetadata(metadata, pass) {
            const clientId = metadata.get(CLIENT_ID_HEADER)[0];
            if (typeof clientId === 'string' && clientId !== '') connection = `client ${clientId.slice(0, 128)}`;
            pass(metadata);
          },
          onReceiveMessage(message, pass) {
            clearTimeout(timer);
            const size = encodedSizeOf(message);
            if (body) {
              reading?.resize(size);
            } else if (!ended) {
              reading?.release();
              request = budget.hold(connection, size);
            }
            pass(message);
          },
          onCancel: finish,
        });
      },
      sendMessage(message, next) {
        next(message);
        // Serialized by now (the base call does it synchronously when no metadata is pending).
        if (!ended) answers.push(budget.hold(connection, encodedSizeOf(message)));
      },
      sendStatus(status, next) {
        finish();
        next(status);
      },
    }, admit);
  };
}
