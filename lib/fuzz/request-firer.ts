/**
 * Fires one fuzz request (unary or streaming, frames already encoded) and reports how it ended:
 * the gRPC status, the application status code inside the first response (v2 `status.code`, or
 * the internal Status table's name), how many responses came, and whether it hung (no status
 * within its deadline plus a grace period, which a working gRPC stack never allows).
 */
import * as grpc from '@grpc/grpc-js';
import { StatusCode } from '../common/status-codes.js';
import type { FuzzMethod } from './fuzz-schema.js';

/** How long past its deadline a call may take to report its status before it counts as hung. */
const HANG_GRACE_MS = 10_000;

/** How one request ended. */
export interface FireOutcome {
  /** gRPC status name (OK, INVALID_ARGUMENT, DEADLINE_EXCEEDED, ...), or HANG. */
  grpcStatus: string;
  /** Status code name inside the first response, when it decoded and carried one. */
  appStatus: string | null;
  responses: number;
  elapsedMs: number;
}

const CODE_NAMES = new Map<number, string>(Object.entries(StatusCode).map(([name, value]) => [value, name]));
const GRPC_NAMES = new Map<number, string>(Object.entries(grpc.status).filter(([, v]) => typeof v === 'number').map(([name, value]) => [value as number, name]));

const identity = (bytes: Buffer): Buffer => bytes;

/** The status code carried by a response, by name, or null. */
function appStatusOf(method: FuzzMethod, bytes: Buffer): string | null {
  try {
    const decoded = method.responseType.toObject(method.responseType.decode(bytes), { enums: String, longs: String }) as { status?: { code?: unknown } };
    const code = decoded.status?.code;
    if (typeof code === 'string') return code;
    if (typeof code === 'number') return CODE_NAMES.get(code) ?? String(code);
    return null;
  } catch {
    return 'UNDECODABLE_RESPONSE';
  }
}

/**
 * Calls `method` on `client` with `frames` (one for a unary or server-streaming request; any number
 * for a client or bidi stream, half-closed after the last) and resolves when the call ends, by its
 * status, its deadline, or the hang watchdog. `streamHoldMs` caps how long a stream that keeps
 * answering is held before this side cancels it (a normal end for long polls).
 */
export function fireRequest(client: grpc.Client, method: FuzzMethod, frames: readonly Buffer[], metadata: grpc.Metadata, deadlineMs: number, streamHoldMs = deadlineMs): Promise<FireOutcome> {
  const started = Date.now();
  const deadline = started + deadlineMs;
  let responses = 0;
  let appStatus: string | null = null;
  const onResponse = (bytes: Buffer): void => {
    if (responses === 0) appStatus = appStatusOf(method, bytes);
    responses += 1;
  };
  return new Promise<FireOutcome>((resolve) => {
    let settled = false;
    const hold: { timer?: NodeJS.Timeout } = {};
    const finish = (grpcStatus: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(watchdog);
      clearTimeout(hold.timer);
      resolve({ grpcStatus, appStatus, responses, elapsedMs: Date.now() - started });
    };
    const watchdog = setTimeout(() => {
      call?.cancel();
      finish('HANG');
    }, deadlineMs + HANG_GRACE_MS);
    const onStatus = (status: grpc.StatusObject): void => finish(GRPC_NAMES.get(status.code) ?? String(status.code));
    let call: grpc.ClientUnaryCall | grpc.ClientReadableStream<Buffer> | grpc.ClientWritableStream<Buffer> | grpc.ClientDuplexStream<Buffer, Buffer> | undefined;
    const callback = (error: grpc.ServiceError | null, response?: Buffer): void => {
      if (response !== undefined) onResponse(response);
      if (error) finish(GRPC_NAMES.get(error.code) ?? String(error.code));
    };
    const options: grpc.CallOptions = { deadline };
    if (!method.requestStream && !method.responseStream) {
      call = client.makeUnaryRequest(method.path, identity, identity, frames[0] ?? Buffer.alloc(0), metadata, options, callback);
      call.on('status', onStatus);
      return;
    }
    if (!method.requestStream) {
      const stream = client.makeServerStreamRequest(method.path, identity, identity, frames[0] ?? Buffer.alloc(0), metadata, options);
      call = stream;
      stream.on('data', onResponse);
      stream.on('error', () => undefined);
      stream.on('status', onStatus);
    } else if (!method.responseStream) {
      const stream = client.makeClientStreamRequest(method.path, identity, identity, metadata, options, callback);
      call = stream;
      stream.on('status', onStatus);
      for (const frame of frames) stream.write(frame);
      stream.end();
      return;
    } else {
      const stream = client.makeBidiStreamRequest(method.path, identity, identity, metadata, options);
      call = stream;
      stream.on('data', onResponse);
      stream.on('error', () => undefined);
      stream.on('status', onStatus);
      for (const frame of frames) stream.write(frame);
      stream.end();
    }
    // A stream still open after the hold time is cancelled by us: the server answered, or holds
    // a long poll; either way it did not hang (the deadline would still have ended it).
    hold.timer = setTimeout(() => call?.cancel(), streamHoldMs);
  });
}
