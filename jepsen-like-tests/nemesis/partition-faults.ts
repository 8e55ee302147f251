/**
 * Network partitions between broker nodes (real packet drops in netns mode, held bytes in proxy
 * mode): isolate the leader, random halves, a bridge (two sides that only one node connects), a
 * ring of overlapping majorities (needs 5 nodes), and a one-way cut where the leader hears nobody.
 * Stopping heals every link. The NameServer/Proxy host always reaches every node.
 */
import type { LinkCut } from '../net/host-network.js';
import type { FaultStart, Nemesis, NemesisContext } from './nemesis.js';
import { leaderOrRandom, pick } from './nemesis.js';

export type PartitionShape = 'isolate-leader' | 'halves' | 'bridge' | 'ring' | 'one-way';

/** Both directions of every link between `a` and `b` sides. */
export function cutBetween(a: readonly string[], b: readonly string[]): LinkCut[] {
  return a.flatMap((x) => b.flatMap((y) => [{ from: x, to: y }, { from: y, to: x }]));
}

/**
 * A ring of overlapping majorities: nodes in a circle, each connected only to those within
 * ⌈⌊n/2⌋/2⌉ steps either way, so every node sees a majority (itself included) but neighbours see
 * different ones. Needs at least 5 nodes (with 3, every pair already is a majority).
 */
export function ringCuts(order: readonly string[]): LinkCut[] {
  const n = order.length;
  const reach = Math.ceil(Math.floor(n / 2) / 2);
  const cuts: LinkCut[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (i === j) continue;
      const distance = Math.min(Math.abs(i - j), n - Math.abs(i - j));
      if (distance > reach) cuts.push({ from: order[i], to: order[j] });
    }
  }
  return cuts;
}

export class PartitionNemesis implements Nemesis {
  readonly name: string;

  constructor(private readonly shape: PartitionShape) {
    this.name = `partition-${shape}`;
  }

  /** Why this shape cannot run with `nodes` nodes, or null. */
  unsupportedReason(nodes: number): string | null {
    return this.shape === 'ring' && nodes < 5 ? `partition-ring needs at least 5 nodes (with 3, every 2 nodes already are a majority); asked for ${nodes}` : null;
  }

  async start(context: NemesisContext): Promise<FaultStart> {
    const ids = context.db.nodeIds;
    const network = context.db.network;
    switch (this.shape) {
      case 'isolate-leader': {
        const leader = await leaderOrRandom(context);
        await network.setCuts(cutBetween([leader], ids.filter((id) => id !== leader)));
        return { targets: [leader], detail: `${leader} | ${ids.filter((id) => id !== leader).join(' ')}` };
      }
      case 'halves': {
        const shuffled = pick(context.random, ids, ids.length);
        const small = shuffled.slice(0, Math.floor(ids.length / 2));
        const large = shuffled.slice(small.length);
        await network.setCuts(cutBetween(small, large));
        return { targets: small, detail: `${small.join(' ')} | ${large.join(' ')}` };
      }
      case 'bridge': {
        const shuffled = pick(context.random, ids, ids.length);
        const bridge = shuffled[0];
        const rest = shuffled.slice(1);
        const left = rest.slice(0, Math.floor(rest.length / 2));
        const right = rest.slice(left.length);
        await network.setCuts(cutBetween(left, right));
        return { targets: [bridge], detail: `${left.join(' ')} | bridge ${bridge} | ${right.join(' ')}` };
      }
      case 'ring': {
        const reason = this.unsupportedReason(ids.length);
        if (reason) throw new Error(reason);
        const order = pick(context.random, ids, ids.length);
        await network.setCuts(ringCuts(order));
        return { targets: order, detail: `ring ${order.join(' ')}` };
      }
      case 'one-way': {
        const leader = await leaderOrRandom(context);
        const others = ids.filter((id) => id !== leader);
        await network.setCuts(others.map((from) => ({ from, to: leader })));
        return { targets: [leader], detail: `${leader} receives nothing; it still sends` };
      }
    }
  }

  async stop(context: NemesisContext): Promise<void> {
    await context.db.network.setCuts([]);
  }
}

/** Packet loss (iptables statistic) or delay (tc netem, or the proxies' delay) between broker nodes. */
export class NetworkDegradeNemesis implements Nemesis {
  readonly name: string;

  constructor(private readonly kind: 'loss' | 'delay') {
    this.name = kind === 'loss' ? 'packet-loss' : 'packet-delay';
  }

  async start(context: NemesisContext): Promise<FaultStart> {
    const network = context.db.network;
    if (this.kind === 'loss') {
      await network.setLoss(0.3);
      return { targets: context.db.nodeIds, detail: '30 % of packets between nodes dropped' };
    }
    await network.setDelay(100, 50);
    return { targets: context.db.nodeIds, detail: '100 ms ± 50 ms delay between nodes' };
  }

  async stop(context: NemesisContext): Promise<void> {
    const network = context.db.network;
    if (this.kind === 'loss') await network.setLoss(0);
    else await network.setDelay(0, 0);
  }
}
