/**
 * Acceptance: a broker process whose CommitLog was damaged while it was down (issue 2). A segment
 * truncated in the middle of a record loses that record and everything after it, keeps everything
 * before, says what it cut, and goes on accepting and delivering new messages. A byte flipped in an
 * older record is detected on read, never served, and reported with its position.
 */
import { expect } from 'chai';
import { closeSync, openSync, readdirSync, readFileSync, readSync, statSync, truncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Producer, SimpleConsumer } from 'rocketmq-client-nodejs';
import { runUpdateTopic } from '../lib/admin/update-topic.js';
import { nodeDirectories } from '../lib/broker/broker-node.js';
import { startCluster, waitFor } from './cluster-helpers.js';

type Cluster = Awaited<ReturnType<typeof startCluster>>;

const pad = (i: number): string => String(i).padStart(2, '0');

/** The broker's pino log as records. */
function logRecords(file: string): Array<Record<string, unknown>> {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** The segment file holding `needle` and the needle's offset in it; the newest segment wins. */
function findInSegments(commitLogDir: string, needle: string): { file: string; offset: number; isLast: boolean } {
  const names = readdirSync(commitLogDir).filter((name) => /^\d+$/.test(name)).sort();
  for (let i = names.length - 1; i >= 0; i -= 1) {
    const file = join(commitLogDir, names[i]);
    const offset = readFileSync(file).indexOf(needle);
    if (offset >= 0) return { file, offset, isLast: i === names.length - 1 };
  }
  throw new Error(`${needle} is in no segment of ${commitLogDir}`);
}

async function status(address: string): Promise<Record<string, unknown>> {
  return (await (await fetch(`http://${address}/status`)).json()) as Record<string, unknown>;
}

/** Receives and acks until two receives in a row come back empty; returns bodies with their counts. */
async function drain(consumer: SimpleConsumer): Promise<Map<string, number>> {
  const received = new Map<string, number>();
  let quiet = 0;
  while (quiet < 2) {
    const messages = await consumer.receive(32, 20_000);
    if (messages.length === 0) quiet += 1;
    for (const m of messages) {
      received.set(m.body.toString(), (received.get(m.body.toString()) ?? 0) + 1);
      await consumer.ack(m);
    }
  }
  return received;
}

describe('a broker whose CommitLog was damaged while it was down', function () {
  this.timeout(240_000);
  let cluster: Cluster;
  let producer: Producer;
  const consumers: SimpleConsumer[] = [];

  before(async () => {
    cluster = await startCluster();
  });
  afterEach(async () => {
    for (const c of consumers.splice(0)) await c.shutdown().catch(() => undefined);
    await producer?.shutdown().catch(() => undefined);
  });
  after(async () => {
    await cluster?.dispose();
  });

  async function consumer(group: string, topic: string): Promise<SimpleConsumer> {
    const c = new SimpleConsumer({ endpoints: cluster.description.accessPoint, namespace: '', consumerGroup: group, subscriptions: new Map([[topic, '*']]), awaitDuration: 2000 });
    await waitFor(`consumer ${group} startup`, () => c.startup().then(() => true, () => false), 60_000);
    consumers.push(c);
    return c;
  }

  /** Creates a one-queue topic (so send order is log order) and sends `count` messages `<prefix>-NN`. */
  async function sendNumbered(topic: string, prefix: string, count: number, from = 0): Promise<string[]> {
    expect(await runUpdateTopic({ namesrv: cluster.description.namesrv, topic, readQueues: 1, writeQueues: 1, perm: 6 })).to.equal(0);
    producer = new Producer({ endpoints: cluster.description.accessPoint, namespace: '', topics: [topic] });
    await waitFor('producer startup', () => producer.startup().then(() => true, () => false), 60_000);
    const bodies: string[] = [];
    for (let i = from; i < from + count; i += 1) {
      await producer.send({ topic, tag: 't', body: Buffer.from(`${prefix}-${pad(i)}`) });
      bodies.push(`${prefix}-${pad(i)}`);
    }
    await producer.shutdown();
    return bodies;
  }

  it('keeps every record before a torn one, logs the cut, and delivers what is sent afterwards', async () => {
    const node = cluster.nodes[0];
    const sent = await sendNumbered('TornTopic', 'torn', 50);
    const before = await consumer('torn-acked-all', 'TornTopic');
    expect((await drain(before)).size).to.equal(50);
    await cluster.stopNode('n0', 'SIGKILL');

    const { file, offset, isLast } = findInSegments(nodeDirectories(node.dataDir).commitLog, 'torn-40');
    expect(isLast, 'torn-40 is in the last segment').to.equal(true);
    const segmentStart = Number(file.split('/').at(-1));
    truncateSync(file, offset + 3); // inside torn-40's body: its record is torn, every later one gone
    await cluster.startNode('n0');

    const cut = logRecords(node.logFile).find((r) => r.msg === 'commit log tail cut at recovery');
    expect(cut, 'the cut is logged').to.not.equal(undefined);
    const cutAt = Number(cut?.position);
    expect(cutAt).to.be.within(segmentStart, segmentStart + offset);
    expect(String(cut?.reason)).to.match(/torn/);
    const report = (await status(node.http)).recovery as { truncatedAtPosition: number };
    expect(report.truncatedAtPosition).to.equal(cutAt);

    const fresh = await drain(await consumer('torn-fresh', 'TornTopic'));
    expect([...fresh.keys()].sort(), 'a fresh group sees exactly the records before the torn one').to.deep.equal(sent.slice(0, 40));

    // New sends reuse the lost indexes and queue offsets: both groups must still get them.
    const later = await sendNumbered('TornTopic', 'later', 10);
    const afterCrash = await consumer('torn-acked-all', 'TornTopic');
    expect([...(await drain(afterCrash)).keys()].sort(), 'the group that had acked all 50 gets exactly the new messages').to.deep.equal(later);
    const freshAgain = await consumer('torn-fresh', 'TornTopic');
    expect([...(await drain(freshAgain)).keys()].sort()).to.deep.equal(later);
  });

  it('never serves a record with a flipped byte, reports its position, and keeps serving other topics', async () => {
    const node = cluster.nodes[0];
    const sent = await sendNumbered('FlipTopic', 'flip', 20);
    await cluster.stopNode('n0', 'SIGTERM');

    const { file, offset } = findInSegments(nodeDirectories(node.dataDir).commitLog, 'flip-10');
    const segmentStart = Number(file.split('/').at(-1));
    const fd = openSync(file, 'r+');
    try {
      const byte = Buffer.alloc(1);
      readSync(fd, byte, 0, 1, offset + 5);
      byte[0] ^= 0x01; // 'flip-10' becomes 'flip-00': a plausible body, caught only by its checksum
      writeSync(fd, byte, 0, 1, offset + 5);
    } finally {
      closeSync(fd);
    }
    expect(statSync(file).size).to.be.greaterThan(offset);
    await cluster.startNode('n0');

    const received = await drain(await consumer('flip-group', 'FlipTopic'));
    expect(received.has('flip-10'), 'the damaged record was served').to.equal(false);
    expect([...received.values()].every((n) => n === 1)).to.equal(true);
    // Everything before the damaged record is served; the queue stops at it rather than skip it.
    expect([...received.keys()].sort()).to.deep.equal(sent.slice(0, 10));

    const reports = logRecords(node.logFile).filter((r) => typeof r.msg === 'string' && r.msg.startsWith('CORRUPT MESSAGE'));
    expect(reports, 'reported once, however often it is read').to.have.length(1);
    const position = Number(reports[0].commitLogPosition);
    expect(segmentStart + offset + 5).to.be.within(position, position + Number(reports[0].size) - 1);
    const metrics = await (await fetch(`http://${node.http}/metrics`)).text();
    const corruptReads = /^ledgermq_store_corrupt_reads_total(?:\{[^}]*\})? (\d+)/m.exec(metrics);
    expect(Number(corruptReads?.[1]), 'corrupt reads counted').to.be.greaterThan(0);

    const other = await sendNumbered('FlipOtherTopic', 'other', 3);
    expect([...(await drain(await consumer('flip-other', 'FlipOtherTopic'))).keys()].sort()).to.deep.equal(other);
  });
});
