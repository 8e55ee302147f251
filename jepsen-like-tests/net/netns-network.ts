/**
 * Hosts in Linux network namespaces: one namespace per host (the NameServer and every broker node),
 * each with a veth pair on a bridge in the harness's namespace, its own address on a private /24,
 * and the default ports. Faults are real packet drops: iptables rules in the receiving node's
 * namespace (`INPUT -s <peer> -j DROP`, and `-m statistic --mode random` for loss). Delay needs
 * `tc netem`, which many kernels lack; {@link NetnsNetwork.capabilities} says so.
 *
 * Needs root, `ip` (iproute2) and `iptables`. Everything created is named `lmq<tag>…` and removed
 * by {@link NetnsNetwork.close}.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Host, HostNetwork, LinkCut } from './host-network.js';

const run = promisify(execFile);

const NAMESRV_PORTS = { main: 9876, second: 8081, http: 5556 };
const BROKER_PORTS = { main: 10911, second: 40911, http: 5557 };

/** Runs a command, throwing with its stderr when it fails. */
async function sh(command: string, ...args: string[]): Promise<string> {
  try {
    return (await run(command, args, { timeout: 10_000 })).stdout;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`${command} ${args.join(' ')} failed: ${stderr.trim() || String(error)}`, { cause: error });
  }
}

/** Why namespaces cannot be used here, or null when they can. */
export async function netnsUnavailableReason(): Promise<string | null> {
  if (process.platform !== 'linux') return `platform ${process.platform} has no network namespaces`;
  if (process.getuid?.() !== 0) return 'not root: cannot create network namespaces';
  for (const tool of ['ip', 'iptables']) {
    try {
      await sh('sh', '-c', `command -v ${tool}`);
    } catch {
      return `${tool} is not installed (Debian: apt-get install iproute2 iptables)`;
    }
  }
  return null;
}

export class NetnsNetwork implements HostNetwork {
  readonly mode = 'netns' as const;
  private cuts: readonly LinkCut[] = [];
  private lossProbability = 0;
  private netemReason: string | null = null;
  /** Namespaces and the bridge this object created: the only things `close` removes. */
  private readonly createdNamespaces: string[] = [];
  private createdBridge = false;

  private constructor(
    private readonly tag: string,
    private readonly subnet: string,
    readonly namesrv: Host,
    readonly nodes: readonly Host[],
    readonly modeReason: string,
  ) {}

  /**
   * Creates the bridge and one namespace per host. `tag` (1-5 letters or digits) names everything;
   * `subnetIndex` (1-254) picks 10.213.<subnetIndex>.0/24.
   */
  static async create(options: { nodeIds: string[]; tag: string; subnetIndex: number }): Promise<NetnsNetwork> {
    if (!/^[a-z0-9]{1,5}$/.test(options.tag)) throw new Error(`bad network tag ${options.tag}`);
    const subnet = `10.213.${options.subnetIndex}`;
    const namesrv: Host = { id: 'namesrv', address: `${subnet}.10`, ports: NAMESRV_PORTS };
    const nodes = options.nodeIds.map((id, i): Host => ({ id, address: `${subnet}.${11 + i}`, ports: BROKER_PORTS }));
    const network = new NetnsNetwork(options.tag, subnet, namesrv, nodes, 'root with ip and iptables: one network namespace per host');
    try {
      await network.setUp();
    } catch (error) {
      await network.close();
      throw error;
    }
    return network;
  }

  private get bridge(): string {
    return `lmq${this.tag}br`;
  }

  /** Namespace name of host `id`. */
  namespaceOf(id: string): string {
    return `lmq${this.tag}-${id}`;
  }

  private vethOf(index: number): string {
    return `lmq${this.tag}v${index}`;
  }

  private get hosts(): Host[] {
    return [this.namesrv, ...this.nodes];
  }

  private async setUp(): Promise<void> {
    const inUse = await sh('ip', '-o', 'addr');
    if (inUse.includes(` ${this.subnet}.`)) throw new Error(`subnet ${this.subnet}.0/24 is already in use on this host`);
    await sh('ip', 'link', 'add', this.bridge, 'type', 'bridge');
    this.createdBridge = true;
    await sh('ip', 'addr', 'add', `${this.subnet}.1/24`, 'dev', this.bridge);
    await sh('ip', 'link', 'set', this.bridge, 'up');
    for (const [index, host] of this.hosts.entries()) {
      const ns = this.namespaceOf(host.id);
      await sh('ip', 'netns', 'add', ns);
      this.createdNamespaces.push(ns);
      await sh('ip', 'link', 'add', this.vethOf(index), 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
      await sh('ip', 'link', 'set', this.vethOf(index), 'master', this.bridge, 'up');
      await sh('ip', 'netns', 'exec', ns, 'ip', 'addr', 'add', `${host.address}/24`, 'dev', 'eth0');
      await sh('ip', 'netns', 'exec', ns, 'ip', 'link', 'set', 'eth0', 'up');
      await sh('ip', 'netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up');
    }
    this.netemReason = await this.probeNetem();
  }

  /** Null when `tc netem` works in a namespace, else why not. */
  private async probeNetem(): Promise<string | null> {
    const ns = this.namespaceOf(this.namesrv.id);
    try {
      await sh('ip', 'netns', 'exec', ns, 'tc', 'qdisc', 'add', 'dev', 'eth0', 'root', 'netem', 'delay', '1ms');
      await sh('ip', 'netns', 'exec', ns, 'tc', 'qdisc', 'del', 'dev', 'eth0', 'root');
      return null;
    } catch (error) {
      return `tc netem does not work on this kernel (${(error as Error).message.split('\n')[0]})`;
    }
  }

  raftAddress(_from: string, to: string): string {
    return `${this.host(to).address}:${BROKER_PORTS.second}`;
  }

  commandPrefix(id: string): string[] {
    return ['ip', 'netns', 'exec', this.namespaceOf(this.host(id).id)];
  }

  async setCuts(cuts: readonly LinkCut[]): Promise<void> {
    for (const cut of cuts) {
      this.node(cut.from);
      this.node(cut.to);
    }
    this.cuts = [...cuts];
    await this.applyRules();
  }

  async setLoss(probability: number): Promise<void> {
    if (!(probability >= 0 && probability < 1)) throw new Error(`loss probability ${probability} is not in [0, 1)`);
    this.lossProbability = probability;
    await this.applyRules();
  }

  async setDelay(delayMs: number, jitterMs: number): Promise<void> {
    if (this.netemReason !== null) throw new Error(this.netemReason);
    await Promise.all(
      this.nodes.map((node) => {
        const ns = this.namespaceOf(node.id);
        if (delayMs === 0) return sh('ip', 'netns', 'exec', ns, 'tc', 'qdisc', 'del', 'dev', 'eth0', 'root').catch(() => '');
        return sh('ip', 'netns', 'exec', ns, 'tc', 'qdisc', 'replace', 'dev', 'eth0', 'root', 'netem', 'delay', `${delayMs}ms`, `${jitterMs}ms`);
      }),
    );
  }

  capabilities(): { loss: boolean; delay: boolean; reasons: string[] } {
    return { loss: true, delay: this.netemReason === null, reasons: this.netemReason === null ? [] : [`delay: ${this.netemReason}`] };
  }

  /** Rewrites every node's INPUT chain from the current cuts and loss. */
  private async applyRules(): Promise<void> {
    await Promise.all(
      this.nodes.map(async (node) => {
        const ns = this.namespaceOf(node.id);
        const rules: string[][] = [];
        for (const cut of this.cuts.filter((c) => c.to === node.id)) rules.push(['-s', this.node(cut.from).address, '-j', 'DROP']);
        if (this.lossProbability > 0) {
          for (const peer of this.nodes.filter((n) => n.id !== node.id)) {
            rules.push(['-s', peer.address, '-m', 'statistic', '--mode', 'random', '--probability', String(this.lossProbability), '-j', 'DROP']);
          }
        }
        // -w: wait for the xtables lock, which every namespace shares.
        await sh('ip', 'netns', 'exec', ns, 'iptables', '-w', '-F', 'INPUT');
        for (const rule of rules) await sh('ip', 'netns', 'exec', ns, 'iptables', '-w', '-A', 'INPUT', ...rule);
      }),
    );
  }

  async close(): Promise<void> {
    for (const ns of this.createdNamespaces.splice(0)) await sh('ip', 'netns', 'del', ns).catch(() => '');
    if (this.createdBridge) await sh('ip', 'link', 'del', this.bridge).catch(() => '');
    this.createdBridge = false;
  }

  private host(id: string): Host {
    const host = this.hosts.find((h) => h.id === id);
    if (!host) throw new Error(`no host ${id}`);
    return host;
  }

  private node(id: string): Host {
    const node = this.nodes.find((n) => n.id === id);
    if (!node) throw new Error(`no broker node ${id}`);
    return node;
  }
}
