/**
 * Broker config changed at run time (admin `getBrokerConfig` / `updateBrokerConfig`, RocketMQ's
 * commands of the same names). A change is checked like the config file, persisted, and either
 * applied at once (a *live* key: the services read it on every request) or at the next start (a
 * *restart* key). Identity and listener keys (`group`, `nodeId`, `peers`, ports, ...) are not
 * changed this way: they belong in the config file.
 *
 * Only the keys changed this way are persisted, as a JSON object in `<dataDir>/config-overrides.json`
 * (written to a temporary file, fsynced, renamed over the old one). At startup the broker applies,
 * in order: its config file, this file, then `--set` options.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LedgerError } from '../common/errors.js';
import { parseBrokerConfig, withDefaults } from './broker-config.js';
import type { BrokerConfig } from './broker-config.js';
import { maskSecret } from '../security/acl-user.js';

/** Keys the services read on every request: a change applies at once. */
export const LIVE_KEYS: ReadonlySet<keyof BrokerConfig> = new Set<keyof BrokerConfig>([
  'autoCreateTopics', 'autoCreateGroups', 'defaultQueueCount', 'maxDeliveryAttempts', 'retryBackoffInitialMs', 'retryBackoffMaxMs', 'retryBackoffMultiplier',
  'maxBodyBytes', 'maxPropertyCount', 'maxPropertiesBytes', 'maxBatchMessages',
  'maxInflightBytes', 'maxInflightBytesPerClient', 'maxConnectionsPerAddress',
  'minInvisibleMs', 'maxInvisibleMs', 'defaultInvisibleMs', 'maxInflightPerQueue', 'maxPollTimeoutMs', 'followerReadLagBytes',
  'timerMaxDelayMs', 'transactionTimeoutMs', 'transactionCheckIntervalMs', 'transactionCheckMax', 'transactionCommitWhenUnresolved',
  'diskSpaceWarningLevelRatio', 'diskSpaceResumeLevelRatio', 'diskMinFreeBytes', 'diskResumeFreeBytes', 'diskCriticalFreeBytes',
]);

/** Keys that name the node and its listeners: set in the config file, never by updateBrokerConfig. */
export const FIXED_KEYS: ReadonlySet<keyof BrokerConfig> = new Set<keyof BrokerConfig>([
  'cluster', 'group', 'nodeId', 'dataDir', 'host', 'brokerPort', 'httpPort', 'peers', 'initialClusterState', 'joinAsLearner', 'flushDiskType',
  'tlsMode', 'tlsCertFile', 'tlsKeyFile', 'tlsCaFile', 'clusterSecretFile', 'authMaxSkewMs',
  // A secret must not be written into config-overrides.json by a remote call.
  'aclAdminAccessKey', 'aclAdminSecretKey',
]);

/** Keys whose value is never shown in full (getBrokerConfig). */
const SECRET_KEYS: ReadonlySet<string> = new Set<keyof BrokerConfig>(['aclAdminSecretKey']);

const OVERRIDES_FILE = 'config-overrides.json';

/** One key as getBrokerConfig shows it. */
export interface ConfigEntry {
  key: string;
  value: unknown;
  defaultValue: unknown;
  /** `live`: a change applies at once; `restart`: at the next start; `fixed`: only in the config file. */
  applies: 'live' | 'restart' | 'fixed';
  /** Set by updateBrokerConfig (persisted in the overrides file). */
  overridden: boolean;
  /** A restart key changed since this process started: the running value differs from the persisted one. */
  pendingRestart: boolean;
}

/** The overrides persisted in `dataDir` (empty when none); throws BAD_REQUEST when the file is unreadable JSON. */
export function loadOverrides(dataDir: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(join(dataDir, OVERRIDES_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
  const parsed = JSON.parse(text) as unknown;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new LedgerError('BAD_REQUEST', `${OVERRIDES_FILE} must hold a JSON object`);
  // A plain object without a prototype: a key such as __proto__ stays a key.
  return Object.assign(Object.create(null) as Record<string, unknown>, parsed);
}

/** See the file comment. One per broker node; `config` is the object the services read. */
export class BrokerConfigEditor {
  private readonly overrides: Record<string, unknown>;
  /** Restart keys changed since start, with the value that applies at the next start. */
  private readonly pending = new Map<string, unknown>();

  constructor(
    private readonly config: BrokerConfig,
    private readonly dataDir: string,
  ) {
    this.overrides = loadOverrides(dataDir);
  }

  /** The keys persisted as overrides. */
  overriddenKeys(): string[] {
    return Object.keys(this.overrides);
  }

  /** Every key with its running value, default, how a change applies, and whether it is overridden. */
  describe(): ConfigEntry[] {
    const defaults = withDefaults({ group: '', nodeId: '', dataDir: '' }) as unknown as Record<string, unknown>;
    const running = this.config as unknown as Record<string, unknown>;
    return Object.keys(defaults).sort().map((key) => ({
      key,
      value: SECRET_KEYS.has(key) && running[key] !== '' ? maskSecret(String(running[key])) : running[key],
      defaultValue: FIXED_KEYS.has(key as keyof BrokerConfig) ? null : defaults[key],
      applies: FIXED_KEYS.has(key as keyof BrokerConfig) ? 'fixed' : LIVE_KEYS.has(key as keyof BrokerConfig) ? 'live' : 'restart',
      overridden: Object.hasOwn(this.overrides, key),
      pendingRestart: this.pending.has(key),
    }));
  }

  /**
   * Checks and persists `key = value`; a live key also changes the running config. Throws
   * BAD_REQUEST for an unknown or fixed key, a value of the wrong type, or one the config check
   * refuses (nothing is changed then).
   */
  update(key: string, value: unknown): { applies: 'live' | 'restart' } {
    if (FIXED_KEYS.has(key as keyof BrokerConfig)) throw new LedgerError('BAD_REQUEST', `${key} names the node or its listeners: change it in the config file and restart`);
    // The whole config with the change must pass the same check as a config file (types, ranges, rules between keys).
    parseBrokerConfig({ ...(this.config as unknown as Record<string, unknown>), [key]: value });
    const next = { ...this.overrides, [key]: value };
    const path = join(this.dataDir, OVERRIDES_FILE);
    const temporary = `${path}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(next, null, 2)}\n`);
    const fd = openSync(temporary, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, path);
    const dir = openSync(this.dataDir, 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
    this.overrides[key] = value;
    if (LIVE_KEYS.has(key as keyof BrokerConfig)) {
      (this.config as unknown as Record<string, unknown>)[key] = value;
      return { applies: 'live' };
    }
    if ((this.config as unknown as Record<string, unknown>)[key] === value) this.pending.delete(key);
    else this.pending.set(key, value);
    return { applies: 'restart' };
  }
}
