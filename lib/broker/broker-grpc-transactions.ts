/**
 * gRPC adapter for transactions: EndTransaction (commit or roll back a half message) and the
 * WatchTransactionChecks stream (see transaction-service.ts and transaction-watchers.ts).
 */
import type { ServerWritableStream } from '@grpc/grpc-js';
import { LedgerError, toWireStatus } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { BrokerServiceHandlers } from '../gen/internal/ledgermq/v1/BrokerService.js';
import type { TransactionCheck } from '../gen/internal/ledgermq/v1/TransactionCheck.js';
import type { WatchTransactionChecksRequest__Output } from '../gen/internal/ledgermq/v1/WatchTransactionChecksRequest.js';
import { answer } from './grpc-answer.js';
import { checkTopicName } from './name-rules.js';
import { requireLeader } from './replicated-log.js';
import type { ReplicatedLog } from './replicated-log.js';
import type { TransactionService } from './transaction-service.js';
import type { TransactionWatchers } from './transaction-watchers.js';

/** What the transaction handlers call. */
export interface TransactionHandlerDeps {
  transactions: TransactionService;
  watchers: TransactionWatchers;
  log: ReplicatedLog;
  logger: Logger;
}

/** Topics one watch stream may name at most. */
const MAX_WATCHED_TOPICS = 1_024;

/** EndTransaction and WatchTransactionChecks. */
export function transactionServiceHandlers(deps: TransactionHandlerDeps): Pick<BrokerServiceHandlers, 'EndTransaction' | 'WatchTransactionChecks'> {
  return {
    EndTransaction(call, callback) {
      answer(deps.logger, callback, async () => {
        const { topic, messageId, transactionId, commit } = call.request;
        checkTopicName(topic);
        await deps.transactions.end(topic, messageId, transactionId, commit);
        return {};
      });
    },
    WatchTransactionChecks(call: ServerWritableStream<WatchTransactionChecksRequest__Output, TransactionCheck>) {
      try {
        requireLeader(deps.log);
        const topics = call.request.topics;
        if (topics.length === 0 || topics.length > MAX_WATCHED_TOPICS) throw new LedgerError('BAD_REQUEST', `a watch names 1..${MAX_WATCHED_TOPICS} topics`);
        for (const topic of topics) checkTopicName(topic);
        deps.watchers.add(call, topics);
        // Checks that were waiting for a producer go out now.
        deps.transactions.wake();
      } catch (error) {
        call.write({ status: toWireStatus(error) });
        call.end();
      }
    },
  };
}
