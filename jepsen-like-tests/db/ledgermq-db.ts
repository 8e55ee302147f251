/**
 * The system under test: a NameServer/Proxy and one 3-node broker group, each an OS process on its
 * own host of a {@link HostNetwork}. Starts, kills (SIGKILL), pauses (SIGSTOP/SIGCONT) and restarts
 * nodes by the PIDs it started, and never signals anything else.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrokerConfigInput } from '../../lib/broker/broker-config.js';
import { stopChild, waitHealthy } from '../../lib/process/child-processes.js';
import { writeRandomClusterSecret } from '../../lib/security/cluster-auth.js';
import type { HostNetwork } from '../net/host-network.js';

const CLI = resolve(dirname(fileURLToPath(import.meta.url)), '../../cmd/ledgermq.js');

export interface LedgerMqDbOptions {
  network: HostNetwork;
  /** Run folder: data in `<dir>/<node>`, logs in `<dir>/logs`. */
  dir: string;
  group?: string;
  brokerOverrides?: Partial<BrokerConfigInput>;
  /** Extra environment of a broker node's process (clock faults, test-only modes). */
  nodeEnvironment?: (id: string) => Record<string, string>;
}

/** What `/status` of a broker node says, as far as the harness uses it. */
export interface NodeStatus {
  node: string;
  role: string;
  term: number;
  leader: string | null;
  commitIndex: number;
  lastIndex: number;
}

/** A process that ended without the harness asking. */
export interface UnexpectedExit {
  id: string;
  pid: number;
  code: number | null;
  signal: string | null;
  atIso: string;
}

/** Test-only broker switches: set by the harness where a run asks for them, never inherited. */
export const TEST_HOOK_VARIABLES = ['LEDGERMQ_UNSAFE_TEST_ACK_BEFORE_COMMIT', 'LEDGERMQ_TEST_DURABLE_WATERMARK_DIR', 'LEDGERMQ_DURABILITY_TRACE_DIR'];

/** The environment minus the test-only broker switches. */
export function withoutTestHooks(environment: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(environment).filter(([key]) => !TEST_HOOK_VARIABLES.includes(key)));
}

export class LedgerMqDb {
  private namesrvChild: ChildProcess | null = null;
  private readonly children = new Map<string, ChildProcess>();
  private readonly paused = new Set<string>();
  /** Nodes started once already: a restart joins an existing group. */
  private readonly startedOnce = new Set<string>();
  private readonly expectedExits = new Set<ChildProcess>();
  readonly unexpectedExits: UnexpectedExit[] = [];
  readonly group: string;

  constructor(private readonly options: LedgerMqDbOptions) {
    this.group = options.group ?? 'broker-a';
  }

  get network(): HostNetwork {
    return this.options.network;
  }

  get nodeIds(): string[] {
    return this.network.nodes.map((n) => n.id);
  }

  /** The v2 Proxy address the official clients connect to. */
  get accessPoint(): string {
    const ns = this.network.namesrv;
    return `${ns.address}:${ns.ports.second}`;
  }

  dataDir(id: string): string {
    return join(resolve(this.options.dir), id);
  }

  /** The cluster secret every process signs its internal calls with (made by {@link start}). */
  get clusterSecretFile(): string {
    return join(resolve(this.options.dir), 'cluster.secret');
  }

  logFile(id: string): string {
    return join(resolve(this.options.dir), 'logs', `${id}.log`);
  }

  /** Starts the NameServer and every node, and waits until the group has a leader the NameServer routes to. */
  async start(timeoutMs = 60_000): Promise<void> {
    mkdirSync(join(resolve(this.options.dir), 'logs'), { recursive: true });
    writeRandomClusterSecret(this.clusterSecretFile);
    const ns = this.network.namesrv;
    const child = this.spawnOn(ns.id, ['namesrv', '--host', ns.address, '--port', String(ns.ports.main), '--proxy-port', String(ns.ports.second), '--http-port', String(ns.ports.http), '--cluster-secret-file', this.clusterSecretFile], {});
    this.namesrvChild = child;
    await waitHealthy(`${ns.address}:${ns.ports.http}`, child, timeoutMs, this.logFile(ns.id));
    await Promise.all(this.nodeIds.map((id) => this.startNode(id, timeoutMs)));
    await this.waitRouted(timeoutMs);
  }

  /** Starts (or restarts) node `id` and waits for its /healthz. */
  async startNode(id: string, timeoutMs = 60_000): Promise<void> {
    if (this.children.has(id)) throw new Error(`node ${id} is already running`);
    const host = this.host(id);
    const dataDir = this.dataDir(id);
    mkdirSync(dataDir, { recursive: true });
    const ns = this.network.namesrv;
    const config: BrokerConfigInput = {
      group: this.group,
      nodeId: id,
      dataDir,
      host: host.address,
      brokerPort: host.ports.main,
      httpPort: host.ports.http,
      namesrv: [`${ns.address}:${ns.ports.main}`],
      initialClusterState: this.startedOnce.has(id) ? 'existing' : 'new',
      peers: this.nodeIds.map((peer) => `${peer}-${this.network.raftAddress(id, peer)}`).join(';'),
      // Routes follow a new leader at once (brokers register on a role change); the periodic
      // heartbeat only has to outlive the NameServer's expiry.
      registerIntervalMs: 5_000,
      clusterSecretFile: this.clusterSecretFile,
      ...this.options.brokerOverrides,
    };
    const configFile = join(dataDir, 'broker.json');
    writeFileSync(configFile, JSON.stringify(config, null, 2) + '\n');
    const child = this.spawnOn(id, ['broker', '--config', configFile], this.options.nodeEnvironment?.(id) ?? {});
    this.children.set(id, child);
    this.startedOnce.add(id);
    await waitHealthy(`${host.address}:${host.ports.http}`, child, timeoutMs, this.logFile(id));
  }

  isRunning(id: string): boolean {
    return this.children.has(id);
  }

  isPaused(id: string): boolean {
    return this.paused.has(id);
  }

  /** SIGKILL to node `id` (if running), and waits for its exit. */
  async kill(id: string): Promise<void> {
    const child = this.children.get(id);
    if (!child) return;
    this.expectedExits.add(child);
    this.children.delete(id);
    this.paused.delete(id);
    await stopChild(child, 'SIGKILL');
  }

  /** SIGSTOP to node `id`. */
  pause(id: string): void {
    const child = this.children.get(id);
    if (!child || this.paused.has(id)) return;
    child.kill('SIGSTOP');
    this.paused.add(id);
  }

  /** SIGCONT to node `id`. */
  resume(id: string): void {
    const child = this.children.get(id);
    if (!child || !this.paused.has(id)) return;
    child.kill('SIGCONT');
    this.paused.delete(id);
  }

  /** `/status` of node `id`, or null if it does not answer within `timeoutMs` (down, paused, cut). */
  async status(id: string, timeoutMs = 500): Promise<NodeStatus | null> {
    if (!this.children.has(id)) return null;
    const host = this.host(id);
    try {
      const response = await fetch(`http://${host.address}:${host.ports.http}/status`, { signal: AbortSignal.timeout(timeoutMs) });
      return (await response.json()) as NodeStatus;
    } catch {
      return null;
    }
  }

  /** The node that answers as leader with the highest term, or null. */
  async leader(): Promise<string | null> {
    const statuses = await Promise.all(this.nodeIds.map((id) => this.status(id)));
    const leaders = statuses.filter((s): s is NodeStatus => s !== null && s.role === 'leader').sort((a, b) => b.term - a.term);
    return leaders[0]?.node ?? null;
  }

  /** Waits until the NameServer routes the group to a leader that answers as leader. */
  async waitRouted(timeoutMs: number): Promise<string> {
    const ns = this.network.namesrv;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        const response = await fetch(`http://${ns.address}:${ns.ports.http}/status`, { signal: AbortSignal.timeout(1_000) });
        const status = (await response.json()) as { groups: Array<{ group: string; leaderId: string }> };
        const routed = status.groups.find((g) => g.group === this.group)?.leaderId ?? '';
        if (routed !== '' && (await this.status(routed))?.role === 'leader') return routed;
      } catch {
        // NameServer busy: poll again
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`group ${this.group} had no routed leader within ${timeoutMs} ms`);
  }

  /** Resumes paused nodes, then stops every process this object started (SIGTERM, SIGKILL after 10 s). */
  async stop(): Promise<void> {
    for (const id of [...this.paused]) this.resume(id);
    await Promise.all(
      [...this.children.entries()].map(async ([id, child]) => {
        this.expectedExits.add(child);
        this.children.delete(id);
        await stopChild(child, 'SIGTERM');
      }),
    );
    if (this.namesrvChild) {
      this.expectedExits.add(this.namesrvChild);
      await stopChild(this.namesrvChild, 'SIGTERM');
      this.namesrvChild = null;
    }
  }

  private host(id: string): { address: string; ports: { main: number; second: number; http: number } } {
    const host = this.network.nodes.find((n) => n.id === id);
    if (!host) throw new Error(`no node ${id}`);
    return host;
  }

  private spawnOn(hostId: string, args: string[], environment: Record<string, string>): ChildProcess {
    const fd = openSync(this.logFile(hostId), 'a');
    try {
      const prefix = this.network.commandPrefix(hostId);
      const argv = [...prefix, process.execPath, CLI, ...args];
      const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', fd, fd], env: { ...withoutTestHooks(process.env), ...environment } });
      child.once('exit', (code, signal) => {
        if (this.expectedExits.has(child)) return;
        this.unexpectedExits.push({ id: hostId, pid: child.pid ?? -1, code, signal, atIso: new Date().toISOString() });
        if (this.children.get(hostId) === child) this.children.delete(hostId);
      });
      return child;
    } finally {
      closeSync(fd);
    }
  }
}
