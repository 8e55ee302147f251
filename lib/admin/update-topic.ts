/**
 * `ledgermq admin updateTopic | deleteTopic | updateSubGroup | deleteSubGroup`: metadata changes
 * made on the leader of every broker group the NameServers know, or of one cluster's with `-c`
 * (each group replicates them through its Raft log). One line per group; the exit code is 0 only when every group accepted.
 */
import type { BrokerGateway } from '../client/broker-gateway.js';
import type { ClientTlsFiles } from '../security/tls-config.js';
import { ClientContext } from '../client/client-context.js';
import type { Credentials } from '../client/client-options.js';
import { LedgerError } from '../common/errors.js';
import { topicTypeLabel } from '../broker/message-types.js';

/** Deadline of one group's change. */
const CHANGE_TIMEOUT_MS = 5_000;

/** Where a change goes: every broker group the NameServers know, or those of one cluster (`-c`). */
export interface ChangeTarget {
  namesrv: string[];
  /** TLS to the NameServers and brokers; absent: plaintext. */
  tls?: ClientTlsFiles;
  /** Signs every broker call (brokers with aclEnabled: an admin user). */
  credentials?: Credentials;
  /** RocketMQ's brokerClusterName; empty: every cluster. */
  cluster?: string;
}

export interface UpdateTopicOptions extends ChangeTarget {
  topic: string;
  readQueues: number;
  writeQueues: number;
  perm: number;
  /** apache.rocketmq.v2.MessageType values the topic accepts; empty keeps the current (NORMAL for a new topic). */
  messageTypes?: number[];
}

/**
 * Runs `change` on every broker group, printing its line or the group's error; returns the exit
 * code (1 when no group is registered or any group refused).
 */
export async function onEveryGroup(target: ChangeTarget, change: (gateway: BrokerGateway, group: string) => Promise<string>): Promise<number> {
  const client = new ClientContext({ nameServers: target.namesrv, tls: target.tls, credentials: target.credentials });
  let failures = 0;
  try {
    // Leaders as the NameServers' route logic picks them (highest term), followed on NOT_LEADER.
    const groups = (await client.routes.groups()).filter((g) => !target.cluster || g.cluster === target.cluster).map((g) => g.group);
    if (groups.length === 0) {
      console.error(target.cluster ? `no broker group of cluster ${target.cluster} is registered with the NameServer(s)` : 'no broker group is registered with the NameServer(s)');
      return 1;
    }
    for (const group of groups) {
      try {
        console.log(`${group}: ${await change(client.gateway, group)}`);
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

/** Creates or updates a topic on every group. */
export function runUpdateTopic(options: UpdateTopicOptions): Promise<number> {
  return onEveryGroup(options, async (gateway, group) => {
    const { topic } = await gateway.updateTopic(group, {
      topic: { name: options.topic, readQueues: options.readQueues, writeQueues: options.writeQueues, perm: options.perm, messageTypes: options.messageTypes ?? [] },
    }, CHANGE_TIMEOUT_MS);
    return `topic ${topic?.name ?? options.topic} read=${topic?.readQueues} write=${topic?.writeQueues} perm=${topic?.perm} message.type=${topicTypeLabel(topic?.messageTypes ?? [])}`;
  });
}

/** Deletes a topic on every group (its queues and every group's progress on it); its metrics series go too. */
export function runDeleteTopic(options: ChangeTarget & { topic: string }): Promise<number> {
  return onEveryGroup(options, async (gateway, group) => {
    await gateway.deleteTopic(group, { name: options.topic }, CHANGE_TIMEOUT_MS);
    return `topic ${options.topic} deleted`;
  });
}

/**
 * Creates or updates a subscription group on every broker group. `retryMaxTimes` is RocketMQ's:
 * deliveries = retries + 1; undefined keeps the current value (the broker default for a new group).
 */
export function runUpdateSubGroup(options: ChangeTarget & { group: string; retryMaxTimes?: number; consumeOrderly?: boolean }): Promise<number> {
  return onEveryGroup(options, async (gateway, brokerGroup) => {
    const maxDeliveryAttempts = options.retryMaxTimes === undefined ? 0 : options.retryMaxTimes + 1;
    const consumeOrderlyChange = options.consumeOrderly === undefined ? 'CONSUME_ORDERLY_KEEP' : options.consumeOrderly ? 'CONSUME_ORDERLY_ON' : 'CONSUME_ORDERLY_OFF';
    const { group } = await gateway.updateGroup(brokerGroup, { group: { name: options.group, maxDeliveryAttempts }, consumeOrderlyChange }, CHANGE_TIMEOUT_MS);
    const backoff = group?.retryBackoff;
    return `group ${group?.name ?? options.group} retryMaxTimes=${(group?.maxDeliveryAttempts ?? 1) - 1} consumeOrderly=${group?.consumeOrderly === true} backoff=${backoff ? `${backoff.initialMs}ms x${backoff.multiplier} max ${backoff.maxMs}ms` : '-'}`;
  });
}

/** Deletes a subscription group (config and progress) on every broker group. */
export function runDeleteSubGroup(options: ChangeTarget & { group: string }): Promise<number> {
  return onEveryGroup(options, async (gateway, group) => {
    await gateway.deleteGroup(group, { name: options.group }, CHANGE_TIMEOUT_MS);
    return `group ${options.group} deleted`;
  });
}
