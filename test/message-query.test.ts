/**
 * Issues 6 and 7, real processes: admin queryMsgByKey and queryMsgById from the message index, on
 * the leader and on a follower (each node indexes what it dispatches), within a store-time range,
 * after a follower is killed and replays its log, and after the topic is deleted.
 */
import { expect } from 'chai';
import { Producer } from '../lib/client/producer.js';
import type { CliResult } from './cluster-helpers.js';
import { adminCli, startCluster, waitFor } from './cluster-helpers.js';

type Cluster = Awaited<ReturnType<typeof startCluster>>;

interface Hit {
  messageId: string;
  keys: string[];
  body: string;
  brokerGroup: string;
  queueOffset: number;
  storeTimestampMs: number;
  answeredBy: string;
}

describe('admin queryMsgByKey / queryMsgById from the message index (real processes)', function () {
  this.timeout(120_000);
  let cluster: Cluster;
  let producer: Producer;

  before(async () => {
    cluster = await startCluster({ nodes: 3 });
    producer = new Producer({ nameServers: cluster.description.namesrv });
  });

  after(async () => {
    producer?.shutdown();
    await cluster?.dispose();
  });

  const hits = (result: CliResult): Hit[] => {
    expect(result.code, result.stderr).to.equal(0);
    return JSON.parse(result.stdout) as Hit[];
  };

  it('finds messages by key and by id on the leader and on a follower, within a time range, and again after a follower replays its log', async () => {
    const topic = 'IndexedTopic';
    expect((await adminCli(cluster, 'updateTopic', '-t', topic, '-r', '4', '-w', '4')).code).to.equal(0);
    const sent: Array<{ id: string; key: string }> = [];
    for (let i = 0; i < 200; i++) {
      const key = `order-${i % 20}`;
      const result = await producer.send({ topic, body: `payload-${i}`, keys: [key, `customer-${i % 7}`], tag: 't' });
      sent.push({ id: result.messageId, key });
    }
    const middle = Date.now();
    for (let i = 200; i < 220; i++) {
      const result = await producer.send({ topic, body: `payload-${i}`, keys: ['order-3'] });
      sent.push({ id: result.messageId, key: 'order-3' });
    }

    const byKey = hits(await adminCli(cluster, 'queryMsgByKey', '-t', topic, '-k', 'order-3', '-o', 'json'));
    expect(byKey.map((h) => Buffer.from(h.body, 'base64').toString()).sort()).to.deep.equal(
      sent.map((s, i) => ({ ...s, i })).filter((s) => s.key === 'order-3').map((s) => `payload-${s.i}`).sort(),
    );
    expect(byKey.every((h) => h.keys.includes('order-3'))).to.equal(true);
    const stored = byKey.map((h) => h.storeTimestampMs);
    expect(stored, 'oldest first').to.deep.equal([...stored].sort((a, b) => a - b));

    const late = hits(await adminCli(cluster, 'queryMsgByKey', '-t', topic, '-k', 'order-3', '--begin', String(middle), '-o', 'json'));
    expect(late).to.have.length(20);
    const capped = hits(await adminCli(cluster, 'queryMsgByKey', '-t', topic, '-k', 'order-3', '--max', '5', '-o', 'json'));
    expect(capped).to.have.length(5);

    const target = sent[123];
    const byId = hits(await adminCli(cluster, 'queryMsgById', '-i', target.id, '-o', 'json'));
    expect(byId.map((h) => h.messageId)).to.deep.equal([target.id]);
    expect(Buffer.from(byId[0].body, 'base64').toString()).to.equal('payload-123');

    const leader = await waitFor('a leader', () => cluster.leaderId().then((id) => id ?? undefined));
    const follower = cluster.nodes.find((n) => n.id !== leader)!.id;
    const fromFollower = hits(await adminCli(cluster, 'queryMsgByKey', '-t', topic, '-k', 'customer-5', '--max', '64', '--node', follower, '-o', 'json'));
    expect(fromFollower).to.have.length(sent.slice(0, 200).filter((_, i) => i % 7 === 5).length);
    expect(fromFollower.every((h) => h.answeredBy === follower)).to.equal(true);

    // A follower killed and restarted replays its log from its checkpoints: the index is whole again.
    await cluster.stopNode(follower, 'SIGKILL');
    await cluster.startNode(follower);
    await waitFor('the follower answering with every hit', async () => {
      const result = await adminCli(cluster, 'queryMsgById', '-i', sent[219].id, '--node', follower, '-o', 'json');
      return result.code === 0 && (JSON.parse(result.stdout) as Hit[]).length === 1;
    });

    const table = await adminCli(cluster, 'queryMsgByKey', '-t', topic, '-k', 'order-3', '--max', '2');
    expect(table.stdout).to.match(/MESSAGE ID/).and.to.match(/order-3/);
    const none = await adminCli(cluster, 'queryMsgByKey', '-t', topic, '-k', 'no-such-key');
    expect(none.code).to.equal(1);
    expect(none.stderr).to.match(/NOT_FOUND: no message of IndexedTopic with key no-such-key/);
    const bad = await adminCli(cluster, 'queryMsgByKey', '-t', topic, '-k', 'order-3', '--begin', 'yesterday-ish');
    expect(bad.code).to.not.equal(0);

    // A deleted topic's messages stay in the CommitLog, but queries leave them out.
    expect((await adminCli(cluster, 'deleteTopic', '-t', topic)).code).to.equal(0);
    const gone = await adminCli(cluster, 'queryMsgById', '-i', target.id);
    expect(gone.code).to.equal(1);
  });
});
