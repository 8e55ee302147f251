/**
 * Issue 7, transactional messages (real processes, 3-node group), with the official client
 * (Producer + TransactionChecker through the Proxy: EndTransaction, RecoverOrphanedTransactionCommand
 * over Telemetry) and ours (sendInTransaction + transactionChecker): a half message is invisible
 * until committed; a commit is delivered once, a rollback never; a transaction left open is
 * resolved by the producer's checker; one the checker cannot decide is rolled back after the
 * last check; a `kill -9` of the leader between the half message and the decision loses neither.
 */
import { expect } from 'chai';
import { Producer as OfficialProducer } from 'rocketmq-client-nodejs';
import type { MessageView } from 'rocketmq-client-nodejs';
import type { TransactionResolution as OfficialResolution } from 'rocketmq-client-nodejs/proto/apache/rocketmq/v2/definition_pb.js';
import type { LedgerError } from '../lib/common/errors.js';
import { Producer } from '../lib/client/index.js';
import type { TransactionResolution } from '../lib/client/index.js';
import type { Closable } from './cluster-helpers.js';
import { adminCli, killLeaderAndRestart, startCluster, startSimpleConsumer, waitFor } from './cluster-helpers.js';

type Cluster = Awaited<ReturnType<typeof startCluster>>;

/** apache.rocketmq.v2.TransactionResolution values. */
const COMMIT = 1 as OfficialResolution;
const ROLLBACK = 2 as OfficialResolution;
const UNSPECIFIED = 0 as OfficialResolution;

/** What a checker answers for a body: "commit-..." commits, "rollback-..." rolls back, anything else: undecided. */
function decide(body: string): TransactionResolution {
  return body.startsWith('commit-') ? 'COMMIT' : body.startsWith('rollback-') ? 'ROLLBACK' : 'UNKNOWN';
}

describe('transactional messages: half messages, commit, rollback, checks, failover (real processes)', function () {
  this.timeout(240_000);
  let cluster: Cluster;
  const owned: Closable[] = [];

  before(async () => {
    cluster = await startCluster({
      nodes: 3,
      brokerOverrides: { defaultQueueCount: 2, transactionTimeoutMs: 2_000, transactionCheckIntervalMs: 1_000, transactionCheckMax: 8 },
    });
  });

  after(async () => {
    for (const closable of owned.splice(0)) await closable.shutdown().catch(() => undefined);
    await cluster?.dispose();
  });

  async function transactionTopic(topic: string): Promise<void> {
    const created = await adminCli(cluster, 'updateTopic', '-t', topic, '-r', '2', '-w', '2', '-a', '+message.type=TRANSACTION');
    expect(created.code, created.stderr).to.equal(0);
  }

  /** Bodies a new official SimpleConsumer group receives within `forMs` (each counted). */
  async function receivedWithin(group: string, topic: string, forMs: number, until?: (seen: Map<string, number>) => boolean): Promise<Map<string, number>> {
    const consumer = await startSimpleConsumer(cluster, group, topic, owned);
    const seen = new Map<string, number>();
    const deadline = Date.now() + forMs;
    while (Date.now() < deadline && !(until?.(seen) ?? false)) {
      for (const message of await consumer.receive(32, 10_000).catch(() => [] as MessageView[])) {
        const body = message.body.toString();
        seen.set(body, (seen.get(body) ?? 0) + 1);
        await consumer.ack(message).catch(() => undefined);
      }
    }
    return seen;
  }

  it('official client: commit delivers, rollback drops, open transactions resolved by the checker, leader killed mid-transaction', async () => {
    const topic = 'TxOfficial';
    await transactionTopic(topic);
    const checked: string[] = [];
    const producer = new OfficialProducer({
      endpoints: cluster.description.accessPoint, namespace: '', topics: [topic],
      checker: {
        check(message: MessageView): Promise<OfficialResolution> {
          const body = message.body.toString();
          checked.push(body);
          const decision = decide(body);
          return Promise.resolve(decision === 'COMMIT' ? COMMIT : decision === 'ROLLBACK' ? ROLLBACK : UNSPECIFIED);
        },
      },
    });
    await producer.startup();
    owned.push(producer);
    const sendInTransaction = async (body: string): Promise<ReturnType<OfficialProducer['beginTransaction']>> => {
      const transaction = producer.beginTransaction();
      await producer.send({ topic, body: Buffer.from(body) }, transaction);
      return transaction;
    };
    await (await sendInTransaction('committed-1')).commit();
    await (await sendInTransaction('rolled-back-1')).rollback();
    // Left open: the broker asks the checker, which commits one and rolls back the other.
    await sendInTransaction('commit-by-check');
    await sendInTransaction('rollback-by-check');
    // Open while the leader is killed, then decided by the application (or, when the failover
    // outlasts the 2 s check delay, by the checker first: both decide the same).
    const beforeKillCommit = await sendInTransaction('commit-across-kill');
    const beforeKillRollback = await sendInTransaction('rollback-across-kill');
    // Nothing is visible before its commit.
    const early = await receivedWithin('tx-official-early', topic, 1_000);
    expect([...early.keys()].filter((b) => b !== 'committed-1')).to.deep.equal([]);
    await killLeaderAndRestart(cluster);
    await waitFor('commit after the failover', () => beforeKillCommit.commit().then(() => true, () => false), 30_000);
    await waitFor('rollback after the failover', () => beforeKillRollback.rollback().then(() => true, () => false), 30_000);
    const expected = ['committed-1', 'commit-by-check', 'commit-across-kill'];
    const seen = await receivedWithin('tx-official', topic, 30_000, (s) => expected.every((b) => s.has(b)));
    await new Promise((resolve) => setTimeout(resolve, 3_000)); // time for a wrong delivery to show
    for (const body of expected) expect(seen.get(body), body).to.equal(1);
    expect([...seen.keys()].filter((b) => !expected.includes(b))).to.deep.equal([]);
    expect(checked).to.include.members(['commit-by-check', 'rollback-by-check']);
    // A transaction the application decided at once is never checked.
    expect(checked.filter((b) => ['committed-1', 'rolled-back-1'].includes(b))).to.deep.equal([]);
  });

  it('our client: sendInTransaction commits and rolls back (also across a leader kill); the checker resolves open ones; an undecided one is rolled back after the last check', async () => {
    const topic = 'TxOurs';
    await transactionTopic(topic);
    const checks = new Map<string, number>();
    const producer = new Producer({
      nameServers: cluster.description.namesrv,
      transactionChecker: {
        topics: [topic],
        check: (message) => {
          const body = message.body.toString();
          checks.set(body, (checks.get(body) ?? 0) + 1);
          return decide(body);
        },
      },
    });
    owned.push({ shutdown: () => Promise.resolve(producer.shutdown()) });
    const committed = await producer.sendInTransaction({ topic, body: 'local-commit' }, () => 'COMMIT');
    expect(committed.resolution).to.equal('COMMIT');
    expect(committed.sent.transactionId).to.be.a('string');
    await producer.sendInTransaction({ topic, body: 'local-rollback' }, () => 'ROLLBACK');
    await producer.sendInTransaction({ topic, body: 'commit-later' }, () => 'UNKNOWN');
    await producer.sendInTransaction({ topic, body: 'rollback-later' }, () => { throw new Error('the local transaction failed'); });
    // The leader killed while the local transactions run: the decisions reach the new leader.
    const acrossKill = await producer.sendInTransaction({ topic, body: 'local-commit-across-kill' }, async (): Promise<TransactionResolution> => {
      await killLeaderAndRestart(cluster);
      return 'COMMIT';
    });
    expect(acrossKill.resolution).to.equal('COMMIT');
    await producer.sendInTransaction({ topic, body: 'local-rollback-across-kill' }, async (): Promise<TransactionResolution> => {
      await killLeaderAndRestart(cluster);
      return 'ROLLBACK';
    });
    // Sent after the kills, so that its checks meet a stable leader. A check made while the
    // producer's watch reconnects after a failover is counted but unanswered (as in RocketMQ, where
    // a check finding no producer still counts): 8 checks 1 s apart outlast two failovers, where 3
    // did not on a loaded CI machine (0 seen; 'commit-later' rolled back unchecked).
    const undecided = await producer.sendInTransaction({ topic, body: 'never-decided' }, () => 'UNKNOWN');
    const seen = await receivedWithin('tx-ours', topic, 30_000, (s) => s.has('local-commit') && s.has('commit-later') && s.has('local-commit-across-kill'));
    // The undecided one: 8 checks (2 s, then every 1 s), then rolled back: no transaction stays open.
    await waitFor('every transaction ended', async () => {
      const open = await Promise.all(cluster.nodes.map((n) => cluster.nodeStatus(n.id).then((s) => Number(s.openTransactions), () => -1)));
      return open.every((n) => n === 0) || undefined;
    }, 30_000);
    const probe = await producer.endTransaction(topic, undecided.sent, true, false).then(() => 'OK', (e: LedgerError) => e.message);
    expect(probe).to.contain('already rolled back');
    // 8 checks (one may go unanswered while a watch reconnects; it still counts).
    expect(checks.get('never-decided')).to.be.within(1, 8);
    expect(checks.has('local-commit')).to.equal(false);
    const more = await receivedWithin('tx-ours', topic, 2_000);
    for (const [body, n] of more) seen.set(body, (seen.get(body) ?? 0) + n);
    expect(Object.fromEntries(seen)).to.deep.equal({ 'local-commit': 1, 'commit-later': 1, 'local-commit-across-kill': 1 });
    // Repeating a decision is harmless; the other decision is refused.
    await producer.endTransaction(topic, committed.sent, true, false);
    const refused = await producer.endTransaction(topic, committed.sent, false, false).then(() => 'OK', (e: LedgerError) => e.code);
    expect(refused).to.equal('INVALID_TRANSACTION_ID');
  });
});
