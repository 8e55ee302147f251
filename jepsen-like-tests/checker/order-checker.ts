/**
 * Order within queues and message groups, from a history. A message group is one producer sending
 * one message at a time, each waiting for the previous acknowledgement, with sequence numbers from 0
 * (until FIFO topics exist, this is RocketMQ's per-queue order of a single producer). Checks:
 * - **reordered**: within a queue, the acknowledged copies of a group's messages stored (by queue
 *   offset) out of sequence order (copies from client retries are duplicates and make no claim);
 * - **moved**: an acknowledged message never delivered at the offset its acknowledgement named;
 * - **conflict**: two different messages delivered at the same queue offset;
 * - **gap**: a queue offset below the highest one seen that no delivery ever covered (a committed
 *   message, acknowledged or not, that consumers never got).
 */
import type { Operation, ReceiveValue, SendValue } from '../history/operation.js';
import type { CheckerResult } from '../report/run-summary.js';

const MAX_EXAMPLES = 20;

interface Placed {
  id: string;
  group?: string;
  seq?: number;
  queueId: number;
  queueOffset: number;
}

export function checkOrder(history: readonly Operation[]): CheckerResult {
  const sent = new Map<string, SendValue>();
  const acknowledgedSends: SendValue[] = [];
  const deliveredAt = new Map<string, string>(); // "queue:offset" -> id
  const delivered: Placed[] = [];
  const problems: string[] = [];
  const counts = { reordered: 0, moved: 0, conflict: 0, gap: 0, unplaced: 0 };
  /** Acknowledgements whose offset matches copies in several queues: no order claim is made. */
  let ambiguous = 0;
  for (const op of history) {
    if (op.kind === 'send' && op.type === 'invoke') sent.set((op.value as SendValue).id, op.value as SendValue);
    if (op.kind === 'send' && op.type === 'ok') acknowledgedSends.push(op.value as SendValue);
    if (op.kind === 'receive' && op.type === 'ok') {
      const value = op.value as ReceiveValue;
      if (value.queueId === undefined || value.queueOffset === undefined) {
        // Its position is unknown: gaps and order cannot be judged without it.
        counts.unplaced += 1;
        problems.push(`${value.id} delivered without a readable queue position`);
        continue;
      }
      const key = `${value.queueId}:${value.queueOffset}`;
      const previous = deliveredAt.get(key);
      if (previous === undefined) {
        deliveredAt.set(key, value.id);
        const origin = sent.get(value.id);
        delivered.push({ id: value.id, group: origin?.group, seq: origin?.seq, queueId: value.queueId, queueOffset: value.queueOffset });
      } else if (previous !== value.id) {
        counts.conflict += 1;
        problems.push(`conflict at queue ${value.queueId} offset ${value.queueOffset}: ${previous} and ${value.id}`);
      }
    }
  }
  // A retried send can be stored more than once (at-least-once): the copy the acknowledgement
  // names is the one at its offset; the other copies are duplicates and make no order claim.
  const copies = new Map<string, Placed[]>();
  for (const place of delivered) {
    const list = copies.get(place.id);
    if (list) list.push(place);
    else copies.set(place.id, [place]);
  }
  const acknowledged: Placed[] = [];
  for (const ack of acknowledgedSends) {
    if (ack.queueOffset === undefined || ack.queueOffset < 0) continue;
    const delivered = copies.get(ack.id) ?? [];
    const matching = delivered.filter((p) => p.queueOffset === ack.queueOffset && (ack.queueId === undefined || p.queueId === ack.queueId));
    const copy = matching[0];
    if (matching.length > 1) ambiguous += 1;
    else if (copy) acknowledged.push({ ...copy, group: ack.group, seq: ack.seq });
    else if (delivered.length > 0) {
      counts.moved += 1;
      problems.push(`${ack.id} acknowledged at offset ${ack.queueOffset}, delivered only at ${delivered.map((p) => `${p.queueId}:${p.queueOffset}`).join(', ')}`);
    }
  }
  for (const problem of findReorderings(acknowledged)) {
    counts.reordered += 1;
    problems.push(problem);
  }
  const offsetsByQueue = new Map<number, Set<number>>();
  for (const place of delivered) {
    let offsets = offsetsByQueue.get(place.queueId);
    if (!offsets) offsetsByQueue.set(place.queueId, (offsets = new Set()));
    offsets.add(place.queueOffset);
  }
  for (const ack of acknowledged) if (!offsetsByQueue.has(ack.queueId)) offsetsByQueue.set(ack.queueId, new Set());
  for (const [queueId, offsets] of offsetsByQueue) {
    let highest = -1;
    for (const offset of offsets) highest = Math.max(highest, offset);
    for (const ack of acknowledged) if (ack.queueId === queueId) highest = Math.max(highest, ack.queueOffset);
    for (let offset = 0; offset <= highest; offset++) {
      if (!offsets.has(offset)) {
        counts.gap += 1;
        problems.push(`gap: queue ${queueId} offset ${offset} never delivered`);
      }
    }
  }
  const total = counts.reordered + counts.moved + counts.conflict + counts.gap + counts.unplaced;
  const groups = new Set(acknowledged.map((a) => a.group).filter((g) => g !== undefined)).size;
  return {
    name: 'order',
    valid: total === 0,
    count: total,
    summary: `${counts.reordered} reordered, ${counts.moved} moved, ${counts.conflict} offset conflicts, ${counts.gap} gaps, ${counts.unplaced} deliveries without a position (${groups} message groups, ${offsetsByQueue.size} queues; ${ambiguous} acknowledgements matching copies in several queues skipped)`,
    examples: problems.slice(0, MAX_EXAMPLES),
    figures: { ...counts, ambiguous, groups, queues: offsetsByQueue.size, deliveredPositions: delivered.length },
  };
}

/** Within each (group, queue), sequence numbers must rise with queue offsets. */
function findReorderings(places: readonly Placed[]): string[] {
  const byGroupQueue = new Map<string, Placed[]>();
  for (const place of places) {
    if (place.group === undefined || place.seq === undefined) continue;
    const key = `${place.group}@${place.queueId}`;
    let list = byGroupQueue.get(key);
    if (!list) byGroupQueue.set(key, (list = []));
    list.push(place);
  }
  const problems: string[] = [];
  for (const [key, list] of byGroupQueue) {
    list.sort((a, b) => a.queueOffset - b.queueOffset);
    for (let i = 1; i < list.length; i++) {
      const before = list[i - 1];
      const after = list[i];
      if ((after.seq ?? 0) <= (before.seq ?? 0)) {
        problems.push(`${key}: seq ${after.seq} at offset ${after.queueOffset} after seq ${before.seq} at offset ${before.queueOffset}`);
      }
    }
  }
  return problems;
}
