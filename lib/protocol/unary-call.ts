import * as grpc from '@grpc/grpc-js';
import { LedgerError } from '../common/errors.js';

/** A generated unary client method in its (request, options, callback) form. */
type UnaryMethod<Req, Res> = (
  request: Req,
  options: grpc.CallOptions,
  callback: (error: grpc.ServiceError | null, response?: Res) => void,
) => grpc.ClientUnaryCall;

/**
 * Calls a unary gRPC method and resolves with its response. Transport failures (peer down,
 * deadline) reject with a retriable {@link LedgerError} whose cause is the gRPC error, except a
 * request over the server's receive limit (PAYLOAD_TOO_LARGE, not retriable); statuses
 * inside the response are left for the caller to check.
 */
export function unaryCall<Req, Res>(client: grpc.Client, method: UnaryMethod<Req, Res>, request: Req, timeoutMs: number): Promise<Res> {
  return new Promise((resolve, reject) => {
    method.call(client, request, { deadline: Date.now() + timeoutMs }, (error, response) => {
      if (error) {
        // RESOURCE_EXHAUSTED: a request over the server's receive limit (never retried), or a
        // server over a limit that has no status field to say so (retried later).
        const tooLarge = error.code === grpc.status.RESOURCE_EXHAUSTED && /larger than max/.test(error.details);
        const code = error.code === grpc.status.DEADLINE_EXCEEDED ? 'PROXY_TIMEOUT'
          : tooLarge ? 'PAYLOAD_TOO_LARGE'
            : error.code === grpc.status.RESOURCE_EXHAUSTED ? 'TOO_MANY_REQUESTS' : 'INTERNAL_SERVER_ERROR';
        reject(new LedgerError(code, `rpc failed: ${error.details || error.message}`, { cause: error, retriable: !tooLarge }));
      } else if (response === undefined) {
        reject(new LedgerError('INTERNAL_SERVER_ERROR', 'rpc returned no response'));
      } else {
        resolve(response);
      }
    });
  });
}
