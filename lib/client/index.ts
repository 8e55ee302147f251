/**
 * LedgerMQ's TypeScript client: producer, push and pull consumers, over the internal protocol,
 * with routes from NameServers. See lib/client/README.md for usage.
 */
export { Producer } from './producer.js';
export type { ProducerOptions, TransactionCheckerOptions, TransactionResolution } from './producer.js';
export { PushConsumer } from './push-consumer.js';
export type { ConsumeFrom, PushConsumerOptions } from './push-consumer.js';
export { PullConsumer } from './pull-consumer.js';
export type { PullConsumerOptions } from './pull-consumer.js';
export type { ConsumeContext, ConsumeResult, MessageListener } from './consume-service.js';
export type { Message, ReceivedMessage, SendResult } from './message.js';
export type { MessageQueue } from './queue-allocation.js';
export type { ClientOptions } from './client-options.js';
export type { ConsumeMode } from './rebalance-service.js';
export { ConsumerAdmin } from './consumer-admin.js';
