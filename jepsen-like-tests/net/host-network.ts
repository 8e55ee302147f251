/**
 * The network the harness runs its hosts on. Each host (the NameServer and every broker node) has
 * its own address; the harness itself reaches every host directly. Faults cut or degrade links
 * between broker nodes only (as Jepsen partitions nodes, not the test's clients); the NameServer's
 * host keeps reaching every node.
 */
import type { HostMode } from '../report/run-summary.js';

/** Ports a host listens on; the same numbers on every host in netns mode, distinct ones in proxy mode. */
export interface HostPorts {
  /** Broker port (broker node) or name service port (NameServer). */
  main: number;
  /** Raft port (broker node) or v2 Proxy port (NameServer). */
  second: number;
  /** HTTP: /healthz, /status, /metrics. */
  http: number;
}

export interface Host {
  /** `namesrv` or a broker node id (`n0`...). */
  id: string;
  /** The address this host binds and is reached at by the harness. */
  address: string;
  ports: HostPorts;
}

/** A directed link cut: packets from `from` do not reach `to`. */
export interface LinkCut {
  from: string;
  to: string;
}

export interface HostNetwork {
  readonly mode: HostMode;
  readonly modeReason: string;
  readonly namesrv: Host;
  readonly nodes: readonly Host[];
  /** The Raft address node `to` is reached at from node `from` (a per-link proxy in proxy mode). */
  raftAddress(from: string, to: string): string;
  /** Command prefix that runs a process on host `id` (`['ip','netns','exec',name]`, or none). */
  commandPrefix(id: string): string[];
  /** Replaces every cut and loss with these directed cuts (an empty list heals). */
  setCuts(cuts: readonly LinkCut[]): Promise<void>;
  /** Drops each packet between broker nodes with this probability (0 stops it). Throws if unsupported. */
  setLoss(probability: number): Promise<void>;
  /** Delays every packet between broker nodes by this many ms (0 stops it). Throws if unsupported. */
  setDelay(delayMs: number, jitterMs: number): Promise<void>;
  /** Which of `loss` and `delay` this network can do, with a reason for the missing ones. */
  capabilities(): { loss: boolean; delay: boolean; reasons: string[] };
  /** Removes everything the network created (namespaces, bridge, proxies). */
  close(): Promise<void>;
}
