/**
 * Process faults: kill -9 (leader, a random node, a minority, a majority, all nodes) and pause with
 * SIGSTOP/SIGCONT (leader, a random node). Stopping the fault restarts killed nodes (as members of
 * an existing group) and resumes paused ones.
 */
import type { FaultStart, Nemesis, NemesisContext } from './nemesis.js';
import { leaderOrRandom, pick } from './nemesis.js';

export type KillTarget = 'leader' | 'random' | 'minority' | 'majority' | 'all';

/** Nodes to hit for `target` in a group of `nodes`. */
async function chooseTargets(context: NemesisContext, target: KillTarget): Promise<string[]> {
  const ids = context.db.nodeIds;
  const minority = Math.floor((ids.length - 1) / 2);
  switch (target) {
    case 'leader':
      return [await leaderOrRandom(context)];
    case 'random':
      return pick(context.random, ids, 1);
    case 'minority': {
      // Include the leader half of the time, so a minority kill also forces elections.
      const leader = await context.leader();
      const first = leader !== null && context.random() < 0.5 ? [leader] : [];
      return [...first, ...pick(context.random, ids.filter((id) => !first.includes(id)), minority - first.length)];
    }
    case 'majority':
      return pick(context.random, ids, minority + 1);
    case 'all':
      return [...ids];
  }
}

export class KillNemesis implements Nemesis {
  readonly name: string;
  private killed: string[] = [];

  constructor(private readonly target: KillTarget) {
    this.name = `kill-${target}`;
  }

  async start(context: NemesisContext): Promise<FaultStart> {
    this.killed = await chooseTargets(context, this.target);
    await Promise.all(this.killed.map((id) => context.db.kill(id)));
    return { targets: this.killed };
  }

  async stop(context: NemesisContext): Promise<void> {
    const killed = this.killed;
    this.killed = [];
    await Promise.all(killed.filter((id) => !context.db.isRunning(id)).map((id) => context.db.startNode(id)));
  }
}

export class PauseNemesis implements Nemesis {
  readonly name: string;
  private paused: string[] = [];

  constructor(private readonly target: 'leader' | 'random') {
    this.name = `pause-${target}`;
  }

  async start(context: NemesisContext): Promise<FaultStart> {
    this.paused = await chooseTargets(context, this.target);
    for (const id of this.paused) context.db.pause(id);
    return { targets: this.paused };
  }

  stop(context: NemesisContext): Promise<void> {
    for (const id of this.paused) context.db.resume(id);
    this.paused = [];
    return Promise.resolve();
  }
}
