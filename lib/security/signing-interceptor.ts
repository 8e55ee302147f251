/**
 * A grpc-js client interceptor that adds signature headers to every call a client opens (unary
 * and streaming alike), computed when the call starts so that each carries a fresh date-time.
 */
import * as grpc from '@grpc/grpc-js';

/** Headers to add to a call of the gRPC method `path`. */
export type CallHeaders = (path: string) => Record<string, string>;

/** Client options that sign every call with `headersFor`; merge them into a client's options. */
export function signingOptions(headersFor: CallHeaders | null): Pick<grpc.ClientOptions, 'interceptors'> {
  if (headersFor === null) return {};
  const interceptor: grpc.Interceptor = (options, nextCall) => new grpc.InterceptingCall(nextCall(options), {
    start(metadata, listener, next) {
      for (const [key, value] of Object.entries(headersFor(options.method_definition.path))) metadata.set(key, value);
      next(metadata, listener);
    },
  });
  return { interceptors: [interceptor] };
}
