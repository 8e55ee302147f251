/**
 * How a broker node registers with the NameServers: the registration it sends (its role, term,
 * leader and topics, read at each round) and the channel it sends it on (TLS, cluster signature).
 */
import { BrokerRegistrar } from '../namesrv/broker-registrar.js';
import type { Logger } from '../common/logger.js';
import type { ClusterAuth } from '../security/cluster-auth.js';
import { internalClientTls } from '../security/tls-config.js';
import type { ServerTls } from '../security/tls-config.js';
import { channelCredentials } from '../security/transport-credentials.js';
import type { BrokerConfig } from './broker-config.js';
import type { ReplicatedLog } from './replicated-log.js';
import type { TopicTable } from './topic-table.js';
import type { RaftNodeSettings } from '../raft/driver/raft-node.js';

/** What {@link brokerRegistrar} reads. */
export interface RegistrationSource {
  config: BrokerConfig;
  brokerAddress: string;
  log: ReplicatedLog;
  topicTable: TopicTable;
  tls: ServerTls | null;
  clusterAuth: ClusterAuth | null;
  logger: Logger;
}

/** A registrar (not started) that registers this node with every configured NameServer. */
export function brokerRegistrar(source: RegistrationSource): BrokerRegistrar {
  const { config, brokerAddress, log, topicTable, clusterAuth } = source;
  return new BrokerRegistrar({
    nameServerAddresses: config.namesrv,
    credentials: channelCredentials(internalClientTls(source.tls)),
    intervalMs: config.registerIntervalMs,
    sign: clusterAuth === null ? null : (path) => clusterAuth.headersFor(config.nodeId, path),
    logger: source.logger,
    registration: () => {
      const view = log.leadership();
      return {
        cluster: config.cluster,
        group: config.group,
        nodeId: config.nodeId,
        brokerAddress,
        httpAddress: `${config.host}:${config.httpPort}`,
        role: view.role,
        term: view.term,
        leaderId: view.leaderId ?? '',
        leaderAddress: view.leaderAddress ?? '',
        commitIndex: view.commitIndex,
        topics: topicTable.topics().map((t) => ({ name: t.name, readQueues: t.readQueues, writeQueues: t.writeQueues, perm: t.perm, messageTypes: t.messageTypes })),
      };
    },
  });
}

/** The Raft driver's settings of a broker node: timings from its config, the rest fixed here. */
export function raftSettingsOf(config: BrokerConfig): RaftNodeSettings {
  return {
    tickMs: config.heartbeatIntervalMs,
    electionTicks: Math.max(2, Math.round(config.electionTimeoutMs / config.heartbeatIntervalMs)),
    heartbeatTicks: 1,
    maxInflightAppends: 64,
    maxEntriesPerAppend: 1024,
    maxAppendBytes: 4 * 1024 * 1024,
    proposalTimeoutMs: config.commitTimeoutMs,
    maxQueuedMessagesPerPeer: 4096,
    installMinEntries: config.installMinEntries,
    installChunkBytes: 4 * 1024 * 1024,
  };
}
