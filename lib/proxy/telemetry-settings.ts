/**
 * The settings the Proxy answers a client's first Telemetry `settings` command with. The official
 * Node client needs `backoff_policy` (exponential) and, for producers, `publishing.max_body_size`
 * > 0 in this answer, or it hangs or crashes at startup.
 */
import type { Settings, Settings__Output } from '../gen/v2/apache/rocketmq/v2/Settings.js';
import { msToDuration } from './v2-codec.js';

export interface SettingsLimits {
  maxBodyBytes: number;
  /** Deliveries before the dead-letter queue (the group's retry policy). */
  maxDeliveryAttempts: number;
  receiveBatchSize: number;
  longPollingTimeoutMs: number;
}

/** Answer to a client's settings; the client type decides between publishing and subscription. */
export function settingsFor(client: Settings__Output, limits: SettingsLimits): Settings {
  const base: Settings = {
    clientType: client.clientType,
    accessPoint: client.accessPoint ?? undefined,
    requestTimeout: client.requestTimeout ?? msToDuration(3000),
  };
  if (client.pubSub === 'publishing' || client.clientType === 'PRODUCER') {
    return {
      ...base,
      backoffPolicy: { maxAttempts: 3, exponentialBackoff: { initial: msToDuration(10), max: msToDuration(1000), multiplier: 2 } },
      publishing: {
        topics: client.publishing?.topics ?? [],
        maxBodySize: limits.maxBodyBytes,
        validateMessageType: true,
      },
    };
  }
  return {
    ...base,
    // RocketMQ's retry delays grow from 1 s to 2 h; the Node client only understands exponential.
    backoffPolicy: {
      maxAttempts: limits.maxDeliveryAttempts,
      exponentialBackoff: { initial: msToDuration(1000), max: msToDuration(2 * 60 * 60 * 1000), multiplier: 2 },
    },
    subscription: {
      group: client.subscription?.group ?? undefined,
      subscriptions: client.subscription?.subscriptions ?? [],
      fifo: false,
      receiveBatchSize: limits.receiveBatchSize,
      longPollingTimeout: msToDuration(limits.longPollingTimeoutMs),
    },
  };
}
