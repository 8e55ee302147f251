/**
 * The crash half of `ledgermq bench query`: the message index is "rebuilt after a crash by the
 * replay from the dispatch checkpoint" (lib/store/message-index.ts). A burst of keyed messages is
 * stored; right after its last acknowledgement one follower is killed with SIGKILL (its index
 * writes for the tail may not be committed, or not even made). While it is down its LMDB index is
 * opened read-only to count how many of the burst's keys it holds; then it is restarted (nothing
 * deleted), its `store recovered` log line gives the checkpoints replay starts from, and once it
 * has applied what the leader has, every message of the burst is queried on it by key and by id.
 */
import { stat } from 'node:fs/promises';
import { open as openLmdb } from 'lmdb';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import { nodeDirectories } from '../broker/broker-node.js';
import type { BrokerGateway } from '../client/broker-gateway.js';
import type { LocalCluster, NodeInfo } from '../cluster/local-cluster.js';
import { formatNumber } from '../common/text-table.js';
import { MessageIndex } from '../store/message-index.js';
import type { IndexedMessage } from '../store/message-index.js';
import { waitForEqualApplied } from './bench-cluster.js';
import { storeKeyedMessages } from './keyed-messages.js';
import type { KeyedMessages, StoreOptions, StoreResult } from './keyed-messages.js';
import { idCase, keyCase, runCasesConcurrently } from './query-checks.js';
import type { QueryCase, QueryTarget } from './query-checks.js';

/** How the crash phase runs. */
export interface CrashRebuildOptions extends Pick<StoreOptions, 'nameServers' | 'batchMessages' | 'window' | 'maxSeconds' | 'progressIntervalMs'> {
  /** Messages `from .. from + burst - 1` of the plan. */
  from: number;
  burst: number;
  /** Verification queries in flight on the restarted follower. */
  verifyInFlight: number;
  /** Bound on the restarted follower's catch-up. */
  catchUpTimeoutMs: number;
}

/** The checkpoints the restarted node logged (`store recovered`): replay starts at the older one. */
export interface RecoveredStore {
  appliedIndex: number;
  dispatchedIndex: number;
  /** Last entry in its CommitLog at the restart. */
  lastIndex: number;
}

/** What the crash phase saw. */
export interface CrashRebuildResult {
  nodeId: string;
  store: StoreResult;
  /** The leader's commit index just before the burst and just after the kill. */
  commitBefore: number;
  commitAfter: number;
  /** Of the burst's acknowledged messages, how many the killed node's index held while it was down (null: not readable). */
  indexedAtCrash: number | null;
  indexReadError: string | null;
  recovered: RecoveredStore | null;
  restartS: number;
  catchUpS: number;
  /** Queries made on the restarted node (a key and an id query per acknowledged burst message). */
  checked: number;
  wrong: number;
  problems: string[];
}

/** See the file comment. `follower` must be a follower of `leaderId`, running; it runs again at the end. */
export async function crashAndRebuild(cluster: LocalCluster, gateway: BrokerGateway, messages: KeyedMessages, leaderId: string, follower: NodeInfo, options: CrashRebuildOptions): Promise<CrashRebuildResult> {
  const commitBefore = Number((await cluster.nodeStatus(leaderId)).commitIndex);
  const to = options.from + options.burst;
  const store = await storeKeyedMessages(messages, {
    nameServers: options.nameServers, from: options.from, to, batchMessages: options.batchMessages, window: options.window,
    maxSeconds: options.maxSeconds, progressIntervalMs: options.progressIntervalMs, label: 'burst',
  });
  await cluster.stopNode(follower.id, 'SIGKILL');
  const commitAfter = Number((await cluster.nodeStatus(leaderId)).commitIndex);
  const acked: number[] = [];
  for (let i = options.from; i < store.issuedTo; i++) if (messages.state(i) === 'acked') acked.push(i);
  console.log(`burst: ${formatNumber(store.acked)} acknowledged in ${formatNumber(store.elapsedS, 1)} s (entries ${commitBefore + 1}..${commitAfter}); ${follower.id} killed with SIGKILL right after the last acknowledgement`);

  let indexedAtCrash: number | null = null;
  let indexReadError: string | null = null;
  try {
    indexedAtCrash = await countIndexed(nodeDirectories(follower.dataDir).meta, messages, acked);
    console.log(`while ${follower.id} is down its message index holds ${formatNumber(indexedAtCrash)} of the burst's ${formatNumber(acked.length)} keys`);
  } catch (error) {
    indexReadError = error instanceof Error ? error.message : String(error);
    console.log(`could not read ${follower.id}'s index while it was down: ${indexReadError}`);
  }

  const logOffset = (await stat(follower.logFile)).size;
  const restartAt = performance.now();
  await cluster.startNode(follower.id, 60_000);
  const restartS = (performance.now() - restartAt) / 1000;
  const recovered = await recoveredStore(follower.logFile, logOffset);
  const catchUpAt = performance.now();
  await waitForEqualApplied(cluster, options.catchUpTimeoutMs);
  const catchUpS = (performance.now() - catchUpAt) / 1000;
  console.log(`${follower.id} restarted in ${formatNumber(restartS, 1)} s` +
    (recovered ? ` (store recovered: dispatch checkpoint at entry ${recovered.dispatchedIndex}, applied checkpoint ${recovered.appliedIndex}, CommitLog up to ${recovered.lastIndex}: entries ${Math.min(recovered.dispatchedIndex, recovered.appliedIndex) + 1}..${recovered.lastIndex} replayed)` : ' (no store recovered line found in its log)') +
    `, caught up in ${formatNumber(catchUpS, 1)} s; checking every burst message on it by key and by id`);

  const target: QueryTarget = { nodeId: follower.id, address: follower.broker, http: follower.http, role: 'follower after kill -9' };
  const cases: QueryCase[] = acked.flatMap((i) => [keyCase(messages, i), idCase(messages, i)]);
  const results = await runCasesConcurrently(gateway, messages, target, cases, options.verifyInFlight);
  const problems = results.flatMap((r) => r.problems);
  return {
    nodeId: follower.id, store, commitBefore, commitAfter, indexedAtCrash, indexReadError, recovered, restartS, catchUpS,
    checked: cases.length, wrong: results.filter((r) => r.problems.length > 0).length, problems: problems.slice(0, 5),
  };
}

/** How many of messages `numbers` the (stopped) node's index finds by their unique key; opens its LMDB read-only. */
async function countIndexed(metaDir: string, messages: KeyedMessages, numbers: readonly number[]): Promise<number> {
  const root = openLmdb({ path: metaDir, readOnly: true, compression: false });
  try {
    const index = new MessageIndex(root.openDB<IndexedMessage, string>({ name: 'msgindex' }));
    let held = 0;
    for (const i of numbers) if (index.byKey(messages.plan.topic, messages.uniqueKey(i), 0, Number.MAX_SAFE_INTEGER, 1).length > 0) held += 1;
    return held;
  } finally {
    await root.close();
  }
}

/** The first `store recovered` line of a node's log after byte `offset`, or null. */
async function recoveredStore(logFile: string, offset: number): Promise<RecoveredStore | null> {
  const lines = createInterface({ input: createReadStream(logFile, { start: offset }), crlfDelay: Infinity });
  try {
    for await (const line of lines) {
      if (!line.includes('"store recovered"')) continue;
      const record = JSON.parse(line) as { applied?: { index?: unknown }; dispatched?: { index?: unknown }; lastIndex?: unknown };
      return { appliedIndex: Number(record.applied?.index), dispatchedIndex: Number(record.dispatched?.index), lastIndex: Number(record.lastIndex) };
    }
    return null;
  } finally {
    lines.close();
  }
}
