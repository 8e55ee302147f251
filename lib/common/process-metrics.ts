/**
 * prom-client's default process metrics (CPU, memory, heap, GC, event-loop lag), as every
 * LedgerMQ process exports them.
 */
import { collectDefaultMetrics } from 'prom-client';
import type { Registry } from 'prom-client';

/**
 * Resolution of the event-loop lag histogram (`nodejs_eventloop_lag_*`). prom-client's default of
 * 10 ms arms a timer that wakes an idle process 100 times a second, which alone cost an idle broker
 * about 0.7% of a core on the bench machine; 100 ms still shows the stalls that matter (a Raft
 * election timeout is 300 ms).
 */
export const EVENT_LOOP_LAG_RESOLUTION_MS = 100;

/** Registers the default process metrics on `registry`. */
export function collectProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_LAG_RESOLUTION_MS });
}
