/**
 * Lost, unexpected and duplicated deliveries, from a history (Jepsen's queue checker):
 * - **lost**: a send acknowledged `ok` whose message was never delivered, after healing and a full
 *   drain, or (final read) is absent from the committed log at the end, though delivered earlier;
 * - **unexpected**: a delivery of a message no producer ever tried to send;
 * - **duplicated**: a message delivered more than once (allowed at least once; counted and reported).
 * Sends with an unknown outcome (`info`) may or may not be delivered; both are fine. A send that
 * `fail`ed for sure but was delivered is reported in `unexpected` too.
 */
import type { Operation, ReceiveValue, SendValue } from '../history/operation.js';
import type { CheckerResult } from '../report/run-summary.js';

const MAX_EXAMPLES = 20;

export interface DeliveryCheck {
  lost: CheckerResult;
  unexpected: CheckerResult;
  duplicated: CheckerResult;
  /** Distinct messages delivered. */
  deliveredDistinct: number;
  /** Deliveries in all (redeliveries included). */
  deliveries: number;
}

/**
 * @param committedBodies message bodies found in the committed log after the run (the final read),
 *   or null when the log could not be read (then only deliveries count).
 */
export function checkDeliveries(history: readonly Operation[], committedBodies: ReadonlySet<string> | null = null): DeliveryCheck {
  const attempted = new Set<string>();
  const acknowledged = new Set<string>();
  const failed = new Set<string>();
  let unknown = 0;
  const deliveredCount = new Map<string, number>();
  for (const op of history) {
    if (op.kind === 'send') {
      const id = (op.value as SendValue).id;
      if (op.type === 'invoke') attempted.add(id);
      else if (op.type === 'ok') acknowledged.add(id);
      else if (op.type === 'fail') failed.add(id);
      else unknown += 1;
    } else if (op.kind === 'receive' && op.type === 'ok') {
      const id = (op.value as ReceiveValue).id;
      deliveredCount.set(id, (deliveredCount.get(id) ?? 0) + 1);
    }
  }
  const neverDelivered = [...acknowledged].filter((id) => !deliveredCount.has(id));
  const goneFromLog = committedBodies === null ? [] : [...acknowledged].filter((id) => deliveredCount.has(id) && !committedBodies.has(id));
  const lost = [...neverDelivered, ...goneFromLog];
  const neverSent = [...deliveredCount.keys()].filter((id) => !attempted.has(id));
  const failedButDelivered = [...failed].filter((id) => deliveredCount.has(id));
  const unknownDelivered = [...deliveredCount.keys()].filter((id) => attempted.has(id) && !acknowledged.has(id) && !failed.has(id)).length;
  const duplicatedIds = [...deliveredCount.entries()].filter(([, count]) => count > 1);
  const extraDeliveries = duplicatedIds.reduce((sum, [, count]) => sum + count - 1, 0);
  const deliveries = [...deliveredCount.values()].reduce((sum, count) => sum + count, 0);
  const rate = deliveredCount.size === 0 ? 0 : extraDeliveries / deliveredCount.size;
  return {
    deliveredDistinct: deliveredCount.size,
    deliveries,
    lost: {
      name: 'lost',
      valid: lost.length === 0,
      count: lost.length,
      summary: `${neverDelivered.length} of ${acknowledged.size} acknowledged messages never delivered, ${goneFromLog.length} delivered but absent from the final committed log${committedBodies === null ? ' (final read not possible)' : ''}`,
      examples: [...neverDelivered, ...goneFromLog.map((id) => `${id} (gone from the log)`)].slice(0, MAX_EXAMPLES),
      figures: { acknowledged: acknowledged.size, lost: lost.length, neverDelivered: neverDelivered.length, goneFromLog: goneFromLog.length, finalRead: committedBodies === null ? 'no' : 'yes', unknownOutcome: unknown, unknownOutcomeDelivered: unknownDelivered },
    },
    unexpected: {
      name: 'unexpected',
      valid: neverSent.length === 0 && failedButDelivered.length === 0,
      count: neverSent.length + failedButDelivered.length,
      summary: `${neverSent.length} delivered messages never sent, ${failedButDelivered.length} delivered after a definite send failure`,
      examples: [...neverSent, ...failedButDelivered].slice(0, MAX_EXAMPLES),
      figures: { neverSent: neverSent.length, failedButDelivered: failedButDelivered.length },
    },
    duplicated: {
      name: 'duplicated',
      valid: true,
      count: duplicatedIds.length,
      summary: `${duplicatedIds.length} messages delivered more than once (${extraDeliveries} extra deliveries, ${(rate * 100).toFixed(2)} %)`,
      examples: duplicatedIds.slice(0, MAX_EXAMPLES).map(([id, count]) => `${id} ×${count}`),
      figures: { messages: duplicatedIds.length, extraDeliveries, rate: Number(rate.toFixed(6)) },
    },
  };
}
