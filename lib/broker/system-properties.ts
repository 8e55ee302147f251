/**
 * Properties the broker sets on copies it stores for later (RocketMQ's names): a delayed, retried
 * or transactional message waits in a broker topic and names where it goes when it is due.
 */
export const SystemProperty = {
  /** The topic a waiting copy is delivered to. */
  REAL_TOPIC: 'REAL_TOPIC',
  /** Its queue there (-1: the broker's choice). */
  REAL_QUEUE_ID: 'REAL_QID',
  /** The delay level of a retry copy (1-based). */
  DELAY_LEVEL: 'DELAY',
} as const;
