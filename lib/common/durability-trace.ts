/**
 * A test hook that records, per node, when CommitLog entries became durable (fsync returned) and
 * when the broker acknowledged an entry to its caller, with the machine's monotonic clock
 * (CLOCK_MONOTONIC via process.hrtime, comparable across processes on one host). A test reads the
 * files of all nodes and checks that every acknowledgement follows the fsync of a majority.
 *
 * Enabled only by the environment variable LEDGERMQ_DURABILITY_TRACE_DIR (a folder); each node
 * appends JSON lines `{"node","event":"durable"|"ack","index","ns"}` to
 * `<dir>/durability-<node>.jsonl`. Not for production: the file grows without bound.
 */
import { createWriteStream } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { join } from 'node:path';

export type DurabilityEvent = 'durable' | 'ack';

export class DurabilityTrace {
  private constructor(
    private readonly node: string,
    private readonly out: WriteStream,
  ) {}

  /** The trace for `node` when LEDGERMQ_DURABILITY_TRACE_DIR is set, else null. */
  static fromEnvironment(node: string): DurabilityTrace | null {
    const dir = process.env.LEDGERMQ_DURABILITY_TRACE_DIR;
    if (!dir) return null;
    return new DurabilityTrace(node, createWriteStream(join(dir, `durability-${node}.jsonl`), { flags: 'a' }));
  }

  record(event: DurabilityEvent, index: number): void {
    this.out.write(`{"node":"${this.node}","event":"${event}","index":${index},"ns":"${process.hrtime.bigint()}"}\n`);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.out.end(resolve));
  }
}
