/**
 * Acceptance: the official, unmodified rocketmq-client-nodejs against a real NameServer/Proxy and
 * broker process (issue 2).
 */
import { expect } from 'chai';
import { PushConsumer, ConsumeResult } from 'rocketmq-client-nodejs';
import type { MessageView, Producer, SimpleConsumer } from 'rocketmq-client-nodejs';
import { startCluster, startProducer, startSimpleConsumer, waitFor } from './cluster-helpers.js';

type Cluster = Awaited<ReturnType<typeof startCluster>>;

const COUNT = 1000;

describe('official RocketMQ client against LedgerMQ', function () {
  this.timeout(180_000);
  let cluster: Cluster;
  const producers: Producer[] = [];
  const consumers: Array<{ shutdown(): Promise<void> }> = [];

  before(async () => {
    cluster = await startCluster();
  });

  afterEach(async () => {
    for (const client of [...producers.splice(0), ...consumers.splice(0)]) await client.shutdown().catch(() => undefined);
  });

  after(async () => {
    await cluster?.dispose();
  });

  const producer = (topic: string): Promise<Producer> => startProducer(cluster, topic, producers);
  const simpleConsumer = (group: string, topic: string): Promise<SimpleConsumer> => startSimpleConsumer(cluster, group, topic, consumers);

  it('delivers 1,000 messages with tags, keys and properties intact to a SimpleConsumer and a PushConsumer, each once', async () => {
    const topic = 'AcceptanceTopic';
    const p = await producer(topic);
    const sent = new Map<string, { tag: string; key: string; prop: string }>();
    for (let start = 0; start < COUNT; start += 50) {
      await Promise.all(
        Array.from({ length: 50 }, async (_, j) => {
          const i = start + j;
          const body = `message-${i}`;
          await p.send({ topic, tag: `tag${i % 3}`, keys: [`key-${i}`], properties: new Map([['seq', String(i)]]), body: Buffer.from(body) });
          sent.set(body, { tag: `tag${i % 3}`, key: `key-${i}`, prop: String(i) });
        }),
      );
    }

    const pushReceived = new Map<string, number>();
    const push = new PushConsumer({
      endpoints: cluster.description.accessPoint,
      namespace: '',
      consumerGroup: 'acceptance-push',
      subscriptions: new Map([[topic, '*']]),
      messageListener: {
        consume(message: MessageView) {
          const body = message.body.toString();
          pushReceived.set(body, (pushReceived.get(body) ?? 0) + 1);
          return Promise.resolve(ConsumeResult.SUCCESS);
        },
      },
    });
    await push.startup();
    consumers.push(push);

    const c = await simpleConsumer('acceptance-simple', topic);
    const received = new Map<string, number>();
    await waitFor('every message at the SimpleConsumer', async () => {
      const messages = await c.receive(32, 20_000);
      for (const m of messages) {
        const body = m.body.toString();
        const expected = sent.get(body);
        expect(expected, `unexpected message ${body}`).to.not.equal(undefined);
        expect(m.tag).to.equal(expected?.tag);
        expect(m.keys).to.deep.equal([expected?.key]);
        expect(m.properties.get('seq')).to.equal(expected?.prop);
        expect(m.corrupted, "body digest mismatch").to.not.equal(true);
        received.set(body, (received.get(body) ?? 0) + 1);
        await c.ack(m);
      }
      return received.size === COUNT;
    }, 120_000);
    expect([...received.values()].every((n) => n === 1), 'a message was received twice while acks succeeded').to.equal(true);
    const extra = await c.receive(32, 20_000);
    expect(extra.map((m) => m.body.toString())).to.deep.equal([]);

    await waitFor('every message at the PushConsumer', () => pushReceived.size === COUNT, 120_000);
    expect([...pushReceived.keys()].every((body) => sent.has(body))).to.equal(true);
  });

  it('makes a received, unacked message visible again after its invisible duration with delivery_attempt 2', async () => {
    const topic = 'RedeliveryTopic';
    const p = await producer(topic);
    await p.send({ topic, tag: 'x', body: Buffer.from('redeliver-me') });
    const c = await simpleConsumer('redelivery-group', topic);
    const first = await waitFor('first delivery', async () => {
      const messages = await c.receive(1, 2000);
      return messages.length > 0 ? messages[0] : undefined;
    });
    expect(first.deliveryAttempt).to.equal(1);
    const immediately = await c.receive(1, 2000);
    expect(immediately, 'message visible during its invisible time').to.have.length(0);
    const second = await waitFor('redelivery', async () => {
      const messages = await c.receive(1, 2000);
      return messages.length > 0 ? messages[0] : undefined;
    });
    expect(second.body.toString()).to.equal('redeliver-me');
    expect(second.deliveryAttempt).to.equal(2);
    await c.ack(second);
  });

  it('refuses an ack whose receipt handle belongs to another group, and keeps the owner able to ack', async () => {
    const topic = 'HandleOwnerTopic';
    const p = await producer(topic);
    await p.send({ topic, tag: 'x', body: Buffer.from('owned-by-a') });
    const owner = await simpleConsumer('handle-owner-a', topic);
    const stranger = await simpleConsumer('handle-stranger-b', topic);
    const message = await waitFor('delivery to the owner', async () => (await owner.receive(1, 20_000))[0]);
    let refusal: unknown = null;
    await stranger.ack(message).catch((error: unknown) => (refusal = error));
    expect(refusal, 'ack with another group\'s handle succeeded').to.not.equal(null);
    expect(String((refusal as { code?: number }).code) + String(refusal)).to.match(/40012|INVALID_RECEIPT_HANDLE|receipt handle/i);
    await owner.ack(message);
    expect(await owner.receive(1, 2000), 'acked by its owner, delivered again').to.have.length(0);
  });
});
