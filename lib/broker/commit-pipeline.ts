import { encodeMetaCommands } from './meta-command.js';
import type { MetaCommand } from './meta-command.js';
import type { ReplicatedLog } from './replicated-log.js';
import type { ApplyResult, StateMachine } from './state-machine.js';
import { EntryType } from '../store/record-format.js';

/**
 * The broker's write path: append → replicate → commit → apply. `submit*` resolve with the
 * entry's apply result once it is committed (durable on a majority) and applied on this node, and
 * reject with what `admit` throws before anything is proposed.
 */
export class CommitPipeline {
  /**
   * @param onAcknowledge called with an entry's index just before its result is handed back (test hook).
   * @param admit called before each entry is proposed; throws to refuse it (the disk watermarks' DISK_FULL).
   */
  constructor(
    private readonly log: ReplicatedLog,
    private readonly stateMachine: StateMachine,
    private readonly onAcknowledge?: (index: number) => void,
    private readonly admit?: () => void,
  ) {}

  /** Commits one MESSAGES entry whose body is an encoded message batch. */
  async submitMessages(body: Buffer): Promise<ApplyResult> {
    return this.submit(EntryType.MESSAGES, body);
  }

  /** Commits one META entry carrying `commands`, applied atomically in order. */
  async submitMeta(commands: readonly MetaCommand[]): Promise<ApplyResult> {
    return this.submit(EntryType.META, encodeMetaCommands(commands));
  }

  private async submit(type: EntryType, body: Buffer): Promise<ApplyResult> {
    this.admit?.();
    const [committed] = await this.log.propose([{ type, body }]);
    const result = await this.stateMachine.waitApplied(committed.index);
    this.onAcknowledge?.(committed.index);
    return result;
  }
}
