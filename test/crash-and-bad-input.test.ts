/**
 * Acceptance: kill -9 after acknowledged sends loses nothing and forgets no ack; bad input gets a
 * clear v2 status and the broker keeps serving (issue 2).
 */
import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import { Producer, SimpleConsumer } from 'rocketmq-client-nodejs';
import { loadV2 } from '../lib/protocol/proto-definitions.js';
import type { MessagingServiceClient } from '../lib/gen/v2/apache/rocketmq/v2/MessagingService.js';
import type { SendMessageResponse__Output } from '../lib/gen/v2/apache/rocketmq/v2/SendMessageResponse.js';
import type { SendMessageRequest } from '../lib/gen/v2/apache/rocketmq/v2/SendMessageRequest.js';
import type { AckMessageResponse__Output } from '../lib/gen/v2/apache/rocketmq/v2/AckMessageResponse.js';
import type { AckMessageRequest } from '../lib/gen/v2/apache/rocketmq/v2/AckMessageRequest.js';
import { outcomeCode, startCluster, waitFor } from './cluster-helpers.js';
import { ClientContext } from '../lib/client/client-context.js';
import { runUpdateTopic } from '../lib/admin/update-topic.js';

type Cluster = Awaited<ReturnType<typeof startCluster>>;

async function drain(consumer: SimpleConsumer, into: Map<string, number>, quietReceives = 2): Promise<void> {
  let quiet = 0;
  while (quiet < quietReceives) {
    const messages = await consumer.receive(32, 20_000);
    if (messages.length === 0) quiet++;
    for (const m of messages) {
      into.set(m.body.toString(), (into.get(m.body.toString()) ?? 0) + 1);
      await consumer.ack(m);
    }
  }
}

describe('crash recovery with the official client', function () {
  this.timeout(180_000);
  let cluster: Cluster;

  before(async () => {
    cluster = await startCluster();
  });
  after(async () => {
    await cluster?.dispose();
  });

  it('keeps every acknowledged message and every ack across kill -9', async () => {
    const endpoints = cluster.description.accessPoint;
    const topic = 'CrashTopic';
    const producer = new Producer({ endpoints, namespace: '', topics: [topic] });
    await producer.startup();
    const acked: string[] = [];
    for (let i = 0; i < 200; i++) {
      await producer.send({ topic, body: Buffer.from(`crash-${i}`) });
      acked.push(`crash-${i}`);
    }
    // Consume and ack the first half before the crash.
    const before = new SimpleConsumer({ endpoints, namespace: '', consumerGroup: 'crash-group', subscriptions: new Map([[topic, '*']]), awaitDuration: 2000 });
    await before.startup();
    const ackedBeforeCrash = new Set<string>();
    while (ackedBeforeCrash.size < 100) {
      for (const m of await before.receive(16, 1500)) {
        if (ackedBeforeCrash.size >= 100) break;
        await before.ack(m);
        ackedBeforeCrash.add(m.body.toString());
      }
    }
    await cluster.stopNode('n0', 'SIGKILL');
    await before.shutdown().catch(() => undefined);
    await producer.shutdown().catch(() => undefined);
    await cluster.startNode('n0');

    const after = new SimpleConsumer({ endpoints, namespace: '', consumerGroup: 'crash-group', subscriptions: new Map([[topic, '*']]), awaitDuration: 2000 });
    await waitFor('consumer startup after restart', async () => after.startup().then(() => true, () => false), 60_000);
    const received = new Map<string, number>();
    await drain(after, received);
    await after.shutdown().catch(() => undefined);
    const redelivered = [...ackedBeforeCrash].filter((body) => received.has(body));
    expect(redelivered, 'acked before the crash, delivered again').to.deep.equal([]);
    const missing = acked.filter((body) => !ackedBeforeCrash.has(body) && !received.has(body));
    expect(missing, 'acknowledged sends lost').to.deep.equal([]);

    // A fresh group still sees all 200 acknowledged messages.
    const fresh = new SimpleConsumer({ endpoints, namespace: '', consumerGroup: 'crash-fresh', subscriptions: new Map([[topic, '*']]), awaitDuration: 2000 });
    await fresh.startup();
    const all = new Map<string, number>();
    await drain(fresh, all);
    await fresh.shutdown().catch(() => undefined);
    expect(acked.filter((body) => !all.has(body))).to.deep.equal([]);
  });
});

describe('bad input over the v2 protocol', function () {
  this.timeout(120_000);
  let cluster: Cluster;
  let client: MessagingServiceClient;

  before(async () => {
    cluster = await startCluster({ autoCreate: false });
    const MessagingService = loadV2().apache.rocketmq.v2.MessagingService;
    client = new MessagingService(cluster.description.accessPoint, grpc.credentials.createInsecure(), {
      'grpc.max_send_message_length': 16 * 1024 * 1024,
    });
    // With auto-creation off, create the topic explicitly through the broker group.
    const { runUpdateTopic } = await import('../lib/admin/update-topic.js');
    await waitFor('topic creation', async () => (await runUpdateTopic({ namesrv: cluster.description.namesrv, topic: 'GoodTopic', readQueues: 4, writeQueues: 4, perm: 6 })) === 0);
  });
  after(async () => {
    client?.close();
    await cluster?.dispose();
  });

  function send(request: SendMessageRequest): Promise<SendMessageResponse__Output> {
    return new Promise((resolve, reject) =>
      client.SendMessage(request, { deadline: Date.now() + 10_000 }, (error, response) => (error || !response ? reject(error ?? new Error('no response')) : resolve(response))),
    );
  }

  function ack(request: AckMessageRequest): Promise<AckMessageResponse__Output> {
    return new Promise((resolve, reject) =>
      client.AckMessage(request, { deadline: Date.now() + 10_000 }, (error, response) => (error || !response ? reject(error ?? new Error('no response')) : resolve(response))),
    );
  }

  function message(topic: string, body: Buffer, properties: Record<string, string> = {}): SendMessageRequest {
    return { messages: [{ topic: { name: topic }, body, userProperties: properties, systemProperties: { messageId: `id-${Math.random()}`, tag: 't' } }] };
  }

  it('answers each bad request with its status and keeps serving', async () => {
    const cases: Array<[string, SendMessageRequest, string]> = [
      ['illegal topic name', message('bad topic!', Buffer.from('x')), 'ILLEGAL_TOPIC'],
      ['empty body', message('GoodTopic', Buffer.alloc(0)), 'MESSAGE_BODY_EMPTY'],
      ['body over 4 MiB', message('GoodTopic', Buffer.alloc(4 * 1024 * 1024 + 1)), 'MESSAGE_BODY_TOO_LARGE'],
      ['too many properties', message('GoodTopic', Buffer.from('x'), Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`p${i}`, 'v']))), 'MESSAGE_PROPERTIES_TOO_LARGE'],
      ['too large properties', message('GoodTopic', Buffer.from('x'), { big: 'v'.repeat(20_000) }), 'MESSAGE_PROPERTIES_TOO_LARGE'],
      ['unknown topic without auto-creation', message('NoSuchTopic', Buffer.from('x')), 'TOPIC_NOT_FOUND'],
    ];
    for (const [what, request, code] of cases) {
      const response = await send(request);
      expect(response.status?.code, what).to.equal(code);
    }
    const good = await send(message('GoodTopic', Buffer.from('still serving')));
    expect(good.status?.code).to.equal('OK');
  });

  it('stores and serves a topic of any legal name, "|" included, and refuses a message naming another topic than its send', async () => {
    const context = new ClientContext({ nameServers: cluster.description.namesrv });
    try {
      const group = cluster.description.groups[0].name;
      // Fuzz finding: brokers accepted the topic "||" (RocketMQ's names allow "|") but the
      // ConsumeQueues did not, and every replica stopped at the committed entry.
      expect(await runUpdateTopic({ namesrv: cluster.description.namesrv, topic: 'a||b', readQueues: 1, writeQueues: 1, perm: 6 })).to.equal(0);
      const piped = { topic: 'a||b', body: Buffer.from('piped'), tag: '', keys: [], properties: {}, messageId: '' };
      const stored = await context.gateway.sendMessages(group, { topic: 'a||b', queueId: 0, messages: [piped] }, 10_000);
      expect(stored.entries).to.have.length(1);
      const pulled = await context.gateway.pull(group, { group: 'pipe-readers', topic: 'a||b', queueId: 0, offset: 0, maxMessages: 8, pollTimeoutMs: 0 }, 10_000);
      expect(pulled.messages.map((m) => m.message?.body.toString())).to.deep.equal(['piped']);
      const stray = context.gateway.sendMessages(group, { topic: 'GoodTopic', queueId: 1, messages: [piped] }, 10_000);
      expect(await outcomeCode(stray)).to.equal('BAD_REQUEST');
      expect((await send(message('GoodTopic', Buffer.from('still serving after')))).status?.code).to.equal('OK');
    } finally {
      context.close();
    }
  });

  it('refuses garbage receipt handles and unknown groups', async () => {
    const endpoints = cluster.description.accessPoint;
    const { runUpdateTopic } = await import('../lib/admin/update-topic.js');
    expect(await runUpdateTopic({ namesrv: cluster.description.namesrv, topic: 'HandleTopic', readQueues: 1, writeQueues: 1, perm: 6 })).to.equal(0);
    expect((await send(message('HandleTopic', Buffer.from('h')))).status?.code).to.equal('OK');
    // Unknown consumer group with auto-creation off: the official consumer cannot start.
    const unknown = new SimpleConsumer({ endpoints, namespace: '', consumerGroup: 'never-created', subscriptions: new Map([['HandleTopic', '*']]), awaitDuration: 1000 });
    let startError: unknown = null;
    await unknown.startup().catch((error: unknown) => (startError = error));
    await unknown.shutdown().catch(() => undefined);
    expect(String(startError)).to.match(/not exist|NOT_FOUND|40403/i);

    const garbage = await ack({ group: { name: 'never-created' }, topic: { name: 'HandleTopic' }, entries: [{ messageId: 'x', receiptHandle: 'garbage' }] });
    expect(garbage.status?.code).to.equal('INVALID_RECEIPT_HANDLE');
  });
});
