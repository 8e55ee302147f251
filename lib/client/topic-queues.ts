/**
 * The queues of a topic route a client may read or write, over every broker group serving it,
 * by RocketMQ's permission bits (4 read, 2 write).
 */
import { LedgerError } from '../common/errors.js';
import type { TopicRoute } from '../namesrv/route-table.js';
import type { MessageQueue } from './queue-allocation.js';

const PERM_READ = 4;
const PERM_WRITE = 2;

/** Every readable queue of the route (a group's `readQueues` of them). */
export function readableQueues(route: TopicRoute): MessageQueue[] {
  const queues: MessageQueue[] = [];
  for (const g of route.groups) {
    if (!g.topic || (g.topic.perm & PERM_READ) === 0) continue;
    for (let queueId = 0; queueId < g.topic.readQueues; queueId++) queues.push({ topic: route.topic, brokerGroup: g.group, queueId });
  }
  return queues;
}

/** Every writable queue of the route, by group then queue id. Throws TOPIC_NOT_FOUND when none. */
export function writableQueues(route: TopicRoute): MessageQueue[] {
  const queues: MessageQueue[] = [];
  const groups = [...route.groups].sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
  for (const g of groups) {
    if (!g.topic || (g.topic.perm & PERM_WRITE) === 0) continue;
    for (let queueId = 0; queueId < g.topic.writeQueues; queueId++) queues.push({ topic: route.topic, brokerGroup: g.group, queueId });
  }
  if (queues.length === 0) throw new LedgerError('TOPIC_NOT_FOUND', `topic ${route.topic} has no writable queue`);
  return queues;
}
