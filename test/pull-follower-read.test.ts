/**
 * Issue 5 (first step), real processes: PullMessages over the internal protocol. A leader answers
 * a pull far behind the log end with a follower to read from; the follower serves the same
 * messages in the same order; at the head it sends the consumer back to the leader; metrics
 * count what each node served.
 */
import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import type { BrokerServiceClient } from '../lib/gen/internal/ledgermq/v1/BrokerService.js';
import type { PullMessagesRequest } from '../lib/gen/internal/ledgermq/v1/PullMessagesRequest.js';
import type { PullMessagesResponse__Output } from '../lib/gen/internal/ledgermq/v1/PullMessagesResponse.js';
import { loadInternal } from '../lib/protocol/proto-definitions.js';
import { unaryCall } from '../lib/protocol/unary-call.js';
import { pullServed } from '../lib/bench/node-metrics.js';
import type { Closable } from './cluster-helpers.js';
import { startCluster, startProducer, waitFor } from './cluster-helpers.js';

type Cluster = Awaited<ReturnType<typeof startCluster>>;

describe('PullMessages and follower reads (real processes)', function () {
  this.timeout(120_000);
  let cluster: Cluster;
  const owned: Closable[] = [];
  const clients: BrokerServiceClient[] = [];

  before(async () => {
    // Any read more than 4 KiB behind the log end is sent to a follower.
    cluster = await startCluster({ nodes: 3, brokerOverrides: { followerReadLagBytes: 4096, defaultQueueCount: 1 } });
  });

  after(async () => {
    for (const client of clients) client.close();
    for (const closable of owned.splice(0)) await closable.shutdown().catch(() => undefined);
    await cluster?.dispose();
  });

  function brokerClient(address: string): BrokerServiceClient {
    const client = new (loadInternal().ledgermq.v1.BrokerService)(address, grpc.credentials.createInsecure());
    clients.push(client);
    return client;
  }

  function pull(address: string, request: Partial<PullMessagesRequest>): Promise<PullMessagesResponse__Output> {
    const client = brokerClient(address);
    return unaryCall(client, (req: PullMessagesRequest, options, callback) => client.PullMessages(req, options, callback), { group: 'pull-group', topic: 'PullTopic', queueId: 0, maxMessages: 64, pollTimeoutMs: 0, ...request }, 10_000);
  }

  it('sends a consumer far behind to a follower, which serves the same messages and returns it to the leader at the head', async () => {
    const producer = await startProducer(cluster, 'PullTopic', owned);
    const bodies: string[] = [];
    for (let i = 0; i < 200; i += 1) bodies.push(`pull-${String(i).padStart(4, '0')}-${'z'.repeat(100)}`);
    for (const body of bodies) await producer.send({ topic: 'PullTopic', tag: 't', body: Buffer.from(body) });
    const leaderId = await waitFor('a leader', () => cluster.leaderId().then((id) => id ?? undefined));
    const leader = cluster.nodes.find((n) => n.id === leaderId)!;
    // Every node has applied all 200 before the follower is asked.
    await waitFor('followers to apply everything', async () => {
      const applied = await Promise.all(cluster.nodes.map(async (n) => (await cluster.nodeStatus(n.id)).appliedIndex as number));
      return Math.min(...applied) === Math.max(...applied);
    });

    const fromLeader = await pull(leader.broker, { offset: 0 });
    expect(fromLeader.pullStatus).to.equal('FOUND');
    expect(fromLeader.messages.map((m) => m.message!.body.toString())).to.deep.equal(bodies.slice(0, 64));
    expect(fromLeader.suggestedNodeId, 'a follower suggested').to.not.equal('');
    expect(fromLeader.suggestedNodeId).to.not.equal(leaderId);
    const follower = cluster.nodes.find((n) => n.id === fromLeader.suggestedNodeId)!;
    expect(fromLeader.suggestedAddress).to.equal(follower.broker);

    // The rest from the follower, in order, until it has nothing newer.
    const received = fromLeader.messages.map((m) => m.message!.body.toString());
    let offset = Number(fromLeader.nextOffset);
    let answer: PullMessagesResponse__Output;
    for (;;) {
      answer = await pull(follower.broker, { offset });
      if (answer.pullStatus !== 'FOUND') break;
      expect(answer.messages.map((m) => Number(m.queueOffset))).to.deep.equal(answer.messages.map((_, i) => offset + i));
      received.push(...answer.messages.map((m) => m.message!.body.toString()));
      offset = Number(answer.nextOffset);
    }
    expect(received).to.deep.equal(bodies);
    expect(answer.pullStatus).to.equal('NO_NEW_MSG');
    expect(answer.suggestedNodeId, 'back to the leader at the head').to.equal(leaderId);
    expect(answer.suggestedAddress).to.equal(leader.broker);
    expect((await pullServed(follower.http)).follower).to.equal(200 - 64);
    expect((await pullServed(leader.http)).leader).to.equal(64);
  });

  it('answers OFFSET_ILLEGAL with the nearest valid offset, and long-polls at the head until a message arrives', async () => {
    const leaderId = (await cluster.leaderId())!;
    const leader = cluster.nodes.find((n) => n.id === leaderId)!;
    const beyond = await pull(leader.broker, { offset: 10_000 });
    expect(beyond.pullStatus).to.equal('OFFSET_ILLEGAL');
    expect(Number(beyond.nextOffset)).to.equal(Number(beyond.maxOffset));
    const head = Number(beyond.maxOffset);
    const startedAt = Date.now();
    const parked = pull(leader.broker, { offset: head, pollTimeoutMs: 5_000 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const producer = await startProducer(cluster, 'PullTopic', owned);
    await producer.send({ topic: 'PullTopic', tag: 't', body: Buffer.from('wake-up') });
    const woken = await parked;
    expect(woken.pullStatus).to.equal('FOUND');
    expect(woken.messages.map((m) => m.message!.body.toString())).to.deep.equal(['wake-up']);
    expect(Date.now() - startedAt, 'answered on arrival, not at the poll timeout').to.be.below(5_000);
  });

  it('refuses bad requests with a status and keeps serving', async () => {
    const leaderId = (await cluster.leaderId())!;
    const leader = cluster.nodes.find((n) => n.id === leaderId)!;
    expect((await pull(leader.broker, { offset: -1 })).status!.code).to.equal(40019);
    expect((await pull(leader.broker, { queueId: 7 })).status!.code).to.equal(40000);
    expect((await pull(leader.broker, { maxMessages: 0 })).status!.code).to.equal(40000);
    expect((await pull(leader.broker, { offset: 0 })).pullStatus).to.equal('FOUND');
  });
});
