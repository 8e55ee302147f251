import { totalmem } from 'node:os';
import { LedgerError } from '../common/errors.js';
import { receiveLimitOf } from '../common/receive-limit.js';
import { DEFAULT_DELAY_LEVELS } from './delay-levels.js';
import { DEFAULT_MAX_SKEW_MS } from '../security/request-signature.js';
import { checkServerTlsFiles } from '../security/tls-config.js';
import type { TlsMode } from '../security/tls-config.js';
import { validAclUser } from '../security/acl-user.js';

/**
 * Configuration of one broker node, with every default filled in one place ({@link withDefaults}).
 * A config file (`ledgermq broker --config FILE`) is JSON with these keys.
 */
export interface BrokerConfig {
  cluster: string;
  /** Broker group name (RocketMQ's brokerName). */
  group: string;
  nodeId: string;
  dataDir: string;
  host: string;
  brokerPort: number;
  /**
   * The group's members and their Raft addresses, DLedger style: `n0-host:port;n1-host:port;n2-host:port`
   * (this node's own entry included: it binds there). Empty: a group of one node, no Raft traffic.
   */
  peers: string;
  /** Base Raft election timeout; each timeout is drawn from [t, 2t). */
  electionTimeoutMs: number;
  /** Leader heartbeat interval; also the Raft tick. */
  heartbeatIntervalMs: number;
  /**
   * RocketMQ's flushDiskType. Only `SYNC_FLUSH` exists: an entry is acknowledged once fsynced on a
   * majority of the group. (An ASYNC mode would be weaker and is not offered.)
   */
  flushDiskType: 'SYNC_FLUSH';
  /**
   * etcd's initial-cluster-state. `new`: this node is created with its group, an empty store is
   * normal. `existing`: the group already runs; an empty store means this node lost its data (or
   * replaces a member), so it takes no part in elections until it has caught up. Start a wiped or
   * replaced node with `existing`, or it may help elect a leader that lacks committed entries.
   */
  initialClusterState: 'new' | 'existing';
  /**
   * This node is being added to a running group (admin `addMember`): it starts as a learner, with
   * `peers` naming the group's current members and itself, and takes its real membership from the
   * group's log. Implies `initialClusterState: existing`. Ignored once the node has applied a
   * membership that names it (it then knows its membership from its store, and once removed it
   * stays removed).
   */
  joinAsLearner: boolean;
  /** A write not committed within this time is answered MASTER_PERSISTENCE_TIMEOUT (outcome unknown). */
  commitTimeoutMs: number;
  /**
   * A follower at least this many entries behind the leader's commit index is streamed committed
   * entries in bulk (an install) instead of by appends. Compare DLedger's catch-up.
   */
  installMinEntries: number;
  httpPort: number;
  /** NameServers to register with ("host:port"). */
  namesrv: string[];
  registerIntervalMs: number;
  autoCreateTopics: boolean;
  autoCreateGroups: boolean;
  defaultQueueCount: number;
  maxBodyBytes: number;
  maxPropertyCount: number;
  maxPropertiesBytes: number;
  maxBatchMessages: number;
  maxBatchBytes: number;
  segmentSizeBytes: number;
  minInvisibleMs: number;
  maxInvisibleMs: number;
  /** Invisible time for pops that name none (push consumers with auto-renew). */
  defaultInvisibleMs: number;
  maxPollTimeoutMs: number;
  maxParkedPolls: number;
  /** Pulls in flight on one PullStream (one client connection's multiplexed pulls) at most. */
  maxPullsPerStream: number;
  maxInflightPerQueue: number;
  /** Deliveries before a message goes to `%DLQ%<group>`, for groups the broker creates. */
  maxDeliveryAttempts: number;
  /**
   * Retry backoff of pop consumers (official clients) for groups the broker creates: attempt n+1
   * comes `initial × multiplier^(n-1)` ms after a failure, at most `max` (RocketMQ's
   * ExponentialRetryPolicy defaults: 1 s, × 2, 2 h).
   */
  retryBackoffInitialMs: number;
  retryBackoffMaxMs: number;
  retryBackoffMultiplier: number;
  dispatchCheckpointIntervalMs: number;
  /**
   * Read rate of the background CommitLog scrub, which checks the CRC of every committed record
   * (a damaged one is refetched from the group). 0 turns the scrub off.
   */
  scrubBytesPerSecond: number;
  /**
   * A pull reading further than this many bytes behind the CommitLog end is answered with a
   * suggestion to read from a follower (RocketMQ: accessMessageInMemoryMaxRatio, 40% of memory).
   */
  followerReadLagBytes: number;
  /** Pause between scrub passes; the first pass starts when the node starts. 0: only that pass. */
  scrubIntervalMs: number;
  /**
   * A consumer client silent this long leaves its groups (their queues are rebalanced). Our client
   * heartbeats every second; RocketMQ's 120 s would leave a crashed consumer's queues idle for minutes.
   */
  consumerExpiryMs: number;
  /** Most (client, group) memberships the leader tracks; heartbeats past it are refused. */
  maxConsumerConnections: number;
  /**
   * Bytes of requests being read or processed (sends until committed and answered, pull and pop
   * answers until written) in the node at most; a request waits, unread, until the receive limit
   * fits under it (lib/common/inflight-budget.ts; RocketMQ's SYSTEM_BUSY when the wait is full).
   */
  maxInflightBytes: number;
  /**
   * Decoded request and answer bytes one client (its `x-mq-client-id`, else its connection) may
   * hold before its next request waits, so one client cannot take the node's whole budget.
   */
  maxInflightBytesPerClient: number;
  /** Connections open at once from one client IP address; one more is closed at once. */
  maxConnectionsPerAddress: number;
  /** Calls open at once on one connection (HTTP/2 max concurrent streams; the Proxy parks one per ReceiveMessage). */
  maxStreamsPerConnection: number;
  /** RocketMQ's messageDelayLevel: the delays of levels 1, 2, ... (retries start at level 3). */
  messageDelayLevel: string;
  /** Farthest a delayed message's delivery time may lie ahead (RocketMQ's timerMaxDelaySec; 40 days). */
  timerMaxDelayMs: number;
  /** An undecided transaction is first checked this long after its half message was stored (RocketMQ's transactionTimeOut). */
  transactionTimeoutMs: number;
  /** Then again every this long (RocketMQ's transactionCheckInterval). */
  transactionCheckIntervalMs: number;
  /** Checks at most (RocketMQ's transactionCheckMax); then the transaction is rolled back, or committed when transactionCommitWhenUnresolved. */
  transactionCheckMax: number;
  /** What an undecided transaction becomes after its last check (default false: rolled back, as RocketMQ discards it). */
  transactionCommitWhenUnresolved: boolean;
  /**
   * File holding the cluster secret (at least 16 characters; keep it mode 0600). With it, this
   * node signs its Raft calls and NameServer registrations and refuses Raft calls not signed with
   * the same secret. Empty: no peer authentication (anyone who reaches the Raft port is trusted).
   */
  clusterSecretFile: string;
  /** Largest difference allowed between a signed request's x-mq-date-time and this node's clock. */
  authMaxSkewMs: number;
  /**
   * TLS of the broker and Raft ports (lib/security/tls-config.ts): `off`, `permissive` (the broker
   * port takes TLS and plaintext) or `strict`. In both TLS modes the Raft port takes mutual TLS
   * only, and the node's calls to NameServers and peers use TLS with its certificate.
   */
  tlsMode: TlsMode;
  /** PEM certificate chain of this node (server, and client towards peers); needed unless tlsMode is off. */
  tlsCertFile: string;
  /** PEM private key of tlsCertFile. */
  tlsKeyFile: string;
  /** PEM CA of the cluster: peers' certificates must be signed by it, and NameServers' and peers' servers are checked against it. */
  tlsCaFile: string;
  /**
   * Access control (lib/security/README.md): every BrokerService call must be signed by a user
   * (MQv2-HMAC-SHA1 with its AccessKey/SecretKey) allowed to do it, or by a cluster member
   * (the cluster secret). Users live in the group's Raft log (admin updateUser). Default false.
   */
  aclEnabled: boolean;
  /**
   * A config-file admin, always allowed everything on this node and never stored in the log: the
   * way to create the first users. Both keys or neither (config file only; never shown in full).
   */
  aclAdminAccessKey: string;
  aclAdminSecretKey: string;
  /**
   * Disk-space watermarks (disk-space-monitor.ts). Producers' writes answer DISK_FULL while the
   * used share of the data dir's filesystem is above `diskSpaceWarningLevelRatio` (RocketMQ's name
   * and default, 0.90) or fewer than `diskMinFreeBytes` are free; they resume once the share is at
   * or below `diskSpaceResumeLevelRatio` (0.85, where RocketMQ clears its disk-full flag) and at
   * least `diskResumeFreeBytes` are free.
   */
  diskSpaceWarningLevelRatio: number;
  diskSpaceResumeLevelRatio: number;
  diskMinFreeBytes: number;
  diskResumeFreeBytes: number;
  /**
   * Under this many free bytes every write is refused (acks, offset commits, pops and other META
   * commands too) and a follower stops storing replicated entries; left at twice this. Pulls go on.
   */
  diskCriticalFreeBytes: number;
  /** How often the data dir's free space is sampled (also at once after an ENOSPC). */
  diskCheckIntervalMs: number;
}

/** Partial config as read from a file or flags. */
export type BrokerConfigInput = Partial<BrokerConfig> & Pick<BrokerConfig, 'group' | 'nodeId' | 'dataDir'>;

/** Fills every missing key with its default (RocketMQ's where RocketMQ has one). */
export function withDefaults(input: BrokerConfigInput): BrokerConfig {
  return {
    cluster: 'DefaultCluster',
    host: '127.0.0.1',
    brokerPort: 10911,
    peers: '',
    electionTimeoutMs: 300,
    heartbeatIntervalMs: 50,
    flushDiskType: 'SYNC_FLUSH',
    initialClusterState: 'new',
    joinAsLearner: false,
    commitTimeoutMs: 5_000,
    installMinEntries: 4096,
    httpPort: 5557,
    namesrv: ['127.0.0.1:9876'],
    registerIntervalMs: 30_000,
    autoCreateTopics: true,
    autoCreateGroups: true,
    defaultQueueCount: 8,
    maxBodyBytes: 4 * 1024 * 1024,
    maxPropertyCount: 128,
    maxPropertiesBytes: 16 * 1024,
    maxBatchMessages: 1024,
    maxBatchBytes: 8 * 1024 * 1024,
    segmentSizeBytes: 1024 * 1024 * 1024,
    minInvisibleMs: 1_000,
    maxInvisibleMs: 12 * 60 * 60 * 1000,
    defaultInvisibleMs: 60_000,
    maxPollTimeoutMs: 30_000,
    maxParkedPolls: 10_000,
    maxPullsPerStream: 4_096,
    maxInflightPerQueue: 20_000,
    maxDeliveryAttempts: 17,
    retryBackoffInitialMs: 1_000,
    retryBackoffMaxMs: 2 * 60 * 60 * 1000,
    retryBackoffMultiplier: 2,
    dispatchCheckpointIntervalMs: 1_000,
    scrubBytesPerSecond: 32 * 1024 * 1024,
    followerReadLagBytes: Math.floor(totalmem() * 0.4),
    scrubIntervalMs: 24 * 60 * 60 * 1000,
    consumerExpiryMs: 5_000,
    maxConsumerConnections: 100_000,
    maxInflightBytes: 128 * 1024 * 1024,
    maxInflightBytesPerClient: 64 * 1024 * 1024,
    maxConnectionsPerAddress: 1_000,
    maxStreamsPerConnection: 20_000,
    messageDelayLevel: DEFAULT_DELAY_LEVELS,
    timerMaxDelayMs: 40 * 24 * 60 * 60 * 1000,
    transactionTimeoutMs: 6_000,
    transactionCheckIntervalMs: 60_000,
    transactionCheckMax: 15,
    transactionCommitWhenUnresolved: false,
    clusterSecretFile: '',
    authMaxSkewMs: DEFAULT_MAX_SKEW_MS,
    tlsMode: 'off',
    tlsCertFile: '',
    tlsKeyFile: '',
    tlsCaFile: '',
    aclEnabled: false,
    aclAdminAccessKey: '',
    aclAdminSecretKey: '',
    diskSpaceWarningLevelRatio: 0.9,
    diskSpaceResumeLevelRatio: 0.85,
    diskMinFreeBytes: 256 * 1024 * 1024,
    diskResumeFreeBytes: 512 * 1024 * 1024,
    diskCriticalFreeBytes: 64 * 1024 * 1024,
    diskCheckIntervalMs: 1_000,
    ...input,
  };
}

/**
 * Parses `peers` (`id-host:port;...`) into id → Raft address. Throws LedgerError BAD_REQUEST on a
 * malformed entry, a duplicate id, or when `selfId` is not listed (unless `peers` is empty).
 */
export function parsePeers(peers: string, selfId: string): Map<string, string> {
  const members = new Map<string, string>();
  for (const part of peers.split(';').map((item) => item.trim()).filter(Boolean)) {
    const match = /^([A-Za-z0-9_]+)-([^:;\s]+):(\d{1,5})$/.exec(part);
    if (!match) throw new LedgerError('BAD_REQUEST', `peers entry "${part}" is not id-host:port`);
    const [, id, host, port] = match;
    if (members.has(id)) throw new LedgerError('BAD_REQUEST', `peers lists ${id} twice`);
    if (Number(port) < 1 || Number(port) > 65535) throw new LedgerError('BAD_REQUEST', `peers entry "${part}" has an invalid port`);
    members.set(id, `${host}:${port}`);
  }
  if (members.size > 0 && !members.has(selfId)) throw new LedgerError('BAD_REQUEST', `peers does not list this node (${selfId})`);
  return members;
}

/** Keys whose value is a list of strings (every other key is a number, string or boolean as its default). */
const STRING_LIST_KEYS: ReadonlySet<string> = new Set(['namesrv']);

/**
 * Checks a config document (a parsed JSON file plus `--set` overrides) key by key against the
 * defaults: unknown keys (a typo would otherwise be ignored silently), values of the wrong type,
 * and missing required keys are refused with LedgerError BAD_REQUEST naming the key.
 */
export function parseBrokerConfig(document: unknown): BrokerConfigInput {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) throw new LedgerError('BAD_REQUEST', 'broker config must be a JSON object');
  const defaults = withDefaults({ group: '', nodeId: '', dataDir: '' }) as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(document)) {
    if (!Object.hasOwn(defaults, key)) throw new LedgerError('BAD_REQUEST', `unknown broker config key "${key}" (known: ${Object.keys(defaults).sort().join(', ')})`);
    const expected = STRING_LIST_KEYS.has(key) ? 'string[]' : typeof defaults[key];
    const actual = Array.isArray(value) ? (value.every((item) => typeof item === 'string') ? 'string[]' : 'array') : typeof value;
    if (actual !== expected) throw new LedgerError('BAD_REQUEST', `broker config key "${key}" must be a ${expected}, got ${JSON.stringify(value)}`);
    if (expected === 'number' && !Number.isFinite(value)) throw new LedgerError('BAD_REQUEST', `broker config key "${key}" must be a finite number`);
  }
  const input = document as BrokerConfigInput;
  for (const key of ['group', 'nodeId', 'dataDir'] as const) {
    if (typeof input[key] !== 'string' || input[key] === '') throw new LedgerError('BAD_REQUEST', `broker config needs "${key}"`);
  }
  if (input.initialClusterState !== undefined && input.initialClusterState !== 'new' && input.initialClusterState !== 'existing') {
    throw new LedgerError('BAD_REQUEST', 'initialClusterState must be "new" or "existing"');
  }
  const config = withDefaults(input);
  checkRanges(config);
  checkServerTlsFiles({ mode: config.tlsMode, certFile: config.tlsCertFile, keyFile: config.tlsKeyFile, caFile: config.tlsCaFile }, 'broker config');
  return input;
}

/** Numeric keys that may be 0 (a switch-off or "no minimum"); every other number must be positive. */
const MAY_BE_ZERO: ReadonlySet<string> = new Set([
  'scrubBytesPerSecond', 'scrubIntervalMs', 'followerReadLagBytes', 'minInvisibleMs', 'retryBackoffInitialMs',
  'diskMinFreeBytes', 'diskResumeFreeBytes', 'diskCriticalFreeBytes',
]);
/** The numeric keys that are not integers. */
const FRACTIONAL: ReadonlySet<string> = new Set(['retryBackoffMultiplier', 'diskSpaceWarningLevelRatio', 'diskSpaceResumeLevelRatio']);

/** Per-key ranges and the rules between keys; BAD_REQUEST naming the key. */
function checkRanges(config: BrokerConfig): void {
  const bad = (message: string): LedgerError => new LedgerError('BAD_REQUEST', `broker config: ${message}`);
  for (const [key, value] of Object.entries(config)) {
    if (typeof value !== 'number') continue;
    if (!FRACTIONAL.has(key) && !Number.isSafeInteger(value)) throw bad(`${key} must be an integer, got ${value}`);
    if (value < 0 || (value === 0 && !MAY_BE_ZERO.has(key))) throw bad(`${key} must be ${MAY_BE_ZERO.has(key) ? 'zero or more' : 'positive'}, got ${value}`);
  }
  for (const key of ['brokerPort', 'httpPort'] as const) if (config[key] > 65535) throw bad(`${key} must be a port (1..65535), got ${config[key]}`);
  if (config.defaultQueueCount > 1024) throw bad(`defaultQueueCount must be 1..1024, got ${config.defaultQueueCount}`);
  if (config.maxDeliveryAttempts > 1000) throw bad(`maxDeliveryAttempts must be 1..1000, got ${config.maxDeliveryAttempts}`);
  if (config.retryBackoffMultiplier < 1) throw bad(`retryBackoffMultiplier must be 1 or more, got ${config.retryBackoffMultiplier}`);
  if (config.retryBackoffInitialMs > config.retryBackoffMaxMs) throw bad('retryBackoffInitialMs must not exceed retryBackoffMaxMs');
  if (config.minInvisibleMs > config.defaultInvisibleMs || config.defaultInvisibleMs > config.maxInvisibleMs) throw bad('invisible times must be minInvisibleMs <= defaultInvisibleMs <= maxInvisibleMs');
  if (config.maxInflightBytesPerClient > config.maxInflightBytes) throw bad('maxInflightBytesPerClient must not exceed maxInflightBytes');
  // A send is read on a grant of its receive limit (maxBatchBytes + 1 MiB): budgets under it would starve sends.
  const receiveLimit = receiveLimitOf(config.maxBatchBytes);
  if (config.maxInflightBytesPerClient < receiveLimit) throw bad(`maxInflightBytesPerClient (${config.maxInflightBytesPerClient}) must be at least maxBatchBytes + 1 MiB (${receiveLimit})`);
  if (config.maxBodyBytes > config.maxBatchBytes) throw bad(`maxBodyBytes (${config.maxBodyBytes}) must not exceed maxBatchBytes (${config.maxBatchBytes})`);
  if (config.electionTimeoutMs < 2 * config.heartbeatIntervalMs) throw bad('electionTimeoutMs must be at least twice heartbeatIntervalMs');
  if ((config.aclAdminAccessKey === '') !== (config.aclAdminSecretKey === '')) throw bad('aclAdminAccessKey and aclAdminSecretKey go together');
  if (config.aclAdminAccessKey !== '') {
    try {
      validAclUser({ accessKey: config.aclAdminAccessKey, secretKey: config.aclAdminSecretKey });
    } catch (error) {
      throw bad(`aclAdminAccessKey / aclAdminSecretKey: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  for (const key of ['diskSpaceWarningLevelRatio', 'diskSpaceResumeLevelRatio'] as const) if (config[key] > 1) throw bad(`${key} must be in (0, 1], got ${config[key]}`);
  if (config.diskSpaceResumeLevelRatio > config.diskSpaceWarningLevelRatio) throw bad('diskSpaceResumeLevelRatio must not exceed diskSpaceWarningLevelRatio');
  if (config.diskCriticalFreeBytes > config.diskMinFreeBytes || config.diskMinFreeBytes > config.diskResumeFreeBytes) {
    throw bad('disk watermarks must be diskCriticalFreeBytes <= diskMinFreeBytes <= diskResumeFreeBytes');
  }
}

/** One `--set key=value` override: the value is JSON when it parses (numbers, booleans, lists), else a string. */
export function parseConfigOverride(assignment: string): [string, unknown] {
  const equals = assignment.indexOf('=');
  if (equals <= 0) throw new LedgerError('BAD_REQUEST', `--set expects key=value, got "${assignment}"`);
  const raw = assignment.slice(equals + 1);
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    value = raw;
  }
  return [assignment.slice(0, equals), value];
}
