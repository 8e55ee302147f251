import { encodeMetaCommands } from './meta-command.js';
import type { MetaCommand } from './meta-command.js';
import type { ReplicatedLog } from './replicated-log.js';
import type { ApplyResult, StateMachine } from './state-machine.js';
import { EntryType } from '../store/record-format.js';

/**
 * The broker's write path: append → replicate → commit → apply. `submit*` resolve with the
 * entry's apply result once it is committed (durable on a majority) and applied on this node.
 */
export class CommitPipeline {
  constructor(
    private readonly log: ReplicatedLog,
    private readonly stateMachine: StateMachine,
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
    const [committed] = await this.log.propose([{ type, body }]);
    return this.stateMachine.waitApplied(committed.index);
  }
}
