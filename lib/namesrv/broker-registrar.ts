/**
 * The broker side of the name service: keeps one node registered with every NameServer.
 */
import type { ChannelCredentials } from '@grpc/grpc-js';
import { LedgerError, throwIfNotOk } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { BrokerRegistration } from '../gen/internal/ledgermq/v1/BrokerRegistration.js';
import { NameServiceStub } from './name-service-stub.js';
import type { CallHeaders } from '../security/signing-interceptor.js';

/** Options of {@link BrokerRegistrar}; defaults are filled in the constructor. */
export interface BrokerRegistrarOptions {
  /** Every NameServer, as `host:port`; the node registers with all of them. */
  nameServerAddresses: readonly string[];
  /**
   * Builds the node's current registration (role, term, leader, topics). Called once per round;
   * if it throws, the round is skipped and logged.
   */
  registration: () => BrokerRegistration;
  logger: Logger;
  /** Heartbeat period (RocketMQ: 30 s). */
  intervalMs?: number;
  /** Deadline of one RegisterBroker call. */
  callTimeoutMs?: number;
  /** Channel credentials to the NameServers (lib/security/transport-credentials.ts); default plaintext. */
  credentials?: ChannelCredentials;
  /** Deadline of the best-effort UnregisterBroker calls made by {@link BrokerRegistrar.stop}. */
  unregisterTimeoutMs?: number;
  /** Signs every call (the cluster secret's headers); null or absent: unsigned. */
  sign?: CallHeaders | null;
}

/** RocketMQ's registerBrokerToNameServer period. */
export const DEFAULT_REGISTER_INTERVAL_MS = 30_000;
const DEFAULT_CALL_TIMEOUT_MS = 3_000;
const DEFAULT_UNREGISTER_TIMEOUT_MS = 1_000;

interface NameServerTarget {
  stub: NameServiceStub;
  /** Whether the last attempt failed; used to log a failure once and the recovery once. */
  isFailing: boolean;
}

/**
 * Registers a broker node with every NameServer every `intervalMs`, and at once on
 * {@link notifyChange}. A round registers with all servers in parallel; rounds never overlap
 * (a change during a round schedules exactly one more round after it). Failures are logged and
 * retried at the next round; nothing is ever thrown into a timer.
 */
export class BrokerRegistrar {
  private readonly targets: NameServerTarget[];
  private readonly registration: () => BrokerRegistration;
  private readonly logger: Logger;
  private readonly intervalMs: number;
  private readonly callTimeoutMs: number;
  private readonly unregisterTimeoutMs: number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  private state: 'new' | 'started' | 'stopped' = 'new';

  /** @throws RangeError if no NameServer address is given. */
  constructor(options: BrokerRegistrarOptions) {
    if (options.nameServerAddresses.length === 0) throw new RangeError('BrokerRegistrar needs at least one NameServer address');
    this.targets = options.nameServerAddresses.map((address) => ({ stub: new NameServiceStub(address, options.credentials, options.sign ?? null), isFailing: false }));
    this.registration = options.registration;
    this.logger = options.logger;
    this.intervalMs = options.intervalMs ?? DEFAULT_REGISTER_INTERVAL_MS;
    this.callTimeoutMs = options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    this.unregisterTimeoutMs = options.unregisterTimeoutMs ?? DEFAULT_UNREGISTER_TIMEOUT_MS;
  }

  /** Registers at once, then every `intervalMs`. The timer is unref'd. Calling it twice is a no-op. */
  start(): void {
    if (this.state !== 'new') return;
    this.state = 'started';
    this.timer = setInterval(() => this.notifyChange(), this.intervalMs);
    this.timer.unref();
    this.notifyChange();
  }

  /** Asks for a registration round now (role change, topic change). Coalesced; never throws. */
  notifyChange(): void {
    void this.registerNow();
  }

  /**
   * Runs a round now, or joins the one already queued behind the running round, and resolves
   * when a round that called `registration()` after this call has finished. Never rejects;
   * resolves at once when stopped. Useful for tests and for a broker that wants to be routable
   * before it reports ready.
   */
  registerNow(): Promise<void> {
    if (this.state === 'stopped') return Promise.resolve();
    if (!this.running) {
      this.running = this.runRound().finally(() => {
        this.running = undefined;
      });
      return this.running;
    }
    this.queued ??= this.running.then(() => {
      this.queued = undefined;
      return this.registerNow();
    });
    return this.queued;
  }

  /**
   * Stops the timer, waits for a running round, then (if `start()` was called) unregisters from every NameServer (best
   * effort, `unregisterTimeoutMs` each, in parallel) and closes the channels. Never rejects;
   * idempotent.
   */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    const wasStarted = this.state === 'started';
    this.state = 'stopped';
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
    if (wasStarted) await this.unregisterEverywhere();
    for (const target of this.targets) target.stub.close();
  }

  private async runRound(): Promise<void> {
    let registration: BrokerRegistration;
    try {
      registration = this.registration();
    } catch (error: unknown) {
      this.logger.warn({ err: error }, 'cannot build the broker registration; skipping this round');
      return;
    }
    await Promise.all(this.targets.map((target) => this.registerWith(target, registration)));
  }

  /** One RegisterBroker call; never rejects. */
  private async registerWith(target: NameServerTarget, registration: BrokerRegistration): Promise<void> {
    try {
      const response = await target.stub.registerBroker({ registration }, this.callTimeoutMs);
      throwIfNotOk(response.status);
      if (target.isFailing) this.logger.info({ nameServer: target.stub.address }, 'registration with NameServer restored');
      target.isFailing = false;
    } catch (error: unknown) {
      const fields = { nameServer: target.stub.address, err: error instanceof LedgerError ? error.message : String(error) };
      // A refused registration (BAD_REQUEST) is a bug worth repeating; an unreachable server is logged once per outage.
      if (!target.isFailing || !(error instanceof LedgerError && error.retriable)) {
        this.logger.warn(fields, 'registration with NameServer failed; retrying at the next round');
      }
      target.isFailing = true;
    }
  }

  private async unregisterEverywhere(): Promise<void> {
    let request: { cluster: string; group: string; nodeId: string };
    try {
      const registration = this.registration();
      request = { cluster: registration.cluster ?? '', group: registration.group ?? '', nodeId: registration.nodeId ?? '' };
    } catch (error: unknown) {
      this.logger.warn({ err: error }, 'cannot build the broker registration; not unregistering');
      return;
    }
    await Promise.all(
      this.targets.map(async (target) => {
        try {
          const response = await target.stub.unregisterBroker(request, this.unregisterTimeoutMs);
          throwIfNotOk(response.status);
        } catch (error: unknown) {
          this.logger.debug({ nameServer: target.stub.address, err: error instanceof Error ? error.message : String(error) }, 'unregister failed');
        }
      }),
    );
  }
}
