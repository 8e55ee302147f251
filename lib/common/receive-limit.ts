/** The largest request a LedgerMQ gRPC server reads: one batch at its limit plus its envelope. */

/** Headroom above the largest batch for a request's envelope (topic, properties, ids). */
export const RECEIVE_HEADROOM_BYTES = 1024 * 1024;

/** `grpc.max_receive_message_length` of a server whose batches are at most `maxBatchBytes`. */
export function receiveLimitOf(maxBatchBytes: number): number {
  return maxBatchBytes + RECEIVE_HEADROOM_BYTES;
}
