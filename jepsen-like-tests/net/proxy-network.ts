/**
 * The fallback {@link HostNetwork} when network namespaces are not available (not root, no `ip`):
 * every host on 127.0.0.1 with its own ports, and one {@link TcpLinkProxy} per ordered pair of broker
 * nodes between them and the target's Raft port. Node A is configured to reach node B's Raft port
 * at the A→B proxy, so a cut A→B closes forward on that proxy and backward on the B→A proxy.
 *
 * Port layout from `basePort`: NameServer main/second/http at +0/+1/+2; node i at +10+10i/+11+10i/
 * +12+10i (so at most 9 nodes); link proxies from +100 upwards in the order of `nodeIds` pairs.
 *
 * Cuts hold bytes rather than dropping them (see {@link TcpLinkProxy}); packet loss cannot be done.
 */
import type { Host, HostNetwork, HostPorts, LinkCut } from './host-network.js';
import { TcpLinkProxy } from './tcp-link-proxy.js';
import type { TcpLinkProxyStats } from './tcp-link-proxy.js';

const LOOPBACK = '127.0.0.1';
/** Node i's ports start at basePort + NODE_PORTS_OFFSET + NODE_PORTS_STRIDE * i. */
const NODE_PORTS_OFFSET = 10;
const NODE_PORTS_STRIDE = 10;
/** The first link proxy's port is basePort + PROXY_PORTS_OFFSET. */
const PROXY_PORTS_OFFSET = 100;
const MAX_NODES = (PROXY_PORTS_OFFSET - NODE_PORTS_OFFSET) / NODE_PORTS_STRIDE;
const LOSS_REASON = 'packet loss needs network namespaces + iptables (TCP proxies cannot drop packets)';

/** Options of {@link ProxyNetwork.create}. */
export interface ProxyNetworkOptions {
  /** Broker node ids (`n0`...), distinct, at most 9. */
  nodeIds: string[];
  /** First port of the layout (see the file comment); every port up to basePort + 100 + n(n-1) is used. */
  basePort: number;
  /** Why the harness runs in proxy mode (e.g. "not root: no network namespaces"). */
  modeReason?: string;
  /** Source of delay jitter, numbers in [0, 1); pass the run's seeded generator. Default Math.random. */
  random?: () => number;
}

/** One link proxy's counters, for the report. */
export interface LinkStats extends TcpLinkProxyStats {
  from: string;
  to: string;
  port: number;
}

function hostPorts(first: number): HostPorts {
  return { main: first, second: first + 1, http: first + 2 };
}

/** Runs `action` now; its throw becomes the returned promise's rejection, as callers of an async API expect. */
function settle(action: () => void): Promise<void> {
  try {
    action();
    return Promise.resolve();
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}

function linkKey(from: string, to: string): string {
  return `${from}->${to}`;
}

/** See the file comment. Create with {@link ProxyNetwork.create}; {@link close} it when done. */
export class ProxyNetwork implements HostNetwork {
  readonly mode = 'proxy' as const;

  private constructor(
    readonly namesrv: Host,
    readonly nodes: readonly Host[],
    readonly modeReason: string,
    /** By {@link linkKey}; `from`→`to` carries `from`'s bytes forward to `to`'s Raft port. */
    private readonly links: ReadonlyMap<string, { from: string; to: string; proxy: TcpLinkProxy }>,
  ) {}

  /**
   * Starts one proxy per ordered pair of distinct nodes, all links open with no delay. Throws on
   * bad options; rejects (after closing the proxies it started) if a proxy port is taken. The
   * NameServer's and nodes' own ports are only reserved in the layout, not bound.
   */
  static async create(options: ProxyNetworkOptions): Promise<ProxyNetwork> {
    const { nodeIds, basePort } = options;
    if (nodeIds.length === 0 || nodeIds.length > MAX_NODES) throw new Error(`proxy mode takes 1 to ${MAX_NODES} nodes, not ${nodeIds.length}`);
    if (new Set(nodeIds).size !== nodeIds.length || nodeIds.includes('namesrv')) throw new Error(`node ids must be distinct and not "namesrv": ${nodeIds.join(', ')}`);
    const lastPort = basePort + PROXY_PORTS_OFFSET + nodeIds.length * (nodeIds.length - 1) - 1;
    if (!Number.isInteger(basePort) || basePort < 1024 || lastPort > 65_535) throw new Error(`base port ${basePort} leaves the range 1024..65535`);

    const namesrv: Host = { id: 'namesrv', address: LOOPBACK, ports: hostPorts(basePort) };
    const nodes = nodeIds.map((id, i): Host => ({ id, address: LOOPBACK, ports: hostPorts(basePort + NODE_PORTS_OFFSET + NODE_PORTS_STRIDE * i) }));
    const links = new Map<string, { from: string; to: string; proxy: TcpLinkProxy }>();
    let listenPort = basePort + PROXY_PORTS_OFFSET;
    try {
      for (const from of nodes) {
        for (const to of nodes) {
          if (from === to) continue;
          const proxy = await TcpLinkProxy.start({ listenPort, targetHost: LOOPBACK, targetPort: to.ports.second, random: options.random });
          links.set(linkKey(from.id, to.id), { from: from.id, to: to.id, proxy });
          listenPort += 1;
        }
      }
    } catch (error) {
      await Promise.all([...links.values()].map((link) => link.proxy.close()));
      throw new Error(`cannot start the link proxy on port ${listenPort}: ${String(error)}`, { cause: error });
    }
    return new ProxyNetwork(namesrv, nodes, options.modeReason ?? 'loopback with per-link TCP proxies', links);
  }

  /** The A→B proxy's address, or the node's own Raft address when `from` is `to`. Throws on unknown ids. */
  raftAddress(from: string, to: string): string {
    if (from === to) return `${LOOPBACK}:${this.node(to).ports.second}`;
    return this.link(from, to).proxy.address;
  }

  /** Every host runs directly: no prefix. Throws on an unknown host id. */
  commandPrefix(id: string): string[] {
    if (id !== this.namesrv.id) this.node(id);
    return [];
  }

  /**
   * Replaces every cut: a cut A→B closes forward on the A→B proxy and backward on the B→A proxy;
   * everything else opens (held bytes are then delivered). Throws on unknown ids or a cut from a
   * node to itself, before changing anything.
   */
  setCuts(cuts: readonly LinkCut[]): Promise<void> {
    return settle(() => {
      const cutKeys = new Set<string>();
      for (const cut of cuts) {
        if (cut.from === cut.to) throw new Error(`cannot cut ${cut.from} from itself`);
        this.link(cut.from, cut.to);
        cutKeys.add(linkKey(cut.from, cut.to));
      }
      for (const { from, to, proxy } of this.links.values()) {
        proxy.setForward(!cutKeys.has(linkKey(from, to)));
        proxy.setBackward(!cutKeys.has(linkKey(to, from)));
      }
    });
  }

  /** Rejects for any probability above 0: see {@link capabilities}. 0 (no loss) is accepted, as there is none. */
  setLoss(probability: number): Promise<void> {
    return settle(() => {
      if (!(probability >= 0 && probability <= 1)) throw new Error(`bad loss probability ${probability}`);
      if (probability > 0) throw new Error(`proxy mode: ${LOSS_REASON}`);
    });
  }

  /** Delays every chunk on every link, both directions, by `delayMs` ± `jitterMs` (0, 0 stops it). */
  setDelay(delayMs: number, jitterMs: number): Promise<void> {
    return settle(() => {
      for (const { proxy } of this.links.values()) proxy.setDelay(delayMs, jitterMs);
    });
  }

  /** Delay yes (in the proxies); loss no. */
  capabilities(): { loss: boolean; delay: boolean; reasons: string[] } {
    return { loss: false, delay: true, reasons: [`loss: ${LOSS_REASON}`] };
  }

  /** Counters of every link proxy, in creation order. */
  linkStats(): LinkStats[] {
    return [...this.links.values()].map(({ from, to, proxy }) => ({ from, to, port: proxy.port, ...proxy.stats() }));
  }

  /** Closes every proxy (their connections are destroyed); resolves when their ports are free. */
  async close(): Promise<void> {
    await Promise.all([...this.links.values()].map((link) => link.proxy.close()));
  }

  private node(id: string): Host {
    const node = this.nodes.find((host) => host.id === id);
    if (node === undefined) throw new Error(`unknown node ${id}`);
    return node;
  }

  private link(from: string, to: string): { from: string; to: string; proxy: TcpLinkProxy } {
    const link = this.links.get(linkKey(from, to));
    if (link === undefined) throw new Error(`no link ${from} -> ${to}`);
    return link;
  }
}
