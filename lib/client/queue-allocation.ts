/**
 * Queue allocation inside a consumer group (RocketMQ's AllocateMessageQueueAveragely): queues and
 * client ids are sorted, each client takes a contiguous run, the first `queues % clients` clients
 * one queue more. Every instance computes the same answer from the same member list, so no
 * coordinator is needed.
 */

/** A queue of a topic on one broker group. */
export interface MessageQueue {
  topic: string;
  brokerGroup: string;
  queueId: number;
}

/** `items` by the broker group of their queue (requests go to each group's leader). */
export function byBrokerGroup<T>(items: readonly T[], queueOf: (item: T) => MessageQueue): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const brokerGroup = queueOf(item).brokerGroup;
    const list = groups.get(brokerGroup);
    if (list) list.push(item);
    else groups.set(brokerGroup, [item]);
  }
  return groups;
}

/** `brokerGroup/topic/queueId`: a stable key and sort order. */
export function queueKey(queue: MessageQueue): string {
  return `${queue.brokerGroup}/${queue.topic}/${String(queue.queueId).padStart(5, '0')}`;
}

/** The queues `self` owns among `members` (which must include it); [] when it is not a member. */
export function allocateAveragely(queues: readonly MessageQueue[], members: readonly string[], self: string): MessageQueue[] {
  const sortedMembers = [...new Set(members)].sort();
  const index = sortedMembers.indexOf(self);
  if (index < 0 || queues.length === 0) return [];
  const sortedQueues = [...queues].sort((a, b) => (queueKey(a) < queueKey(b) ? -1 : queueKey(a) > queueKey(b) ? 1 : 0));
  const count = sortedMembers.length;
  const base = Math.floor(sortedQueues.length / count);
  const extra = sortedQueues.length % count;
  const start = index * base + Math.min(index, extra);
  const size = base + (index < extra ? 1 : 0);
  return sortedQueues.slice(start, start + size);
}
