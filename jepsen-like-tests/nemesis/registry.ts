/**
 * Every nemesis by name, and the composite ones. `make jepsen` runs each name below with each
 * workload; `smoke` cycles kill, partition and pause for the README's test command.
 */
import type { FaultStart, Nemesis, NemesisContext } from './nemesis.js';
import { KillNemesis, PauseNemesis } from './process-faults.js';
import { NetworkDegradeNemesis, PartitionNemesis } from './partition-faults.js';
import { ClockJumpNemesis } from './clock-fault.js';
import { DiskFaultNemesis, PowerLossNemesis } from './disk-faults.js';

/** Runs its nemeses in turn: fault k of the run uses nemesis k mod n. */
export class CycleNemesis implements Nemesis {
  private next = 0;
  private active: Nemesis | null = null;

  constructor(
    readonly name: string,
    private readonly members: readonly Nemesis[],
  ) {}

  async start(context: NemesisContext): Promise<FaultStart> {
    this.active = this.members[this.next % this.members.length];
    this.next += 1;
    const started = await this.active.start(context);
    return { ...started, detail: `${this.active.name}${started.detail ? `: ${started.detail}` : ''}` };
  }

  async stop(context: NemesisContext): Promise<void> {
    const active = this.active;
    this.active = null;
    if (active) await active.stop(context);
  }
}

const FACTORIES: Record<string, () => Nemesis> = {
  'kill-leader': () => new KillNemesis('leader'),
  'kill-random': () => new KillNemesis('random'),
  'kill-minority': () => new KillNemesis('minority'),
  'kill-majority': () => new KillNemesis('majority'),
  'kill-all': () => new KillNemesis('all'),
  'pause-leader': () => new PauseNemesis('leader'),
  'pause-random': () => new PauseNemesis('random'),
  'partition-isolate-leader': () => new PartitionNemesis('isolate-leader'),
  'partition-halves': () => new PartitionNemesis('halves'),
  'partition-bridge': () => new PartitionNemesis('bridge'),
  'partition-ring': () => new PartitionNemesis('ring'),
  'partition-one-way': () => new PartitionNemesis('one-way'),
  'packet-loss': () => new NetworkDegradeNemesis('loss'),
  'packet-delay': () => new NetworkDegradeNemesis('delay'),
  'clock-jump': () => new ClockJumpNemesis(),
  'disk-truncate-tail': () => new DiskFaultNemesis('truncate-tail'),
  'disk-flip-bytes': () => new DiskFaultNemesis('flip-bytes'),
  'power-loss': () => new PowerLossNemesis(),
  smoke: () => new CycleNemesis('smoke', [new KillNemesis('leader'), new PartitionNemesis('isolate-leader'), new PauseNemesis('leader')]),
};

export const NEMESIS_NAMES = Object.keys(FACTORIES);

export function createNemesis(name: string): Nemesis {
  const factory = FACTORIES[name];
  if (!factory) throw new Error(`unknown nemesis ${name}; known: ${NEMESIS_NAMES.join(', ')}`);
  return factory();
}
