/**
 * Scripted Raft scenarios with readable traces (etcd-raft's interaction tests, our own language).
 * A script is one command per line; `#` starts a comment. The trace echoes each command and what
 * it caused: messages delivered (or cut by a partition), role changes, applied entries. Randomness
 * is off: every election timeout is exactly 1.5 x `electionTicks`, so a node that has not heard
 * from a leader for `electionTicks` is out of its lease but campaigns only at 1.5 x.
 *
 * | command | effect |
 * |---|---|
 * | `nodes N [election=T] [heartbeat=T] [prevote=on|off] [checkquorum=on|off] [maxentries=K]` | a fresh group n0..n(N-1) |
 * | `campaign nX` | ticks nX until its election timeout fires |
 * | `tick nX [K]` / `tick-all [K]` | K ticks (default 1), then handles Readies (messages stay queued) |
 * | `propose nX VALUE...` | proposes one entry per value |
 * | `transfer nX nY` | nX (leader) hands leadership to nY |
 * | `stabilize` | delivers queued messages and Readies until nothing moves |
 * | `deliver` | one round: delivers what is queued now, handles Readies |
 * | `isolate nX` / `cut nX nY` (one way) / `heal` | partitions |
 * | `crash nX` / `restart nX` | crash keeps the disk only |
 * | `drop` | discards every queued message |
 * | `status` | one line per node: role, term, leader, last index, commit |
 * | `log nX` | the node's durable log as index/term value |
 */
import type { Entry, Message, NodeId, Ready } from '../core/types.js';
import type { RaftConfig } from '../core/raft-core.js';
import { SimNode } from './sim-node.js';
import type { SimDisk, SimObserver } from './sim-node.js';

/** Runs `script` and returns its trace; throws on an unknown command or a broken invariant. */
export function runTraceScript(script: string): string {
  return new TraceEnv().run(script);
}

function formatEntry(entry: Entry<string>): string {
  return `${entry.index}/${entry.term}${entry.kind === 'noop' ? ' noop' : entry.kind === 'config' ? ' config' : ` ${entry.data}`}`;
}

/** One message in the trace's compact form. */
export function formatMessage(message: Message<string>): string {
  const head = `${message.from}->${message.to} ${message.type} t${message.term}`;
  switch (message.type) {
    case 'vote':
      return `${head}${message.preVote ? ' pre' : ''}${message.transfer ? ' transfer' : ''} last=${message.lastIndex}/${message.lastTerm}`;
    case 'voteResponse':
      return `${head}${message.preVote ? ' pre' : ''} ${message.granted ? 'granted' : 'rejected'}`;
    case 'append':
      return `${head} prev=${message.prevIndex}/${message.prevTerm} commit=${message.commit} [${(message.entries ?? []).map(formatEntry).join(', ')}]`;
    case 'appendResponse':
      return message.success ? `${head} ok match=${message.matchIndex}` : `${head} refused prev=${message.rejectedPrevIndex} hint=${message.hintIndex}/${message.hintTerm}`;
    case 'heartbeat':
      return `${head} commit=${message.commit}`;
    default:
      return head;
  }
}

class TraceEnv implements SimObserver {
  private nodes = new Map<NodeId, SimNode>();
  private queue: Array<Message<string>> = [];
  private blocked = new Set<string>();
  private out: string[] = [];
  private readonly applied = new Map<number, string>();
  private readonly lastRole = new Map<NodeId, string>();

  run(script: string): string {
    for (const raw of script.split('\n')) {
      const line = raw.replace(/#.*/, '').trim();
      if (line === '') continue;
      this.out.push(`> ${line}`);
      this.command(line.split(/\s+/));
    }
    return this.out.join('\n') + '\n';
  }

  onSoftState(node: NodeId, ready: Ready<string>): void {
    const role = `${ready.softState.role} t${ready.softState.term}`;
    if (this.lastRole.get(node) !== role) this.out.push(`  ${node} is ${ready.softState.role} in term ${ready.softState.term}${ready.softState.leaderId && ready.softState.role === 'follower' ? ` (leader ${ready.softState.leaderId})` : ''}`);
    this.lastRole.set(node, role);
  }

  onPersisted(_node: NodeId, _disk: SimDisk, _ready: Ready<string>): void {}

  onApply(node: NodeId, entry: Entry<string>): void {
    const text = formatEntry(entry);
    const known = this.applied.get(entry.index);
    if (known !== undefined && known !== text) throw new Error(`${node} applied ${text}, another node ${known}`);
    this.applied.set(entry.index, text);
    this.out.push(`  ${node} applies ${text}`);
  }

  private command(words: string[]): void {
    const [name, ...args] = words;
    const node = (i: number): SimNode => {
      const found = this.nodes.get(args[i]);
      if (!found) throw new Error(`unknown node ${args[i]}`);
      return found;
    };
    switch (name) {
      case 'nodes':
        return this.createNodes(Number(args[0]), Object.fromEntries(args.slice(1).map((a) => a.split('='))) as Record<string, string>);
      case 'campaign': {
        const target = node(0);
        for (let i = 0; i < 1000 && target.core.role === 'follower'; i += 1) target.core.tick();
        return this.handleReadies();
      }
      case 'tick':
        for (let i = 0; i < Number(args[1] ?? 1); i += 1) node(0).core.tick();
        return this.handleReadies();
      case 'tick-all':
        for (let i = 0; i < Number(args[0] ?? 1); i += 1) for (const n of this.nodes.values()) if (n.alive) n.core.tick();
        return this.handleReadies();
      case 'propose': {
        for (const value of args.slice(1)) {
          const result = node(0).core.propose([{ kind: 'data', data: value }]);
          if (!result.ok) this.out.push(`  refused: ${result.code}${'leaderHint' in result ? ` (leader ${result.leaderHint})` : ''}`);
        }
        return this.handleReadies();
      }
      case 'transfer': {
        const result = node(0).core.transferLeadership(args[1]);
        if (!result.ok) this.out.push(`  refused: ${result.code}`);
        return this.handleReadies();
      }
      case 'stabilize':
        for (let round = 0; round < 1000 && this.queue.length > 0; round += 1) this.deliverRound();
        return;
      case 'deliver':
        return this.deliverRound();
      case 'isolate':
        for (const other of this.nodes.keys()) if (other !== args[0]) this.blocked.add(`${args[0]}>${other}`).add(`${other}>${args[0]}`);
        return;
      case 'cut':
        this.blocked.add(`${args[0]}>${args[1]}`);
        return;
      case 'heal':
        this.blocked.clear();
        return;
      case 'crash':
        node(0).crash();
        this.queue = this.queue.filter((m) => m.to !== args[0]);
        this.lastRole.delete(args[0]);
        return;
      case 'restart':
        node(0).restart();
        return this.handleReadies();
      case 'drop':
        this.out.push(`  dropped ${this.queue.length} message(s)`);
        this.queue = [];
        return;
      case 'status':
        for (const n of this.nodes.values()) {
          const c = n.core;
          this.out.push(`  ${n.id}: ${n.alive ? c.role : 'down'} t${c.currentTerm} leader=${c.leaderId ?? '-'} last=${c.lastIndex} commit=${c.commitIndex}`);
        }
        return;
      case 'log':
        this.out.push(`  ${args[0]}: ${node(0).disk.entries.map(formatEntry).join(', ') || '(empty)'}`);
        return;
      default:
        throw new Error(`unknown command ${name}`);
    }
  }

  private createNodes(count: number, options: Record<string, string>): void {
    const ids = Array.from({ length: count }, (_, i) => `n${i}`);
    const configFor = (id: NodeId): RaftConfig => ({
      id,
      electionTicks: Number(options.election ?? 10),
      heartbeatTicks: Number(options.heartbeat ?? 1),
      preVote: options.prevote !== 'off',
      checkQuorum: options.checkquorum !== 'off',
      maxInflightAppends: 8,
      maxEntriesPerAppend: Number(options.maxentries ?? 16),
      random: () => 0.5,
    });
    this.nodes = new Map(ids.map((id) => [id, new SimNode(id, configFor, { voters: ids, learners: [] }, this)]));
    this.out.push(`  ${ids.join(' ')} are followers in term 0`);
    for (const id of ids) this.lastRole.set(id, 'follower t0');
  }

  private deliverRound(): void {
    const batch = this.queue;
    this.queue = [];
    for (const message of batch) {
      const target = this.nodes.get(message.to);
      if (!target?.alive) continue;
      if (this.blocked.has(`${message.from}>${message.to}`)) {
        this.out.push(`  cut: ${formatMessage(message)}`);
        continue;
      }
      this.out.push(`  ${formatMessage(message)}`);
      target.core.step(message);
    }
    this.handleReadies();
  }

  private handleReadies(): void {
    for (const n of this.nodes.values()) {
      if (!n.alive) continue;
      n.drain((message) => this.queue.push(message), () => false);
    }
  }
}
