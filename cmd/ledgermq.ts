#!/usr/bin/env node
/** The `ledgermq` command: every process and operator tool of LedgerMQ behind one binary. */
import { parseProxyLimits } from '../lib/proxy/proxy-limits.js';
import type { ProxyLimits } from '../lib/proxy/proxy-limits.js';
import { Command, InvalidArgumentError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { parseBrokerConfig, parseConfigOverride, withDefaults } from '../lib/broker/broker-config.js';
import type { BrokerConfigInput } from '../lib/broker/broker-config.js';
import { BrokerNode } from '../lib/broker/broker-node.js';
import { loadOverrides } from '../lib/broker/broker-config-overrides.js';
import { createLogger } from '../lib/common/logger.js';
import { runDeleteSubGroup, runDeleteTopic, runUpdateSubGroup, runUpdateTopic } from '../lib/admin/update-topic.js';
import { runConsumerConnection, runConsumerProgress, runResetOffsetByTime } from '../lib/admin/consumer-commands.js';
import type { ConsumerCommandOptions } from '../lib/admin/consumer-commands.js';
import { runClusterList, runRaftStatus, runTopicList, runTopicRoute, runTopicStatus, runTransferLeader } from '../lib/admin/cluster-commands.js';
import type { ClusterCommandOptions } from '../lib/admin/cluster-commands.js';
import { runAddMember, runRemoveMember } from '../lib/admin/membership-commands.js';
import { runIndexQuery, runQueryMsgByOffset } from '../lib/admin/query-commands.js';
import { runBrokerStatus, runGetBrokerConfig, runUpdateBrokerConfig } from '../lib/admin/broker-commands.js';
import { runCheck } from '../lib/admin/check-command.js';
import { runLocalCluster } from '../lib/cluster/up-command.js';
import { NamesrvProcess } from '../lib/process/namesrv-process.js';
import { registerBenchCommands } from './bench-commands.js';
import { booleanFlag, nonNegativeInt, parseTopicAttributes, positiveInt } from './cli-values.js';
import { addClientTlsOptions, addServerTlsOptions, clientTlsFrom, registerCertsCommand, serverTlsFrom } from './tls-options.js';
import type { ClientTlsFlags, ServerTlsFlags } from './tls-options.js';
import { credentialsOf, registerAclCommands, withCredentialOptions } from './acl-commands.js';
import type { CredentialFlags } from './acl-commands.js';

/** The connection options of a client-side command: TLS and an ACL user's keys. */
const withClientOptions = (command: Command): Command => withCredentialOptions(addClientTlsOptions(command));

/** Stops `close` on SIGINT/SIGTERM, then exits. */
function exitOnSignal(close: () => Promise<void>): void {
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

const program = new Command();
program.name('ledgermq').description('LedgerMQ: a Raft-replicated message broker in the RocketMQ family');

addServerTlsOptions(program
  .command('namesrv'))
  .description('run a NameServer with the v2 Proxy (the official clients\' access point)')
  .option('--host <host>', 'address to bind', '127.0.0.1')
  .option('--port <port>', 'name service port', '9876')
  .option('--proxy-port <port>', 'v2 Proxy port (clients connect here)', '8081')
  .option('--http-port <port>', '/metrics, /healthz, /status', '5556')
  .option('--cluster-secret-file <file>', 'brokers must sign registrations with the secret in this file (their clusterSecretFile)')
  .option('--proxy-set <key=value>', 'set one Proxy limit (repeatable; keys and defaults: lib/proxy/proxy-limits.ts), e.g. --proxy-set maxInflightBytes=67108864', (value: string, list: string[]) => [...list, value], [] as string[])
  .action(async (options: { host: string; port: string; proxyPort: string; httpPort: string; clusterSecretFile?: string; proxySet: string[] } & ServerTlsFlags) => {
    let proxyLimits: Partial<ProxyLimits>;
    try {
      proxyLimits = parseProxyLimits(options.proxySet);
    } catch (error) {
      console.error(error instanceof Error ? error.message : String(error));
      process.exit(64);
    }
    const logger = createLogger('namesrv');
    const processHandle = await NamesrvProcess.start({
      host: options.host,
      port: Number(options.port),
      proxyPort: Number(options.proxyPort),
      httpPort: Number(options.httpPort),
      logger,
      clusterSecretFile: options.clusterSecretFile,
      tls: serverTlsFrom(options),
      proxyLimits,
    });
    exitOnSignal(() => processHandle.close());
  });

program
  .command('broker')
  .description('run one broker node')
  .requiredOption('--config <file>', 'JSON config file (keys and defaults: README, lib/broker/broker-config.ts)')
  .option('--set <key=value>', 'override one config key (repeatable; the value is JSON when it parses, e.g. --set nodeId=n1 --set brokerPort=10921)', (value: string, list: string[]) => [...list, value], [] as string[])
  .action(async (options: { config: string; set: string[] }) => {
    let input: BrokerConfigInput;
    try {
      const document = JSON.parse(readFileSync(options.config, 'utf8')) as Record<string, unknown>;
      // updateBrokerConfig's persisted changes, then --set (README, broker-config-overrides.ts).
      const dataDir = options.set.map(parseConfigOverride).find(([key]) => key === 'dataDir')?.[1] ?? document.dataDir;
      if (typeof dataDir === 'string') Object.assign(document, loadOverrides(dataDir));
      for (const assignment of options.set) {
        const [key, value] = parseConfigOverride(assignment);
        document[key] = value;
      }
      input = parseBrokerConfig(document);
    } catch (error) {
      console.error(`${options.config}: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(64);
    }
    const config = withDefaults(input);
    const logger = createLogger('broker', { group: config.group, node: config.nodeId });
    const node = await BrokerNode.start({
      config,
      logger,
      onFatal: (error) => {
        logger.fatal({ err: error }, 'fatal storage error; stopping the node');
        process.exit(70);
      },
    });
    exitOnSignal(() => node.close());
  });

program
  .command('up')
  .description('start a NameServer/Proxy and a broker group on 127.0.0.1; Ctrl-C stops everything')
  .option('--dir <dir>', 'data folder', './data')
  .option('--base-port <port>', 'first port; the others follow it', '9876')
  .option('--nodes <n>', 'nodes in the broker group (Raft-replicated when more than 1)', '3')
  .addOption(new Option('--no-auto-create', 'refuse unknown topics and groups (TOPIC_NOT_FOUND / CONSUMER_GROUP_NOT_FOUND)'))
  .addOption(new Option('--tls [mode]', 'TLS on every gRPC port (strict, or permissive: TLS and plaintext on client ports), mutual TLS between Raft peers; certificates from DIR/certs, created when missing').choices(['strict', 'permissive']))
  .action(async (options: { dir: string; basePort: string; nodes: string; autoCreate: boolean; tls?: true | 'strict' | 'permissive' }) => {
    const tls = options.tls === undefined ? 'off' : options.tls === true ? 'strict' : options.tls;
    await runLocalCluster({ dir: options.dir, basePort: Number(options.basePort), nodes: Number(options.nodes), autoCreate: options.autoCreate, tls });
  });

registerCertsCommand(program);

const admin = program.command('admin').description('operator commands (mqadmin style)');
changeCommand('updateTopic', 'create or update a topic on every broker group')
  .requiredOption('-t, --topic <topic>', 'topic name')
  .option('-r, --read-queues <n>', 'read queues', '8')
  .option('-w, --write-queues <n>', 'write queues', '8')
  .option('-p, --perm <perm>', 'permission bits: 2 write, 4 read, 6 both', '6')
  .option('-a, --attributes <attributes>', 'topic attributes, RocketMQ style: +message.type=NORMAL|FIFO|DELAY|TRANSACTION|MIXED (default: keep; NORMAL for a new topic)')
  .action(async (options: { namesrv: string; cluster: string; topic: string; readQueues: string; writeQueues: string; perm: string; attributes?: string } & ClientTlsFlags & CredentialFlags) => {
    process.exitCode = await runUpdateTopic({
      tls: clientTlsFrom(options), credentials: credentialsOf(options),
      messageTypes: parseTopicAttributes(options.attributes ?? ''),
      namesrv: options.namesrv.split(';').filter(Boolean),
      cluster: options.cluster,
      topic: options.topic,
      readQueues: Number(options.readQueues),
      writeQueues: Number(options.writeQueues),
      perm: Number(options.perm),
    });
  });

/** Flags every read command takes: NameServers and output format. */
type AdminFlags = { namesrv: string; output: string } & ClientTlsFlags & CredentialFlags;

/** An admin command with `-n NAMESRV` and `-o table|json`. */
function adminCommand(name: string, description: string): Command {
  return withClientOptions(admin
    .command(name)
    .description(description)
    .requiredOption('-n, --namesrv <addresses>', 'NameServer addresses, host:port;host:port')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table')));
}

/** The NameServer list, TLS, credentials and output format from `flags`. */
function adminTarget(flags: AdminFlags): { namesrv: string[]; output: 'table' | 'json'; tls: ReturnType<typeof clientTlsFrom>; credentials: ReturnType<typeof credentialsOf> } {
  return { namesrv: flags.namesrv.split(';').filter(Boolean), output: flags.output === 'json' ? 'json' : 'table', tls: clientTlsFrom(flags), credentials: credentialsOf(flags) };
}

function clusterCommand(name: string, description: string, withTopic: boolean, run: (options: ClusterCommandOptions & { topic: string }) => Promise<number>): void {
  const command = adminCommand(name, description);
  if (withTopic) command.requiredOption('-t, --topic <topic>', 'topic');
  command.action(async (flags: AdminFlags & { topic?: string }) => {
    process.exitCode = await run({ ...adminTarget(flags), topic: flags.topic ?? '' });
  });
}

/** An admin command that changes metadata: `-n NAMESRV` only (it prints one line per broker group). */
function changeCommand(name: string, description: string): Command {
  return withClientOptions(admin.command(name).description(description)
    .requiredOption('-n, --namesrv <addresses>', 'NameServer addresses, host:port;host:port')
    .option('-c, --cluster <cluster>', 'only the broker groups of this cluster (default: every group)', ''));
}

const nameServerList = (flags: { namesrv: string }): string[] => flags.namesrv.split(';').filter(Boolean);

registerAclCommands(changeCommand);

changeCommand('deleteTopic', "delete a topic on every broker group: its queues, every group's progress on it and its metrics series")
  .requiredOption('-t, --topic <topic>', 'topic name')
  .action(async (flags: { namesrv: string; cluster: string; topic: string } & ClientTlsFlags & CredentialFlags) => {
    process.exitCode = await runDeleteTopic({ tls: clientTlsFrom(flags), credentials: credentialsOf(flags), namesrv: nameServerList(flags), cluster: flags.cluster, topic: flags.topic });
  });

changeCommand('updateSubGroup', 'create or update a subscription (consumer) group on every broker group')
  .requiredOption('-g, --group <group>', 'consumer group')
  .option('-r, --retry-max-times <n>', 'redeliveries before the dead-letter queue (default: keep, or the broker default 16)', nonNegativeInt)
  .option('--consume-orderly <true|false>', 'FIFO consumption: each queue hands out its next message only after the previous one is acked or dead-lettered (default: keep; false for a new group)', booleanFlag)
  .action(async (flags: { namesrv: string; cluster: string; group: string; retryMaxTimes?: number; consumeOrderly?: boolean } & ClientTlsFlags & CredentialFlags) => {
    process.exitCode = await runUpdateSubGroup({
      tls: clientTlsFrom(flags), credentials: credentialsOf(flags), namesrv: nameServerList(flags), cluster: flags.cluster, group: flags.group, retryMaxTimes: flags.retryMaxTimes, consumeOrderly: flags.consumeOrderly,
    });
  });

changeCommand('deleteSubGroup', 'delete a subscription group and its consumer progress on every broker group')
  .requiredOption('-g, --group <group>', 'consumer group')
  .action(async (flags: { namesrv: string; cluster: string; group: string } & ClientTlsFlags & CredentialFlags) => {
    process.exitCode = await runDeleteSubGroup({ tls: clientTlsFrom(flags), credentials: credentialsOf(flags), namesrv: nameServerList(flags), cluster: flags.cluster, group: flags.group });
  });

clusterCommand('clusterList', 'every live broker node: group, role, term, commit index, last heartbeat', false, runClusterList);
clusterCommand('topicList', 'every topic of every broker group, retry and dead-letter topics included', false, runTopicList);
clusterCommand('topicRoute', "a topic's route: broker groups, leaders, nodes, queue counts", true, runTopicRoute);
clusterCommand('topicStatus', "a topic's queues: min and max offset, last store time", true, runTopicStatus);
clusterCommand('raftStatus', "each broker group's leader, term, and every member's commit, applied and match index and lag (exit 1 without a leader)", false, runRaftStatus);

adminCommand('transferLeader', "hands a broker group's leadership to another member (default: a follower holding every committed entry)")
  .requiredOption('-b, --broker-group <group>', 'broker group (RocketMQ brokerName)')
  .option('--to <nodeId>', 'the member to lead next')
  .action(async (flags: AdminFlags & { brokerGroup: string; to?: string }) => {
    process.exitCode = await runTransferLeader({ ...adminTarget(flags), brokerGroup: flags.brokerGroup, to: flags.to ?? '' });
  });

/** A per-node admin command: `-b GROUP` and optionally `--node NODE`. */
function nodeCommand(name: string, description: string): Command {
  return adminCommand(name, description)
    .requiredOption('-b, --broker-group <group>', 'broker group (RocketMQ brokerName)')
    .option('--node <nodeId>', 'one member only (default: every member)', '');
}

type NodeFlags = AdminFlags & { brokerGroup: string; node: string };

nodeCommand('brokerStatus', "each member's role, indexes, storage, memory and load (from its /status)").action(async (flags: NodeFlags) => {
  process.exitCode = await runBrokerStatus({ ...adminTarget(flags), brokerGroup: flags.brokerGroup, node: flags.node });
});

nodeCommand('getBrokerConfig', "each member's config: value, default, whether a change applies live or at restart, and whether it is overridden")
  .option('-k, --key <key>', 'one key only', '')
  .action(async (flags: NodeFlags & { key: string }) => {
    process.exitCode = await runGetBrokerConfig({ ...adminTarget(flags), brokerGroup: flags.brokerGroup, node: flags.node, key: flags.key });
  });

nodeCommand('updateBrokerConfig', 'sets one config key on each member, persisted in its data folder (live keys apply at once, others at restart)')
  .requiredOption('-k, --key <key>', 'config key')
  .requiredOption('-v, --value <value>', 'new value (JSON; a bare word is a string)')
  .action(async (flags: NodeFlags & { key: string; value: string }) => {
    process.exitCode = await runUpdateBrokerConfig({ ...adminTarget(flags), brokerGroup: flags.brokerGroup, node: flags.node, key: flags.key, value: flags.value });
  });

/** A store-time bound: ms since the epoch or ISO 8601. */
function timeArgument(value: string): number {
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms) || ms < 0) throw new InvalidArgumentError(`expected ms since the epoch or an ISO 8601 time, got ${value}`);
  return ms;
}

type IndexQueryFlags = AdminFlags & { max: number; node: string };

function indexQueryCommand(name: string, description: string): Command {
  return adminCommand(name, description)
    .option('--max <n>', 'messages at most per broker group (1..64)', positiveInt, 32)
    .option('--node <node>', 'ask this node (nodeId or group/nodeId; a follower answers from its own index) instead of every group\'s leader', '');
}

indexQueryCommand('queryMsgByKey', "messages of a topic carrying a key (RocketMQ's KEYS), oldest first, from the message index")
  .requiredOption('-t, --topic <topic>', 'topic')
  .requiredOption('-k, --key <key>', 'message key')
  .option('--begin <time>', 'stored at or after (ms since the epoch or ISO 8601)', timeArgument, 0)
  .option('--end <time>', 'stored at or before (ms since the epoch or ISO 8601)', timeArgument, 0)
  .action(async (flags: IndexQueryFlags & { topic: string; key: string; begin: number; end: number }) => {
    process.exitCode = await runIndexQuery({ ...adminTarget(flags), topic: flags.topic, key: flags.key, messageId: '', beginMs: flags.begin, endMs: flags.end, maxMessages: flags.max, node: flags.node });
  });

indexQueryCommand('queryMsgById', 'a message by its message id (every stored copy: a retried send may be stored twice)')
  .requiredOption('-i, --id <messageId>', 'message id')
  .option('-t, --topic <topic>', 'only copies stored in this topic', '')
  .action(async (flags: IndexQueryFlags & { id: string; topic: string }) => {
    process.exitCode = await runIndexQuery({ ...adminTarget(flags), topic: flags.topic, key: '', messageId: flags.id, beginMs: 0, endMs: 0, maxMessages: flags.max, node: flags.node });
  });

adminCommand('queryMsgByOffset', 'one stored message by topic, broker group, queue and offset')
  .requiredOption('-t, --topic <topic>', 'topic')
  .requiredOption('-b, --broker-group <group>', 'broker group (RocketMQ brokerName)')
  .requiredOption('-i, --queue-id <n>', 'queue id', nonNegativeInt)
  .requiredOption('--offset <n>', 'queue offset (RocketMQ: -o, here the output format)', nonNegativeInt)
  .action(async (flags: AdminFlags & { topic: string; brokerGroup: string; queueId: number; offset: number }) => {
    process.exitCode = await runQueryMsgByOffset({ ...adminTarget(flags), topic: flags.topic, brokerGroup: flags.brokerGroup, queueId: flags.queueId, offset: flags.offset });
  });

adminCommand('addMember', 'adds a node to a broker group: as a learner first, promoted to voter once caught up (start the node with joinAsLearner)')
  .requiredOption('-b, --broker-group <group>', 'broker group (RocketMQ brokerName)')
  .requiredOption('--id <nodeId>', "the new member's node id")
  .requiredOption('--raft-address <host:port>', "the new member's Raft address (its entry in peers)")
  .option('--catch-up-timeout-ms <ms>', 'give up when the learner has not caught up by then', positiveInt, 600_000)
  .option('--promote-lag <entries>', 'promote once the learner is at most this many entries behind', positiveInt, 100)
  .action(async (flags: AdminFlags & { brokerGroup: string; id: string; raftAddress: string; catchUpTimeoutMs: number; promoteLag: number }) => {
    process.exitCode = await runAddMember({
      ...adminTarget(flags), brokerGroup: flags.brokerGroup, nodeId: flags.id, raftAddress: flags.raftAddress, catchUpTimeoutMs: flags.catchUpTimeoutMs, promoteLagEntries: flags.promoteLag,
    });
  });

adminCommand('removeMember', 'removes a node from a broker group (leadership is handed over first when it leads); stop the node afterwards')
  .requiredOption('-b, --broker-group <group>', 'broker group (RocketMQ brokerName)')
  .requiredOption('--id <nodeId>', 'the member to remove')
  .option('--force', 'remove even when the voters left would not have a live majority', false)
  .action(async (flags: AdminFlags & { brokerGroup: string; id: string; force: boolean }) => {
    process.exitCode = await runRemoveMember({ ...adminTarget(flags), brokerGroup: flags.brokerGroup, nodeId: flags.id, force: flags.force });
  });

adminCommand('check', 'Raft health against thresholds; exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN')
  .option('--lag-warn <entries>', 'warn when a member is more entries behind the leader', positiveInt, 1_000)
  .option('--lag-crit <entries>', 'critical above this lag', positiveInt, 100_000)
  .option('--contact-warn-ms <ms>', 'warn when the leader has not heard from a member for longer', positiveInt, 1_000)
  .option('--contact-crit-ms <ms>', 'critical above this silence', positiveInt, 5_000)
  .action(async (flags: AdminFlags & { lagWarn: number; lagCrit: number; contactWarnMs: number; contactCritMs: number }) => {
    process.exitCode = await runCheck({
      ...adminTarget(flags),
      thresholds: { lagWarn: flags.lagWarn, lagCrit: flags.lagCrit, contactWarnMs: flags.contactWarnMs, contactCritMs: flags.contactCritMs },
    });
  });

type ConsumerFlags = AdminFlags & { group: string; topic: string };

function consumerCommand(name: string, description: string): Command {
  return adminCommand(name, description)
    .requiredOption('-g, --group <group>', 'consumer group')
    .requiredOption('-t, --topic <topic>', 'topic');
}

function consumerOptions(flags: ConsumerFlags): ConsumerCommandOptions {
  return { ...adminTarget(flags), group: flags.group, topic: flags.topic };
}

consumerCommand('consumerProgress', "a group's committed offset, queue bounds and lag per queue").action(async (flags: ConsumerFlags) => {
  process.exitCode = await runConsumerProgress(consumerOptions(flags));
});
consumerCommand('consumerConnection', "a group's live instances and the queues each owns").action(async (flags: ConsumerFlags) => {
  process.exitCode = await runConsumerConnection(consumerOptions(flags));
});
consumerCommand('resetOffsetByTime', "moves a group's progress to the first message stored at or after a time; running consumers follow")
  .requiredOption('-s, --time <time>', 'ms since the epoch, or ISO 8601 (2026-11-22T10:00:00Z)')
  .action(async (flags: ConsumerFlags & { time: string }) => {
    process.exitCode = await runResetOffsetByTime({ ...consumerOptions(flags), time: flags.time });
  });

registerBenchCommands(program);

await program.parseAsync(process.argv);
