/**
 * A local LedgerMQ cluster of OS processes on 127.0.0.1: one NameServer/Proxy and one broker group.
 * Used by `ledgermq up` and by the cluster tests (which kill and restart nodes by PID). Only the
 * processes this object started are ever signalled.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrokerConfigInput } from '../broker/broker-config.js';
import type { ProxyLimits } from '../proxy/proxy-limits.js';
import type { NameServerStatus } from '../namesrv/name-server.js';
import { stopChild, waitHealthy } from '../process/child-processes.js';
import type { TlsMode } from '../security/tls-config.js';
import { writeRandomClusterSecret } from '../security/cluster-auth.js';

export interface LocalClusterOptions {
  dir: string;
  basePort: number;
  nodes: number;
  group?: string;
  autoCreate?: boolean;
  /** Extra broker config (tests: small segments, short intervals). */
  brokerOverrides?: Partial<BrokerConfigInput>;
  /**
   * TLS of every process (default off). With TLS, `<dir>/certs` holds the local CA and the node
   * certificate all processes use (created when missing, lib/security/local-ca.ts).
   */
  tls?: TlsMode;
  /**
   * Folder holding the nodes' data dirs (default: `dir`); logs and `cluster.json` stay in `dir`.
   * Tests put it on a small filesystem of its own (test/disk-full.test.ts).
   */
  dataRoot?: string;
  /** Proxy limits (`ledgermq namesrv --proxy-set`). */
  proxyLimits?: Partial<ProxyLimits>;
}

/** TLS of a local cluster, as `cluster.json` records it: clients need `caFile`. */
export interface ClusterTls {
  mode: TlsMode;
  caFile: string;
  certFile: string;
  keyFile: string;
}

export interface NodeInfo {
  id: string;
  pid: number | null;
  dataDir: string;
  broker: string;
  raft: string | null;
  http: string;
  configFile: string;
  logFile: string;
}

/** The `cluster.json` document. */
export interface ClusterDescription {
  accessPoint: string;
  namesrv: string[];
  namesrvProcess: { pid: number | null; http: string; logFile: string };
  groups: Array<{ name: string; nodes: NodeInfo[] }>;
  /** The cluster secret every process signs its internal calls with (mode 0600, made on first start). */
  clusterSecretFile: string;
  /** Absent when TLS is off. */
  tls?: ClusterTls;
}

const CLI = resolve(dirname(fileURLToPath(import.meta.url)), '../../cmd/ledgermq.js');

export class LocalCluster {
  private namesrvChild: ChildProcess | null = null;
  private started = false;
  private readonly brokerChildren = new Map<string, ChildProcess>();
  readonly description: ClusterDescription;

  constructor(private readonly options: LocalClusterOptions) {
    const dir = resolve(options.dir);
    const base = options.basePort;
    const group = options.group ?? 'broker-a';
    const nodes: NodeInfo[] = Array.from({ length: options.nodes }, (_, i) => this.nodeSlot(i, options.nodes > 1));
    this.description = {
      accessPoint: `127.0.0.1:${base + 1}`,
      namesrv: [`127.0.0.1:${base}`],
      namesrvProcess: { pid: null, http: `127.0.0.1:${base + 2}`, logFile: join(dir, 'logs', 'namesrv.log') },
      groups: [{ name: group, nodes }],
      clusterSecretFile: join(dir, 'cluster.secret'),
    };
  }

  /** Ports and paths of node `n<i>`: ports base+10i+10 (broker), +11 (Raft), +12 (HTTP). */
  private nodeSlot(i: number, replicated: boolean): NodeInfo {
    const dir = resolve(this.options.dir);
    const dataRoot = resolve(this.options.dataRoot ?? this.options.dir);
    const base = this.options.basePort;
    const group = this.options.group ?? 'broker-a';
    return {
      id: `n${i}`,
      pid: null,
      dataDir: join(dataRoot, group, `n${i}`),
      broker: `127.0.0.1:${base + 10 + i * 10}`,
      raft: replicated ? `127.0.0.1:${base + 11 + i * 10}` : null,
      http: `127.0.0.1:${base + 12 + i * 10}`,
      configFile: join(dataRoot, group, `n${i}`, 'broker.json'),
      logFile: join(dir, 'logs', `${group}-n${i}.log`),
    };
  }

  /**
   * Adds a new node `n<k>` (k one past the highest so far) to this cluster's records, not started:
   * start it with `startNode(id, { joinAsLearner: true })`, then add it with `admin addMember`.
   */
  addNodeSlot(): NodeInfo {
    if (this.nodes.some((n) => n.raft === null)) throw new Error('a single-node cluster has no group to add members to');
    const next = Math.max(...this.nodes.map((n) => Number(n.id.slice(1)))) + 1;
    const node = this.nodeSlot(next, true);
    this.nodes.push(node);
    this.writeDescription();
    return node;
  }

  /** Drops a stopped node (removed from the group with `admin removeMember`) from this cluster's records. */
  forgetNode(id: string): void {
    const node = this.node(id);
    if (this.brokerChildren.has(id)) throw new Error(`stop ${id} before forgetting it`);
    this.nodes.splice(this.nodes.indexOf(node), 1);
    this.writeDescription();
  }

  get nodes(): NodeInfo[] {
    return this.description.groups[0].nodes;
  }

  /**
   * Starts every process, waits until each answers /healthz and the NameServer routes to every
   * node (ready for clients), then writes `cluster.json`.
   */
  async start(timeoutMs = 30_000): Promise<void> {
    const dir = resolve(this.options.dir);
    mkdirSync(join(dir, 'logs'), { recursive: true });
    const mode = this.options.tls ?? 'off';
    if (mode !== 'off') {
      // Loaded only for TLS clusters: the X.509 library is large and installs a global polyfill.
      const { ensureLocalCertificates } = await import('../security/local-ca.js');
      const files = await ensureLocalCertificates(join(dir, 'certs'));
      this.description.tls = { mode, caFile: files.caFile, certFile: files.certFile, keyFile: files.keyFile };
    }
    await this.startNamesrv(timeoutMs);
    // All at once: a Raft group elects its leader only once a majority runs.
    await Promise.all(this.nodes.map((node) => this.startNode(node.id, timeoutMs)));
    this.started = true;
    this.writeDescription();
  }

  /** Starts (or restarts) one broker node and waits for /healthz and its registration with the NameServer. */
  async startNode(id: string, timeoutMs = 30_000, overrides: Partial<BrokerConfigInput> = {}, expectRegistration = true): Promise<void> {
    this.ensureClusterSecret();
    const node = this.node(id);
    mkdirSync(node.dataDir, { recursive: true });
    const [host, brokerPort] = node.broker.split(':');
    const config: BrokerConfigInput = {
      group: this.description.groups[0].name,
      nodeId: node.id,
      dataDir: node.dataDir,
      host,
      brokerPort: Number(brokerPort),
      httpPort: Number(node.http.split(':')[1]),
      namesrv: this.description.namesrv,
      // Nodes started with the cluster are new; a node (re)started later joins an existing group.
      initialClusterState: this.started ? 'existing' : 'new',
      peers: this.nodes.filter((n) => n.raft !== null).map((n) => `${n.id}-${n.raft}`).join(';'),
      autoCreateTopics: this.options.autoCreate ?? true,
      autoCreateGroups: this.options.autoCreate ?? true,
      clusterSecretFile: this.description.clusterSecretFile,
      ...this.tlsConfig(),
      ...this.options.brokerOverrides,
      ...overrides,
    };
    writeFileSync(node.configFile, JSON.stringify(config, null, 2) + '\n');
    const child = this.spawnLogged(['broker', '--config', node.configFile], node.logFile);
    this.brokerChildren.set(id, child);
    node.pid = child.pid ?? null;
    const startedAtMs = Date.now();
    await waitHealthy(node.http, child, timeoutMs, node.logFile);
    // A node removed from its group does not register (expectRegistration false).
    if (this.namesrvChild && expectRegistration) await this.waitRegistered(node.id, startedAtMs, timeoutMs);
    this.writeDescription();
  }

  /** Waits until the NameServer has a heartbeat from `nodeId` sent after `sinceMs`, with a known group leader. */
  private async waitRegistered(nodeId: string, sinceMs: number, timeoutMs: number): Promise<void> {
    const group = this.description.groups[0].name;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        const status = await this.namesrvStatus();
        const broker = status.brokers.find((b) => b.group === group && b.nodeId === nodeId);
        const leaderKnown = status.groups.some((g) => g.group === group && g.leaderAddress !== '');
        if (broker && broker.lastHeartbeatMs >= sinceMs && leaderKnown) return;
      } catch {
        // NameServer busy or restarting: poll again
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`node ${nodeId} did not register with the NameServer within ${timeoutMs} ms`);
  }

  /** The node that the NameServer routes the group's writes to now, or null. */
  async leaderId(): Promise<string | null> {
    const group = this.description.groups[0].name;
    const status = await this.namesrvStatus();
    const summary = status.groups.find((g) => g.group === group);
    return summary && summary.leaderId !== '' ? summary.leaderId : null;
  }

  /** The NameServer's `/status` document. */
  private async namesrvStatus(): Promise<NameServerStatus> {
    return (await (await fetch(`http://${this.description.namesrvProcess.http}/status`)).json()) as NameServerStatus;
  }

  /** The `/status` document of one node. */
  async nodeStatus(id: string): Promise<Record<string, unknown>> {
    return (await (await fetch(`http://${this.node(id).http}/status`)).json()) as Record<string, unknown>;
  }

  /** Sends `signal` to one node's process (only if this cluster started it) and waits for exit. */
  async stopNode(id: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.brokerChildren.get(id);
    if (!child) return;
    this.brokerChildren.delete(id);
    await stopChild(child, signal);
    this.node(id).pid = null;
  }

  /** Stops everything this cluster started (SIGTERM, then SIGKILL after 10 s). */
  async stop(): Promise<void> {
    for (const id of [...this.brokerChildren.keys()]) await this.stopNode(id);
    if (this.namesrvChild) {
      await stopChild(this.namesrvChild, 'SIGTERM');
      this.namesrvChild = null;
    }
  }

  private async startNamesrv(timeoutMs: number): Promise<void> {
    this.ensureClusterSecret();
    const info = this.description.namesrvProcess;
    const [host, port] = this.description.namesrv[0].split(':');
    const child = this.spawnLogged(
      ['namesrv', '--host', host, '--port', port, '--proxy-port', this.description.accessPoint.split(':')[1], '--http-port', info.http.split(':')[1], '--cluster-secret-file', this.description.clusterSecretFile, ...this.tlsFlags(),
        ...Object.entries(this.options.proxyLimits ?? {}).flatMap(([key, value]) => ['--proxy-set', `${key}=${value}`])],
      info.logFile,
    );
    this.namesrvChild = child;
    info.pid = child.pid ?? null;
    await waitHealthy(info.http, child, timeoutMs, info.logFile);
  }

  /** Makes the cluster secret file once; kept across restarts, as the nodes' data outlive one `up`. Sync: startup only. */
  private ensureClusterSecret(): void {
    const file = this.description.clusterSecretFile;
    mkdirSync(dirname(file), { recursive: true });
    if (!existsSync(file)) writeRandomClusterSecret(file);
  }

  /** Broker config keys of this cluster's TLS (none when off). */
  private tlsConfig(): Partial<BrokerConfigInput> {
    const tls = this.description.tls;
    return tls === undefined ? {} : { tlsMode: tls.mode, tlsCertFile: tls.certFile, tlsKeyFile: tls.keyFile, tlsCaFile: tls.caFile };
  }

  /** `ledgermq namesrv` flags of this cluster's TLS (none when off). */
  private tlsFlags(): string[] {
    const tls = this.description.tls;
    return tls === undefined ? [] : ['--tls-mode', tls.mode, '--tls-cert', tls.certFile, '--tls-key', tls.keyFile, '--tls-ca', tls.caFile];
  }

  private spawnLogged(args: string[], logFile: string): ChildProcess {
    const fd = openSync(logFile, 'a');
    try {
      return spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', fd, fd] });
    } finally {
      closeSync(fd);
    }
  }

  private node(id: string): NodeInfo {
    const node = this.nodes.find((n) => n.id === id);
    if (!node) throw new Error(`no node ${id}`);
    return node;
  }

  private writeDescription(): void {
    writeFileSync(join(resolve(this.options.dir), 'cluster.json'), JSON.stringify(this.description, null, 2) + '\n');
  }
}
