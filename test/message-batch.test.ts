/**
 * Issue 7, batch send (real processes, 3-node group): a batch is one request stored
 * all-or-nothing on one queue within the size limits, and our Producer batches concurrent single
 * sends transparently (each send keeps its own result; one bad message fails alone).
 */
import { expect } from 'chai';
import type { LedgerError } from '../lib/common/errors.js';
import { Producer } from '../lib/client/index.js';
import { outcomeCode, startCluster, storedCount } from './cluster-helpers.js';

type Cluster = Awaited<ReturnType<typeof startCluster>>;

describe('batch send: all-or-nothing batches and transparent batching of single sends (real processes)', function () {
  this.timeout(120_000);
  let cluster: Cluster;
  let producer: Producer;

  before(async () => {
    cluster = await startCluster({ nodes: 3, brokerOverrides: { defaultQueueCount: 4, maxBodyBytes: 64 * 1024, maxBatchMessages: 256 } });
    producer = new Producer({ nameServers: cluster.description.namesrv });
  });

  after(async () => {
    producer?.shutdown();
    await cluster?.dispose();
  });

  it('stores a batch on one queue at consecutive offsets; refuses a whole batch with one bad message, or one too large', async () => {
    const topic = 'BatchAllOrNothing';
    const results = await producer.sendBatch(Array.from({ length: 100 }, (_, i) => ({ topic, body: `m${i}` })));
    expect(new Set(results.map((r) => r.queueId)).size).to.equal(1);
    expect(results.map((r) => r.queueOffset - results[0].queueOffset)).to.deep.equal(results.map((_, i) => i));
    const bad = Array.from({ length: 10 }, (_, i) => ({ topic, body: i === 7 ? Buffer.alloc(64 * 1024 + 1) : `b${i}` }));
    expect(await outcomeCode(producer.sendBatch(bad, 0))).to.equal('MESSAGE_BODY_TOO_LARGE');
    expect(await outcomeCode(producer.sendBatch(Array.from({ length: 257 }, (_, i) => ({ topic, body: `x${i}` })), 0))).to.equal('PAYLOAD_TOO_LARGE');
    expect(await storedCount(cluster, topic)).to.equal(100);
  });

  it('concurrent single sends share batches; each gets its own result, and a bad one fails alone', async () => {
    const topic = 'BatchTransparent';
    const outcomes = await Promise.all(Array.from({ length: 200 }, (_, i) =>
      producer.send({ topic, body: i === 50 ? Buffer.alloc(64 * 1024 + 1) : `s${i}` }).then((r) => r, (error: LedgerError) => error.code)));
    const results = outcomes.filter((o) => typeof o !== 'string');
    expect(outcomes[50]).to.equal('MESSAGE_BODY_TOO_LARGE');
    expect(results).to.have.length(199);
    // Sends that shared a batch sit on one queue at consecutive offsets: far fewer runs than sends.
    const runs = results.filter((r, i) => i === 0 || r.queueId !== results[i - 1].queueId || r.queueOffset !== results[i - 1].queueOffset + 1).length;
    console.log(`      199 sends stored in ${runs} batches`);
    expect(runs).to.be.lessThan(50);
    expect(await storedCount(cluster, topic)).to.equal(199);
  });
});
