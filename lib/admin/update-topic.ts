import { LedgerError } from '../common/errors.js';
import { NameServerClient } from '../namesrv/name-server-client.js';
import { BrokerGateway } from '../client/broker-gateway.js';

export interface UpdateTopicOptions {
  namesrv: string[];
  topic: string;
  readQueues: number;
  writeQueues: number;
  perm: number;
}

/**
 * `ledgermq admin updateTopic`: creates or updates a topic on the leader of every broker group the
 * NameServers know. Prints one line per group; returns the process exit code (0 when every group
 * accepted it).
 */
export async function runUpdateTopic(options: UpdateTopicOptions): Promise<number> {
  const names = new NameServerClient(options.namesrv);
  const brokers = await names.getClusterInfo();
  const leaders = new Map<string, string>();
  for (const broker of brokers) if (broker.role === 'leader') leaders.set(broker.group, broker.brokerAddress);
  const groups = [...new Set(brokers.map((b) => b.group))];
  const gateway = new BrokerGateway({
    route: () => {
      throw new LedgerError('NOT_FOUND', 'not used');
    },
    groups: () => groups.map((group) => ({ cluster: '', group, leaderId: '', leaderAddress: leaders.get(group) ?? '', nodes: [], topics: [] })),
  });
  let failures = 0;
  try {
    if (groups.length === 0) {
      console.error('no broker group is registered with the NameServer(s)');
      return 1;
    }
    for (const group of groups) {
      try {
        const response = await gateway.updateTopic(group, {
          topic: { name: options.topic, readQueues: options.readQueues, writeQueues: options.writeQueues, perm: options.perm, messageTypes: [] },
        }, 5000);
        const topic = response.topic;
        console.log(`${group}: topic ${topic?.name ?? options.topic} read=${topic?.readQueues} write=${topic?.writeQueues} perm=${topic?.perm}`);
      } catch (error) {
        failures++;
        const code = error instanceof LedgerError ? error.code : 'ERROR';
        console.error(`${group}: ${code}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  } finally {
    gateway.close();
    names.close();
  }
  return failures === 0 ? 0 : 1;
}
