/** gRPC adapter for orderly consumers' queue locks (queue-locks.ts). */
import { LedgerError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { BrokerServiceHandlers } from '../gen/internal/ledgermq/v1/BrokerService.js';
import { answer } from './grpc-answer.js';
import { checkGroupName, checkTopicName } from './name-rules.js';
import type { QueueLocks } from './queue-locks.js';
import { requireLeader } from './replicated-log.js';
import type { ReplicatedLog } from './replicated-log.js';

/** Queues one request may lock at most. */
const MAX_QUEUES_PER_REQUEST = 4_096;

/** LockQueues and UnlockQueues. */
export function queueLockHandlers(deps: { locks: QueueLocks; log: ReplicatedLog; logger: Logger }): Pick<BrokerServiceHandlers, 'LockQueues' | 'UnlockQueues'> {
  const parse = (request: { group: string; clientId: string; queues: Array<{ topic: string; queueId: number }> }): Array<{ topic: string; queueId: number }> => {
    requireLeader(deps.log);
    checkGroupName(request.group);
    if (request.clientId === '') throw new LedgerError('CLIENT_ID_REQUIRED', 'a queue lock needs a client id');
    if (request.queues.length > MAX_QUEUES_PER_REQUEST) throw new LedgerError('BAD_REQUEST', `at most ${MAX_QUEUES_PER_REQUEST} queues per request`);
    for (const queue of request.queues) checkTopicName(queue.topic);
    return request.queues.map((q) => ({ topic: q.topic, queueId: q.queueId }));
  };
  return {
    LockQueues(call, callback) {
      answer(deps.logger, callback, () => Promise.resolve({ locked: deps.locks.lock(call.request.group, call.request.clientId, parse(call.request)) }));
    },
    UnlockQueues(call, callback) {
      answer(deps.logger, callback, () => {
        deps.locks.unlock(call.request.group, call.request.clientId, parse(call.request));
        return Promise.resolve({});
      });
    },
  };
}
