/**
 * Properties the broker sets on copies it stores for later (RocketMQ's names): a delayed, retried
 * or transactional message waits in a broker topic and names where it goes when it is due.
 */
import { TIMER_ROW_PROPERTY } from '../store/timer-index.js';
import { TRANSACTION_END_PROPERTY } from '../store/transaction-table.js';

/** The property names (RocketMQ's). */
export const SystemProperty = {
  /** The topic a waiting copy is delivered to. */
  REAL_TOPIC: 'REAL_TOPIC',
  /** Its queue there (-1: the broker's choice). */
  REAL_QUEUE_ID: 'REAL_QID',
  /** The delay level of a retry copy (1-based). */
  DELAY_LEVEL: 'DELAY',
} as const;

/**
 * Properties only the broker may set: they steer the state machine (a copy carrying TIMER_ROW or
 * TRAN_END_OF ends a waiting row or transaction when dispatched) or where a waiting copy goes.
 * A producer's message carrying one is refused (ILLEGAL_MESSAGE_PROPERTY_KEY).
 */
export const RESERVED_PROPERTIES: ReadonlySet<string> = new Set([SystemProperty.REAL_TOPIC, SystemProperty.REAL_QUEUE_ID, TIMER_ROW_PROPERTY, TRANSACTION_END_PROPERTY]);
