/**
 * Deterministic randomized simulation of a Raft group: simulated clock (ticks), a network that
 * drops, delays (so reorders), duplicates and partitions messages, crashes and restarts with only
 * the disk kept, and client proposals at whoever leads. Everything random comes from one seed, so a
 * failing seed replays exactly.
 *
 * Checked invariants:
 * - election safety: at most one leader per term;
 * - state machine safety: every node applies the same entry at each index (so committed entries
 *   are never lost or changed, and every node applies the same sequence);
 * - leader completeness: a new leader's durable log holds every entry applied anywhere;
 * - log matching: two logs with the same term at an index are identical up to it (checked at the end);
 * - durability: every proposal acknowledged to a client (applied by its leader) is in the final
 *   committed log, and after healing every node converges on it (liveness with no faults).
 */
import type { RaftConfig } from '../core/raft-core.js';
import type { Entry, InstallRequest, LogIndex, Message, NodeId, Ready, Term } from '../core/types.js';
import { asIndex, asTerm } from '../core/types.js';
import { randomInt, seededRandom } from './seeded-random.js';
import { SimNode } from './sim-node.js';
import type { SimDisk, SimObserver } from './sim-node.js';

/** Knobs of one run. */
export interface SimulationOptions {
  nodes: number;
  /** Ticks with faults and proposals. */
  faultTicks: number;
  /** Ticks after healing everything, to converge. */
  healTicks: number;
  dropRate: number;
  duplicateRate: number;
  maxDelayTicks: number;
  /** Chance per tick of a fault event (partition, heal, crash, restart). */
  faultRate: number;
  /** Chance per Ready of crashing between its sends and its fsync. */
  crashMidReadyRate: number;
  proposeRate: number;
  /**
   * Whether a crash may also wipe the node's disk (at most one node recovering from a wipe at a
   * time: two wiped nodes of three can lose what only they held, whatever the protocol does).
   */
  wipes: boolean;
  /** Whether a wiped node boots in catch-up mode. Off only to show that the mode is needed. */
  catchUpAfterWipe: boolean;
  /**
   * Whether leaders stream far-behind peers their committed entries in bulk (the driver's install,
   * here a few large appends through the same faulty network, ended after a random delay).
   */
  installs: boolean;
}

export const DEFAULT_SIMULATION: SimulationOptions = {
  nodes: 3, faultTicks: 1500, healTicks: 3000, dropRate: 0.05, duplicateRate: 0.02, maxDelayTicks: 3,
  faultRate: 0.02, crashMidReadyRate: 0.002, proposeRate: 0.3, wipes: true, catchUpAfterWipe: true, installs: true,
};

export interface SimulationResult {
  seed: number;
  violations: string[];
  stats: { leadersElected: number; maxTerm: number; committed: number; acknowledged: number; crashes: number; messages: number; installs: number };
}

/** A peer found this far behind the commit index gets an install (when installs are on). */
const INSTALL_MIN_ENTRIES = 4;
/** Entries per streamed chunk. */
const INSTALL_CHUNK_ENTRIES = 8;

interface InFlight {
  deliverAt: number;
  message: Message<string>;
}

/** Runs one seeded simulation and returns what it found. */
export function runSimulation(seed: number, overrides: Partial<SimulationOptions> = {}): SimulationResult {
  return new Simulation(seed, { ...DEFAULT_SIMULATION, ...overrides }).run();
}

class Simulation implements SimObserver {
  private readonly random: () => number;
  private readonly nodes = new Map<NodeId, SimNode>();
  private readonly inFlight: InFlight[] = [];
  /** Installs under way: when each ends (the driver's stream finishing or failing). */
  private readonly installs: Array<{ endAt: number; leader: NodeId; peer: NodeId; term: Term }> = [];
  private readonly installRandom: () => number;
  private readonly blocked = new Set<string>();
  private readonly leaderOfTerm = new Map<number, NodeId>();
  private readonly applied = new Map<number, { term: Term; data: string | null }>();
  private readonly acknowledged: Array<{ index: number; term: Term; data: string }> = [];
  private readonly pending = new Map<string, { node: NodeId; index: LogIndex; term: Term }>();
  private readonly violations: string[] = [];
  private now = 0;
  private nextValue = 0;
  private crashes = 0;
  private installsStarted = 0;
  private messages = 0;

  constructor(
    private readonly seed: number,
    private readonly options: SimulationOptions,
  ) {
    this.random = seededRandom(seed);
    // Its own stream, so that runs with and without installs see the same faults.
    this.installRandom = seededRandom(seed ^ 0x1b873593);
    const ids = Array.from({ length: options.nodes }, (_, i) => `n${i}`);
    const coreRandom = seededRandom(seed ^ 0x5bd1e995);
    // Small appends and windows make more interleavings reachable (a follower acking part of a term).
    const maxEntriesPerAppend = [1, 2, 16][randomInt(this.random, 0, 2)];
    const maxInflightAppends = [1, 8][randomInt(this.random, 0, 1)];
    const configFor = (id: NodeId): RaftConfig => ({
      id, electionTicks: 10, heartbeatTicks: 1, preVote: true, checkQuorum: true, maxInflightAppends, maxEntriesPerAppend, random: coreRandom,
      installMinEntries: options.installs ? INSTALL_MIN_ENTRIES : 0,
    });
    for (const id of ids) this.nodes.set(id, new SimNode(id, configFor, { voters: ids, learners: [] }, this));
  }

  run(): SimulationResult {
    for (; this.now < this.options.faultTicks && this.violations.length === 0; this.now += 1) {
      if (this.random() < this.options.faultRate) this.injectFault();
      if (this.random() < this.options.proposeRate) this.propose();
      this.step(this.options.crashMidReadyRate);
    }
    this.blocked.clear();
    for (const node of this.nodes.values()) if (!node.alive) node.restart();
    const healEnd = this.now + this.options.healTicks;
    for (; this.now < healEnd && this.violations.length === 0 && !this.converged(); this.now += 1) this.step(0);
    if (this.violations.length === 0) this.checkFinal();
    return {
      seed: this.seed,
      violations: this.violations,
      stats: {
        leadersElected: this.leaderOfTerm.size, maxTerm: Math.max(0, ...this.leaderOfTerm.keys()), committed: this.applied.size,
        acknowledged: this.acknowledged.length, crashes: this.crashes, messages: this.messages, installs: this.installsStarted,
      },
    };
  }

  // --- SimObserver -------------------------------------------------------------------------

  onSoftState(node: NodeId, ready: Ready<string>): void {
    if (ready.softState.role !== 'leader') return;
    const term = ready.softState.term;
    const known = this.leaderOfTerm.get(term);
    if (known !== undefined && known !== node) this.violate(`two leaders in term ${term}: ${known} and ${node}`);
    this.leaderOfTerm.set(term, node);
  }

  onPersisted(node: NodeId, disk: SimDisk, ready: Ready<string>): void {
    if (ready.softState.role !== 'leader' || !ready.entries.some((entry) => entry.kind === 'noop' && entry.term === ready.softState.term)) return;
    for (const [index, entry] of this.applied) {
      const mine = disk.entries[index - 1];
      if (mine === undefined || mine.term !== entry.term || mine.data !== entry.data) this.violate(`new leader ${node} (term ${ready.softState.term}) lacks committed entry ${index}`);
    }
  }

  onApply(node: NodeId, entry: Entry<string>): void {
    const known = this.applied.get(entry.index);
    if (known === undefined) this.applied.set(entry.index, { term: entry.term, data: entry.data });
    else if (known.term !== entry.term || known.data !== entry.data) {
      this.violate(`${node} applied ${entry.index} as ${entry.term}/${entry.data}, others as ${known.term}/${known.data}`);
    }
    if (entry.data !== null) {
      const waiting = this.pending.get(entry.data);
      if (waiting && waiting.node === node && waiting.index === entry.index && waiting.term === entry.term) {
        this.pending.delete(entry.data);
        this.acknowledged.push({ index: entry.index, term: entry.term, data: entry.data });
      }
    }
  }

  // --- the world -----------------------------------------------------------------------------

  private step(crashMidReadyRate: number): void {
    const due = this.inFlight.filter((flight) => flight.deliverAt <= this.now);
    if (due.length > 0) {
      const kept = this.inFlight.filter((flight) => flight.deliverAt > this.now);
      this.inFlight.length = 0;
      this.inFlight.push(...kept);
    }
    for (const { message } of due) {
      const target = this.nodes.get(message.to);
      if (target?.alive) target.core.step(message);
    }
    for (const node of this.nodes.values()) if (node.alive) node.core.tick();
    for (const node of this.nodes.values()) {
      if (!node.alive) continue;
      const survived = node.drain((message) => this.send(message), () => this.random() < crashMidReadyRate);
      if (!survived) this.crashes += 1;
    }
    this.stepInstalls();
  }

  /** Ends the installs that are due (the driver's stream finishing or failing). */
  private stepInstalls(): void {
    for (let i = this.installs.length - 1; i >= 0; i -= 1) {
      const install = this.installs[i];
      if (install.endAt > this.now) continue;
      this.installs.splice(i, 1);
      const leader = this.nodes.get(install.leader);
      if (leader?.alive && leader.core.currentTerm === install.term) leader.core.endInstall(install.peer);
    }
  }

  /**
   * What the leader's driver does with an `install`: streams the committed entries after its start
   * point, here as appends of the leader's term through the same faulty network, and ends it later.
   */
  private install(message: InstallRequest): void {
    const leader = this.nodes.get(message.from);
    if (!leader) return;
    this.installsStarted += 1;
    for (let prev = message.prevIndex; prev < message.commit; prev = asIndex(prev + INSTALL_CHUNK_ENTRIES)) {
      const entries = leader.disk.entries.slice(prev, Math.min(message.commit, prev + INSTALL_CHUNK_ENTRIES));
      const prevTerm = prev === 0 ? asTerm(0) : leader.disk.entries[prev - 1].term;
      this.send({ type: 'append', from: message.from, to: message.to, term: message.term, prevIndex: prev, prevTerm, commit: message.commit, count: entries.length, entries });
    }
    this.installs.push({ endAt: this.now + randomInt(this.installRandom, 1, 10), leader: message.from, peer: message.to, term: message.term });
  }

  private send(message: Message<string>): void {
    if (message.type === 'install') {
      this.install(message);
      return;
    }
    this.messages += 1;
    if (this.blocked.has(`${message.from}>${message.to}`)) return;
    if (this.random() < this.options.dropRate) return;
    const copies = this.random() < this.options.duplicateRate ? 2 : 1;
    for (let i = 0; i < copies; i += 1) this.inFlight.push({ deliverAt: this.now + randomInt(this.random, 1, this.options.maxDelayTicks), message });
  }

  private propose(): void {
    const leader = [...this.nodes.values()].find((node) => node.alive && node.core.role === 'leader');
    if (!leader) return;
    const data = `v${this.nextValue++}`;
    const result = leader.core.propose([{ kind: 'data', data }]);
    if (result.ok) this.pending.set(data, { node: leader.id, index: result.firstIndex, term: result.term });
  }

  private injectFault(): void {
    const ids = [...this.nodes.keys()];
    const pick = ids[randomInt(this.random, 0, ids.length - 1)];
    const node = this.nodes.get(pick);
    if (!node) return;
    switch (randomInt(this.random, 0, 5)) {
      case 0: // isolate one node both ways
        for (const other of ids) if (other !== pick) this.blocked.add(`${pick}>${other}`).add(`${other}>${pick}`);
        break;
      case 1: // one-way cut
        this.blocked.add(`${pick}>${ids[randomInt(this.random, 0, ids.length - 1)]}`);
        break;
      case 2:
        this.blocked.clear();
        break;
      case 3:
        if (node.alive) {
          const mayWipe = this.options.wipes && [...this.nodes.values()].every((other) => !other.recovering);
          if (mayWipe && this.random() < 0.3) node.wipe(this.options.catchUpAfterWipe);
          else node.crash();
          this.crashes += 1;
        }
        break;
      default:
        if (!node.alive) node.restart();
        break;
    }
  }

  private converged(): boolean {
    const nodes = [...this.nodes.values()];
    const leader = nodes.find((node) => node.core.role === 'leader');
    if (!leader) return false;
    return nodes.every((node) => node.appliedIndex === leader.core.lastIndex && node.disk.entries.length === leader.core.lastIndex);
  }

  private checkFinal(): void {
    if (!this.converged()) this.violate(`no convergence within ${this.options.healTicks} ticks after healing: ${this.describeNodes()}`);
    for (const ack of this.acknowledged) {
      const entry = this.applied.get(ack.index);
      if (!entry || entry.term !== ack.term || entry.data !== ack.data) this.violate(`acknowledged ${ack.data} at ${ack.index} is not committed there`);
    }
    const logs = [...this.nodes.values()].map((node) => ({ id: node.id, entries: node.disk.entries }));
    for (let a = 0; a < logs.length; a += 1) {
      for (let b = a + 1; b < logs.length; b += 1) {
        const shorter = Math.min(logs[a].entries.length, logs[b].entries.length);
        let highestSameTerm = -1;
        for (let i = 0; i < shorter; i += 1) if (logs[a].entries[i].term === logs[b].entries[i].term) highestSameTerm = i;
        for (let i = 0; i <= highestSameTerm; i += 1) {
          const x = logs[a].entries[i];
          const y = logs[b].entries[i];
          if (x.term !== y.term || x.data !== y.data) this.violate(`log matching: ${logs[a].id} and ${logs[b].id} differ at ${i + 1} below a common entry`);
        }
      }
    }
  }

  private describeNodes(): string {
    return [...this.nodes.values()]
      .map((node) => {
        const matches = [...node.core.peerProgress()].map(([peer, p]) => `${peer}@${p.match}/${p.next}/${p.state}`).join(',');
        return `${node.id}[${node.core.role} t${node.core.currentTerm} last ${node.core.lastIndex} commit ${node.core.commitIndex} applied ${node.appliedIndex} disk ${node.disk.entries.length}${matches ? ` match ${matches}` : ''}]`;
      })
      .join(' ');
  }

  private violate(what: string): void {
    if (this.violations.length < 10) this.violations.push(`tick ${this.now}: ${what}`);
  }
}
