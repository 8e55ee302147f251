/** Helpers for tests that run real LedgerMQ processes on 127.0.0.1. */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Producer, SimpleConsumer } from 'rocketmq-client-nodejs';
import { LocalCluster } from '../lib/cluster/local-cluster.js';
import { LedgerError } from '../lib/common/errors.js';
import type { LocalClusterOptions } from '../lib/cluster/local-cluster.js';
import { PortBlocks } from '../lib/process/port-range.js';

/** Each test cluster gets a free block of 100 ports (a cluster uses base+0..2 and base+10i+10..12 per node). */
const portBlocks = new PortBlocks(100, process.pid * 7);

/** A LocalCluster in a fresh temp folder on its own port range; `dispose()` stops it and removes the folder (see LEDGERMQ_KEEP_TEST_DIRS). */
export async function startCluster(options: Partial<LocalClusterOptions> = {}): Promise<LocalCluster & { dispose: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'ledgermq-test-'));
  const basePort = await portBlocks.take();
  const cluster = new LocalCluster({ dir, basePort, nodes: 1, ...options });
  await cluster.start();
  return Object.assign(cluster, {
    dispose: async () => {
      await cluster.stop();
      // LEDGERMQ_KEEP_TEST_DIRS=1 keeps data and logs of every test cluster for debugging.
      if (process.env.LEDGERMQ_KEEP_TEST_DIRS) console.log(`test cluster kept in ${dir}`);
      else rmSync(dir, { recursive: true, force: true });
    },
  });
}

/** Polls `check` until it returns a value other than undefined/false, or throws at the deadline. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The `raft` part of a broker node's `/status`. */
export interface RaftStatus {
  role: string;
  commitIndex: number;
  lastIndex: number;
  catchingUp: boolean;
  /** The node is cutting its log at a damaged record and rebuilding its core (the cut comes after the repair count moved). */
  repairing: boolean;
  /** Entries this node stored from installs (bulk streams from the leader) since it started. */
  installedEntriesReceived: number;
  /** Times this node cut its log at a damaged record to refetch it, since it started. */
  repairs: number;
}

/** Reads the Raft state of node `id` from its `/status`. */
export async function raftStatus(cluster: LocalCluster, id: string): Promise<RaftStatus> {
  return (await cluster.nodeStatus(id)).raft as RaftStatus;
}

/** Something a test shuts down when it ends (official clients). */
export interface Closable {
  shutdown(): Promise<void>;
}

/** An official-client Producer for `topic` on the cluster's access point, started and added to `owned`. */
export async function startProducer(cluster: LocalCluster, topic: string, owned: Closable[]): Promise<Producer> {
  const producer = new Producer({ endpoints: cluster.description.accessPoint, namespace: '', topics: [topic] });
  await producer.startup();
  owned.push(producer);
  return producer;
}

/** An official-client SimpleConsumer of `group` on all of `topic` (2 s long polls), started and added to `owned`. */
export async function startSimpleConsumer(cluster: LocalCluster, group: string, topic: string, owned: Closable[]): Promise<SimpleConsumer> {
  const consumer = new SimpleConsumer({ endpoints: cluster.description.accessPoint, namespace: '', consumerGroup: group, subscriptions: new Map([[topic, '*']]), awaitDuration: 2000 });
  await consumer.startup();
  owned.push(consumer);
  return consumer;
}

/** What one `ledgermq admin` run printed, and its exit code. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `ledgermq admin ARGS -n <the cluster's NameServers>` as a child process, as an operator would. */
export async function adminCli(cluster: LocalCluster, ...args: string[]): Promise<CliResult> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['dist/cmd/ledgermq.js', 'admin', ...args, '-n', cluster.description.namesrv.join(';')]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/**
 * Consumes `topic` as a new group with the official SimpleConsumer until every body in `acked`
 * was received; fails naming the missing ones after `timeoutMs`.
 */
export async function expectAllDelivered(cluster: LocalCluster, group: string, topic: string, acked: ReadonlySet<string>, owned: Closable[], timeoutMs = 120_000): Promise<void> {
  const consumer = await startSimpleConsumer(cluster, group, topic, owned);
  const received = new Set<string>();
  await waitFor('every acknowledged message', async () => {
    for (const message of await consumer.receive(32, 20_000)) {
      received.add(message.body.toString());
      await consumer.ack(message);
    }
    return [...acked].every((body) => received.has(body));
  }, timeoutMs).catch((error: unknown) => {
    const missing = [...acked].filter((body) => !received.has(body));
    throw new Error(`${missing.length} acknowledged messages never delivered, e.g. ${missing.slice(0, 5).join(', ')}`, { cause: error });
  });
}

/** Kills the group's leader with SIGKILL, waits for another leader, then starts the killed node again. */
export async function killLeaderAndRestart(cluster: LocalCluster): Promise<string> {
  const leader = await waitFor('a leader', () => cluster.leaderId().then((id) => id ?? undefined));
  await cluster.stopNode(leader, 'SIGKILL');
  await waitFor('a new leader', () => cluster.leaderId().then((id) => (id !== null && id !== leader ? id : undefined)));
  await cluster.startNode(leader);
  return leader;
}

/** 'OK' when `operation` succeeds, else the LedgerError code it failed with (or the error's text). */
export function outcomeCode(operation: Promise<unknown>): Promise<string> {
  return operation.then(() => 'OK', (error: unknown) => (error instanceof LedgerError ? error.code : String(error)));
}

/** Messages stored in `topic`: the sum of its queues' max offsets (admin topicStatus). */
export async function storedCount(cluster: LocalCluster, topic: string): Promise<number> {
  const status = await adminCli(cluster, 'topicStatus', '-t', topic, '-o', 'json');
  if (status.code !== 0) throw new Error(`topicStatus ${topic} failed: ${status.stderr}`);
  return (JSON.parse(status.stdout) as Array<{ maxOffset: number }>).reduce((sum, q) => sum + q.maxOffset, 0);
}
