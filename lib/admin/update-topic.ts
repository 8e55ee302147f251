import { LedgerError } from '../common/errors.js';
import { ClientContext } from '../client/client-context.js';

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
  const client = new ClientContext({ nameServers: options.namesrv });
  const gateway = client.gateway;
  let failures = 0;
  try {
    // Leaders as the NameServers' route logic picks them (highest term), followed on NOT_LEADER.
    const groups = (await client.routes.groups()).map((g) => g.group);
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
    client.close();
  }
  return failures === 0 ? 0 : 1;
}
