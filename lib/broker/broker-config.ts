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
  /** Raft port; null until lib/raft lands (a one-node group). */
  raftPort: number | null;
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
  maxInflightPerQueue: number;
  maxDeliveryAttempts: number;
  dispatchCheckpointIntervalMs: number;
}

/** Partial config as read from a file or flags. */
export type BrokerConfigInput = Partial<BrokerConfig> & Pick<BrokerConfig, 'group' | 'nodeId' | 'dataDir'>;

/** Fills every missing key with its default (RocketMQ's where RocketMQ has one). */
export function withDefaults(input: BrokerConfigInput): BrokerConfig {
  return {
    cluster: 'DefaultCluster',
    host: '127.0.0.1',
    brokerPort: 10911,
    raftPort: null,
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
    maxInflightPerQueue: 20_000,
    maxDeliveryAttempts: 17,
    dispatchCheckpointIntervalMs: 1_000,
    ...input,
  };
}
