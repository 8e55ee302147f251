/**
 * The recorder of a run's operations. Operations are kept in memory (a run is bounded in time and
 * count: see {@link History.maxOperations}) and written as JSON lines at the end.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import type { NemesisValue, Operation, OperationKind, OperationType, ReceiveValue, SendValue } from './operation.js';

type Value = SendValue | ReceiveValue | NemesisValue;

export class History {
  private readonly operations: Operation[] = [];
  private readonly startNs = process.hrtime.bigint();

  /** @param maxOperations a hard bound: recording more throws, so a runaway workload stops loudly. */
  constructor(readonly maxOperations = 2_000_000) {}

  /** Milliseconds since the run started. */
  nowMs(): number {
    return Number(process.hrtime.bigint() - this.startNs) / 1e6;
  }

  /** Records an invocation and returns a function that records its completion. */
  invoke(process: string, kind: OperationKind, value: Value, node?: string): (type: Exclude<OperationType, 'invoke'>, completion?: { value?: Value; error?: string; node?: string }) => Operation {
    const invoked = this.add({ process, kind, type: 'invoke', value, node });
    return (type, completion = {}) =>
      this.add({
        process,
        kind,
        type,
        value: completion.value ?? value,
        node: completion.node ?? node,
        error: completion.error,
        latencyMs: this.nowMs() - invoked.timeMs,
      });
  }

  /** Records a completed operation with no separate invoke (deliveries, nemesis actions). */
  record(process: string, kind: OperationKind, type: Exclude<OperationType, 'invoke'>, value: Value, node?: string): Operation {
    return this.add({ process, kind, type, value, node });
  }

  get all(): readonly Operation[] {
    return this.operations;
  }

  /** Writes the history as JSON lines (one operation per line). */
  save(file: string): void {
    // In slices: one string of the whole history could pass V8's string length limit.
    const fd = openSync(file, 'w');
    try {
      for (let i = 0; i < this.operations.length; i += 10_000) {
        writeSync(fd, this.operations.slice(i, i + 10_000).map((op) => JSON.stringify(op) + '\n').join(''));
      }
    } finally {
      closeSync(fd);
    }
  }

  private add(fields: Omit<Operation, 'index' | 'timeMs'>): Operation {
    if (this.operations.length >= this.maxOperations) throw new Error(`history is full (${this.maxOperations} operations)`);
    const op: Operation = { index: this.operations.length, timeMs: this.nowMs(), ...stripUndefined(fields) };
    this.operations.push(op);
    return op;
  }
}

function stripUndefined<T extends object>(fields: T): T {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as T;
}
