/**
 * One line of a run's history, Jepsen style: every client operation is recorded when it is invoked
 * and again when it completes, as `ok` (it happened), `fail` (it certainly did not happen) or
 * `info` (unknown outcome: a timeout, a lost connection). Nemesis actions are recorded as `info`.
 */
export type OperationType = 'invoke' | 'ok' | 'fail' | 'info';

/** What an operation does. */
export type OperationKind = 'send' | 'receive' | 'nemesis';

/** The value of a send: which message, and where the broker said it stored it. */
export interface SendValue {
  /** Unique payload id, `<producer>-<seq>` (the message body). */
  id: string;
  /** Message group for order checks (the queue workload leaves it out). */
  group?: string;
  /** Position in the group's sequence, from 0. */
  seq?: number;
  /** From the send receipt (ok only). */
  messageId?: string;
  /** Unknown through the v2 protocol (the broker picks the queue); set by clients that know it. */
  queueId?: number;
  queueOffset?: number;
}

/** The value of a receive: one delivered message (a receive of a batch records one op per message). */
export interface ReceiveValue {
  id: string;
  messageId: string;
  /** Read from the receipt handle (LedgerMQ's own format). */
  queueId?: number;
  queueOffset?: number;
  deliveryAttempt?: number;
}

/** The value of a nemesis operation. */
export interface NemesisValue {
  fault: string;
  phase: 'start' | 'stop';
  targets: string[];
  detail?: string;
}

export interface Operation {
  /** Position in the history, from 0. */
  index: number;
  /** Milliseconds since the run started (monotonic clock of the harness). */
  timeMs: number;
  /** The logical process: `producer-0`, `consumer-1`, `nemesis`. Invoke and completion share it. */
  process: string;
  kind: OperationKind;
  type: OperationType;
  /** The node the operation went to, when known (for sends: the group leader the harness last saw). */
  node?: string;
  value?: SendValue | ReceiveValue | NemesisValue;
  /** For completions: milliseconds since the matching invoke. */
  latencyMs?: number;
  error?: string;
}
