/**
 * The workloads by name. `queue`: unique payloads from several producers with sends in flight, two
 * consumers in one group. `order`: each producer a message group sending one message at a time
 * with sequence numbers (per-queue order of a single producer, until FIFO topics exist).
 */
import type { WorkloadOptions } from '../workload/workload.js';

export type WorkloadSpec = Omit<WorkloadOptions, 'accessPoint' | 'history' | 'currentLeader'>;

export const WORKLOADS: Record<string, WorkloadSpec> = {
  queue: { topic: 'jepsen-queue', consumerGroup: 'jepsen-queue-group', producers: 3, concurrencyPerProducer: 4, sendsPerSecond: 300, consumers: 2, sequenced: false, maxSends: 200_000 },
  order: { topic: 'jepsen-order', consumerGroup: 'jepsen-order-group', producers: 3, concurrencyPerProducer: 1, sendsPerSecond: 150, consumers: 2, sequenced: true, maxSends: 200_000 },
};
