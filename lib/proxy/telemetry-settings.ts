/**
 * The settings the Proxy answers a client's first Telemetry `settings` command with. The official
 * Node client needs `backoff_policy` (exponential) and, for producers, `publishing.max_body_size`
 * > 0 in this answer, or it hangs or crashes at startup.
 *
 * A consumer gets its group's retry policy: the maximum delivery attempts and an exponential
 * backoff, which a PushConsumer applies to a failed message (ChangeInvisibleDuration) before it is
 * delivered again. Known client quirk: rocketmq-client-nodejs 1.0.x reads only the whole seconds
 * of the backoff durations and then uses them as milliseconds (1 s → 1 ms), so its retries come
 * 1,000 times sooner than the policy says; other official clients read the durations as sent.
 */
import type { GroupConfig__Output } from '../gen/internal/ledgermq/v1/GroupConfig.js';
import type { Settings, Settings__Output } from '../gen/v2/apache/rocketmq/v2/Settings.js';
import { msToDuration } from './v2-codec.js';

export interface SettingsLimits {
  maxBodyBytes: number;
  receiveBatchSize: number;
  longPollingTimeoutMs: number;
}

/** How a consumer group consumes, as the brokers keep it: its retry policy and whether it is FIFO. */
export interface GroupConsumePolicy {
  /** Deliveries before the dead-letter queue (the first included). */
  maxDeliveryAttempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
  multiplier: number;
  /** FIFO consumption (GroupConfig.consume_orderly): a PushConsumer then consumes each queue's messages one by one, in order. */
  fifo: boolean;
}

/** RocketMQ's defaults (16 retries; ExponentialRetryPolicy 1 s × 2 up to 2 h), for a group no broker described. */
export const DEFAULT_RETRY_POLICY: GroupConsumePolicy = { maxDeliveryAttempts: 17, initialBackoffMs: 1_000, maxBackoffMs: 2 * 60 * 60 * 1000, multiplier: 2, fifo: false };

/** The retry policy of a group config answered by a broker. */
export function retryPolicyOf(group: GroupConfig__Output): GroupConsumePolicy {
  const backoff = group.retryBackoff;
  return {
    maxDeliveryAttempts: group.maxDeliveryAttempts > 0 ? group.maxDeliveryAttempts : DEFAULT_RETRY_POLICY.maxDeliveryAttempts,
    initialBackoffMs: backoff ? Number(backoff.initialMs) : DEFAULT_RETRY_POLICY.initialBackoffMs,
    maxBackoffMs: backoff ? Number(backoff.maxMs) : DEFAULT_RETRY_POLICY.maxBackoffMs,
    multiplier: backoff ? backoff.multiplier : DEFAULT_RETRY_POLICY.multiplier,
    fifo: group.consumeOrderly,
  };
}

/**
 * Answer to a client's settings; the client type decides between publishing and subscription.
 * `policy`: the consumer group's retry policy (null: RocketMQ's defaults).
 */
export function settingsFor(client: Settings__Output, limits: SettingsLimits, policy: GroupConsumePolicy | null = null): Settings {
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
  const retry = policy ?? DEFAULT_RETRY_POLICY;
  return {
    ...base,
    // Exponential (RocketMQ's GroupConsumePolicy type EXPONENTIAL): the Node client ignores customized backoff.
    backoffPolicy: {
      maxAttempts: retry.maxDeliveryAttempts,
      exponentialBackoff: { initial: msToDuration(retry.initialBackoffMs), max: msToDuration(retry.maxBackoffMs), multiplier: retry.multiplier },
    },
    subscription: {
      group: client.subscription?.group ?? undefined,
      subscriptions: client.subscription?.subscriptions ?? [],
      fifo: retry.fifo,
      receiveBatchSize: limits.receiveBatchSize,
      longPollingTimeout: msToDuration(limits.longPollingTimeoutMs),
    },
  };
}
