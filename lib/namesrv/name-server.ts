/**
 * The NameServer process component: a gRPC server for NameService over a RouteTable, the expiry
 * scan, and its Prometheus metrics. Several NameServers run side by side without talking to each
 * other; every broker registers with all of them.
 */
import * as grpc from '@grpc/grpc-js';
import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import type { Logger } from '../common/logger.js';
import { loadInternal } from '../protocol/proto-definitions.js';
import { createNameServiceHandlers } from './name-service.js';
import { RouteTable } from './route-table.js';
import { LedgerError } from '../common/errors.js';
import type { ClusterAuth } from '../security/cluster-auth.js';
import { peerAuthRefusedCounter } from '../security/peer-auth-metric.js';
import { listenGrpc } from '../security/secure-listener.js';
import type { BoundListener } from '../security/secure-listener.js';
import type { ServerTls } from '../security/tls-config.js';

/** Options of {@link NameServer.start}. */
export interface NameServerOptions {
  /** Interface to bind, e.g. `0.0.0.0` or `127.0.0.1`. */
  host: string;
  /** Port to bind; 0 picks a free one (read it back from {@link NameServer.address}). */
  port: number;
  /** Metrics are registered here; one NameServer per registry (names would collide). */
  registry: Registry;
  logger: Logger;
  /** A broker silent for longer than this is dropped (RocketMQ: 120 s). */
  expireAfterMs?: number;
  /** How often expired registrations are removed and counted (RocketMQ scans every 5 s). */
  scanIntervalMs?: number;
  /** Milliseconds clock (tests inject a fake one). */
  clock?: () => number;
  /** Registrations must be signed with this cluster secret; null or absent: not authenticated. */
  clusterAuth?: ClusterAuth | null;
  /** TLS of the name service port (lib/security/tls-config.ts); null or absent: plaintext. */
  tls?: ServerTls | null;
}

/** RocketMQ's scanNotActiveBrokerInterval. */
export const DEFAULT_SCAN_INTERVAL_MS = 5_000;
/** Time given to in-flight calls by {@link NameServer.close} before connections are cut. */
const SHUTDOWN_GRACE_MS = 1_000;

/** One broker as shown at `/status`. */
export interface NameServerBrokerStatus {
  cluster: string;
  group: string;
  nodeId: string;
  address: string;
  httpAddress: string;
  role: string;
  term: number;
  leaderId: string;
  leaderAddress: string;
  commitIndex: number;
  topics: string[];
  lastHeartbeatMs: number;
  /** Time since the last heartbeat by the NameServer's clock. */
  heartbeatAgeMs: number;
}

/** The `/status` document of a NameServer. Monitoring and the test harness rely on these names. */
export interface NameServerStatus {
  role: 'namesrv';
  address: string;
  expireAfterMs: number;
  brokers: NameServerBrokerStatus[];
  groups: Array<{ cluster: string; group: string; leaderId: string; leaderAddress: string; nodeIds: string[]; topics: string[] }>;
}

function hostPort(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * A running NameServer. Create with {@link NameServer.start}; stop with {@link NameServer.close}.
 * The route table is exposed so that a Proxy in the same process reads routes without an RPC.
 */
export class NameServer {
  private closed = false;

  private constructor(
    private readonly server: grpc.Server,
    private readonly table: RouteTable,
    private readonly scanTimer: NodeJS.Timeout,
    private readonly clock: () => number,
    private readonly listener: BoundListener,
    /** host:port the gRPC server listens on (with the real port when 0 was asked). */
    readonly address: string,
  ) {}

  /**
   * Registers metrics, binds the gRPC server and starts the expiry scan.
   *
   * @throws Error if the address cannot be bound (the metrics stay registered in `registry`).
   */
  static async start(options: NameServerOptions): Promise<NameServer> {
    const clock = options.clock ?? Date.now;
    const logger = options.logger;
    const table = new RouteTable({ expireAfterMs: options.expireAfterMs, clock });
    const scanIntervalMs = options.scanIntervalMs ?? DEFAULT_SCAN_INTERVAL_MS;

    const registrations = new Counter({
      name: 'ledgermq_namesrv_registrations_total',
      help: 'Broker registrations and heartbeats received, by result (ok, refused)',
      labelNames: ['result'] as const,
      registers: [options.registry],
    });
    const expirations = new Counter({
      name: 'ledgermq_namesrv_expirations_total',
      help: 'Broker registrations dropped after expireAfterMs without a heartbeat',
      registers: [options.registry],
    });
    const unregistrations = new Counter({
      name: 'ledgermq_namesrv_unregistrations_total',
      help: 'Brokers that unregistered themselves',
      registers: [options.registry],
    });
    new Gauge({
      name: 'ledgermq_namesrv_brokers',
      help: 'Live broker registrations',
      registers: [options.registry],
      collect() {
        this.set(table.brokers().length);
      },
    });
    new Gauge({
      name: 'ledgermq_namesrv_groups',
      help: 'Live broker groups, by whether a leader is known (has_leader = 1 or 0)',
      labelNames: ['has_leader'] as const,
      registers: [options.registry],
      collect() {
        const groups = table.groups();
        const withLeader = groups.filter((group) => group.leaderAddress !== '').length;
        this.set({ has_leader: '1' }, withLeader);
        this.set({ has_leader: '0' }, groups.length - withLeader);
      },
    });

    const refusedPeers = peerAuthRefusedCounter(options.registry);
    const clusterAuth = options.clusterAuth ?? null;
    const handlers = createNameServiceHandlers(table, logger, {
      authenticateMember: clusterAuth === null ? undefined : (header, path) => {
        const outcome = clusterAuth.verify(header, path);
        if (outcome.ok) return;
        refusedPeers.inc({ port: 'namesrv', reason: outcome.reason === 'malformed' ? 'malformed_signature' : outcome.reason });
        throw new LedgerError('UNAUTHORIZED', `registration refused: ${outcome.detail}`);
      },
      onRegistered(broker, isNew) {
        registrations.inc({ result: 'ok' });
        const fields = { cluster: broker.cluster, group: broker.group, nodeId: broker.nodeId, address: broker.brokerAddress, role: broker.role, term: broker.term };
        if (isNew) logger.info(fields, 'broker registered');
        else logger.debug(fields, 'broker heartbeat');
      },
      onRegistrationRefused(error) {
        registrations.inc({ result: 'refused' });
        logger.warn({ code: error.code, err: error.message }, 'broker registration refused');
      },
      onUnregistered(cluster, group, nodeId, wasRegistered) {
        if (wasRegistered) unregistrations.inc();
        logger.info({ cluster, group, nodeId, wasRegistered }, 'broker unregistered');
      },
    });

    const server = new grpc.Server();
    server.addService(loadInternal().ledgermq.v1.NameService.service, handlers);
    const listener = await listenGrpc(server, hostPort(options.host, options.port), { tls: options.tls ?? null, role: 'client' });
    const port = listener.port;

    const scanTimer = setInterval(() => {
      for (const broker of table.expire()) {
        expirations.inc();
        logger.warn(
          { cluster: broker.cluster, group: broker.group, nodeId: broker.nodeId, address: broker.brokerAddress, lastHeartbeatMs: broker.lastHeartbeatMs },
          'broker registration expired',
        );
      }
    }, scanIntervalMs);
    scanTimer.unref();

    const address = hostPort(options.host, port);
    logger.info({ address, expireAfterMs: table.expireAfterMs, scanIntervalMs }, 'name server listening');
    return new NameServer(server, table, scanTimer, clock, listener, address);
  }

  /** The live routing state (read by an in-process Proxy). */
  get routeTable(): RouteTable {
    return this.table;
  }

  /** The `/status` document: every live broker and group, sorted. */
  statusJson(): NameServerStatus {
    const nowMs = this.clock();
    return {
      role: 'namesrv',
      address: this.address,
      expireAfterMs: this.table.expireAfterMs,
      brokers: this.table.brokers(nowMs).map((broker) => ({
        cluster: broker.cluster,
        group: broker.group,
        nodeId: broker.nodeId,
        address: broker.brokerAddress,
        httpAddress: broker.httpAddress,
        role: broker.role,
        term: broker.term,
        leaderId: broker.leaderId,
        leaderAddress: broker.leaderAddress,
        commitIndex: broker.commitIndex,
        topics: broker.topics.map((topic) => topic.name),
        lastHeartbeatMs: broker.lastHeartbeatMs,
        heartbeatAgeMs: nowMs - broker.lastHeartbeatMs,
      })),
      groups: this.table.groups(nowMs).map((group) => ({
        cluster: group.cluster,
        group: group.group,
        leaderId: group.leaderId,
        leaderAddress: group.leaderAddress,
        nodeIds: group.nodes.map((node) => node.nodeId),
        topics: group.topics.map((topic) => topic.name),
      })),
    };
  }

  /**
   * Stops the scan and the gRPC server: in-flight calls get {@link SHUTDOWN_GRACE_MS} to finish,
   * then connections are cut. Idempotent. Metrics stay in the registry.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.scanTimer);
    this.listener.close();
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, SHUTDOWN_GRACE_MS);
      force.unref();
      this.server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
  }
}
