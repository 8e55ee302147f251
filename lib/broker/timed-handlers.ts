/**
 * Wraps a gRPC service's unary handlers so each call's latency lands in a histogram labelled with
 * the RPC's name and the status it answered (the LedgerMQ status name from the response's
 * `status`, or the gRPC code name when the call failed at the transport). Streaming handlers are
 * passed through untouched.
 */
import * as grpc from '@grpc/grpc-js';
import type { Histogram } from 'prom-client';
import { statusCodeName } from '../common/status-codes.js';

type UnaryHandler = (call: unknown, callback: (error: grpc.ServiceError | null, value?: unknown, ...rest: unknown[]) => void) => void;

/** The status name a response carries. */
function answeredStatus(error: grpc.ServiceError | null, value: unknown): string {
  if (error) return grpc.status[error.code] ?? 'UNKNOWN';
  const code = (value as { status?: { code?: number } | null } | undefined)?.status?.code;
  return code === undefined ? 'OK' : (statusCodeName(code) ?? String(code));
}

/** See the file comment. `streaming` names the handlers to leave alone. */
export function timedHandlers<T extends object>(handlers: T, latency: Histogram<'operation' | 'status'>, streaming: ReadonlySet<string>): T {
  const timed: Record<string, unknown> = {};
  for (const [operation, handler] of Object.entries(handlers)) {
    if (streaming.has(operation) || typeof handler !== 'function') {
      timed[operation] = handler;
      continue;
    }
    const unary = handler as UnaryHandler;
    timed[operation] = (call: unknown, callback: Parameters<UnaryHandler>[1]) => {
      const started = process.hrtime.bigint();
      unary(call, (error, value, ...rest) => {
        latency.observe({ operation, status: answeredStatus(error, value) }, Number(process.hrtime.bigint() - started) / 1e9);
        callback(error, value, ...rest);
      });
    };
  }
  return timed as T;
}
