/**
 * Issue 5 acceptance, official client (rocketmq-client-nodejs, unchanged) through the Proxy: a
 * message that keeps failing is delivered again with growing delays, 17 times in all (the group's
 * maxDeliveryAttempts: 16 retries), then lands in `%DLQ%<group>` and is not delivered again.
 * PushConsumer: the client applies the group's backoff from its Telemetry settings. SimpleConsumer:
 * the application sets each delay with ChangeInvisibleDuration. In both, the broker moves the
 * message to the DLQ when it would be delivered past the group's maximum.
 */
import { expect } from 'chai';
import { ConsumeResult, PushConsumer } from 'rocketmq-client-nodejs';
import type { MessageView } from 'rocketmq-client-nodejs';
import { PullConsumer } from '../lib/client/index.js';
import type { ReceivedMessage } from '../lib/client/index.js';
import type { Closable } from './cluster-helpers.js';
import { startCluster, startProducer, startSimpleConsumer, waitFor } from './cluster-helpers.js';

type Cluster = Awaited<ReturnType<typeof startCluster>>;

const ATTEMPTS = 17;

describe('official client: retries with growing delays, then the dead-letter queue (real processes)', function () {
  this.timeout(180_000);
  let cluster: Cluster;
  const owned: Closable[] = [];

  before(async () => {
    // The groups' retry backoff, scaled down: 1 s × 2 up to 256 s. rocketmq-client-nodejs 1.0.x
    // reads whole seconds as milliseconds (see lib/proxy/telemetry-settings.ts), so its PushConsumer
    // waits 1, 2, 4, ... 256 ms between deliveries.
    cluster = await startCluster({ nodes: 3, brokerOverrides: { defaultQueueCount: 2, minInvisibleMs: 10, retryBackoffInitialMs: 1_000, retryBackoffMaxMs: 256_000, retryBackoffMultiplier: 2 } });
  });

  after(async () => {
    for (const closable of owned.splice(0)) await closable.shutdown().catch(() => undefined);
    await cluster?.dispose();
  });

  /** The messages in `%DLQ%<group>`, read with our PullConsumer. */
  async function deadLetters(group: string, expected: number): Promise<ReceivedMessage[]> {
    const reader = new PullConsumer({ nameServers: cluster.description.namesrv, group: `${group}-dlq-reader`, consumeFrom: 'FIRST_OFFSET', autoCommit: false });
    owned.push(reader);
    await waitFor('the DLQ topic routed', async () => (await reader.queuesOf(`%DLQ%${group}`).catch(() => [])).length > 0);
    await reader.assign(await reader.queuesOf(`%DLQ%${group}`));
    const found: ReceivedMessage[] = [];
    await waitFor(`${expected} message(s) in %DLQ%${group}`, async () => {
      found.push(...await reader.poll(500));
      return found.length >= expected || undefined;
    });
    return found;
  }

  /** Gaps between consecutive delivery times. */
  const gapsOf = (times: number[]): number[] => times.slice(1).map((t, i) => t - times[i]);
  const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / values.length;

  it('PushConsumer: a failing message is redelivered 16 times with growing delays, then found in the DLQ', async () => {
    const topic = 'OfficialRetryPush';
    const group = 'official-retry-push';
    const producer = await startProducer(cluster, topic, owned);
    const deliveries: Array<{ attempt: number; atMs: number }> = [];
    let succeeded = 0;
    const consumer = new PushConsumer({
      endpoints: cluster.description.accessPoint,
      namespace: '',
      consumerGroup: group,
      subscriptions: new Map([[topic, '*']]),
      messageListener: {
        consume(message: MessageView) {
          if (message.body.toString() !== 'fail-me') {
            succeeded += 1;
            return Promise.resolve(ConsumeResult.SUCCESS);
          }
          deliveries.push({ attempt: message.deliveryAttempt ?? 0, atMs: Date.now() });
          return Promise.resolve(ConsumeResult.FAILURE);
        },
      },
    });
    await consumer.startup();
    owned.push(consumer);
    await producer.send({ topic, tag: 't', body: Buffer.from('fail-me') });
    await producer.send({ topic, tag: 't', body: Buffer.from('fine') });

    const [dead] = await deadLetters(group, 1);
    expect(dead.body.toString()).to.equal('fail-me');
    expect(dead.properties.ORIGIN_TOPIC).to.equal(topic);
    expect(deliveries.map((d) => d.attempt)).to.deep.equal(Array.from({ length: ATTEMPTS }, (_, i) => i + 1));
    expect(succeeded).to.equal(1);
    const gaps = gapsOf(deliveries.map((d) => d.atMs));
    // 1, 2, 4, ... ms at first; 256 ms once the backoff reaches its maximum.
    expect(mean(gaps.slice(-4)), `late gaps ${gaps.slice(-4).join(', ')} ms vs early ${gaps.slice(0, 4).join(', ')} ms`).to.be.above(mean(gaps.slice(0, 4)) + 150);
    // Nothing after the DLQ.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(deliveries).to.have.length(ATTEMPTS);
  });

  it('SimpleConsumer: growing invisible durations set by the application, then the DLQ after the last attempt', async () => {
    const topic = 'OfficialRetrySimple';
    const group = 'official-retry-simple';
    const producer = await startProducer(cluster, topic, owned);
    const consumer = await startSimpleConsumer(cluster, group, topic, owned);
    await producer.send({ topic, tag: 't', body: Buffer.from('fail-me-too') });
    const deliveries: Array<{ attempt: number; atMs: number }> = [];
    // The application's backoff: 20 ms doubling to 320 ms.
    const delayAfter = (attempt: number): number => Math.min(20 * 2 ** (attempt - 1), 320);
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const messages = await consumer.receive(1, 10_000);
      if (messages.length === 0) {
        if (deliveries.length >= ATTEMPTS) break; // the broker kept it back: it went to the DLQ
        continue;
      }
      const [message] = messages;
      deliveries.push({ attempt: message.deliveryAttempt ?? 0, atMs: Date.now() });
      await consumer.changeInvisibleDuration(message, delayAfter(message.deliveryAttempt ?? 1));
    }
    expect(deliveries.map((d) => d.attempt)).to.deep.equal(Array.from({ length: ATTEMPTS }, (_, i) => i + 1));
    const gaps = gapsOf(deliveries.map((d) => d.atMs));
    gaps.forEach((gap, i) => expect(gap, `gap after attempt ${i + 1}`).to.be.at.least(delayAfter(i + 1) - 5));
    const [dead] = await deadLetters(group, 1);
    expect(dead.body.toString()).to.equal('fail-me-too');
    expect(dead.properties.ORIGIN_TOPIC).to.equal(topic);
  });
});
