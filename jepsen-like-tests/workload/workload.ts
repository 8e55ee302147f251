/**
 * A workload: producers and consumers on the official RocketMQ 5 Node client, recording every
 * operation in a {@link History}. Producers stop when told; consumers keep draining until the
 * harness has healed the cluster and the drain is complete.
 */
import { Producer, SimpleConsumer } from 'rocketmq-client-nodejs';
import { decodeReceiptHandle } from '../../lib/broker/receipt-handle.js';
import type { History } from '../history/history.js';
import type { SendValue } from '../history/operation.js';

export interface WorkloadOptions {
  accessPoint: string;
  history: History;
  /** The group leader the harness last saw (recorded with each send). */
  currentLeader: () => string | null;
  topic: string;
  consumerGroup: string;
  producers: number;
  /** Sends in flight per producer; 1 = each send waits for the previous (order workload). */
  concurrencyPerProducer: number;
  /** Target sends per second over all producers (a ceiling; faults slow it down). */
  sendsPerSecond: number;
  consumers: number;
  /** True: each producer is a message group with sequence numbers (order checks). */
  sequenced: boolean;
  /** Hard bound on sends over all producers. */
  maxSends: number;
}

const RECEIVE_BATCH = 16;
/** Invisible time of every receive. */
export const INVISIBLE_MS = 15_000;

export class Workload {
  private producing = true;
  private consuming = true;
  private readonly producers: Producer[] = [];
  private readonly consumers: SimpleConsumer[] = [];
  private readonly producerLoops: Promise<void>[] = [];
  private readonly consumerLoops: Promise<void>[] = [];
  private sends = 0;
  /** Time (history ms) of the latest delivery, for the drain's quiet period. */
  lastDeliveryMs = 0;
  ackFailures = 0;
  receiveErrors = 0;

  constructor(private readonly options: WorkloadOptions) {}

  /** Starts clients and loops. Producers first: their startup creates the topic. */
  async start(): Promise<void> {
    const { accessPoint, topic, consumerGroup } = this.options;
    for (let i = 0; i < this.options.producers; i++) {
      const producer = new Producer({ endpoints: accessPoint, namespace: '', topics: [topic] });
      await producer.startup();
      this.producers.push(producer);
    }
    for (let i = 0; i < this.options.consumers; i++) {
      const consumer = new SimpleConsumer({ endpoints: accessPoint, namespace: '', consumerGroup, subscriptions: new Map([[topic, '*']]), awaitDuration: 2_000 });
      await consumer.startup();
      this.consumers.push(consumer);
    }
    this.producers.forEach((producer, p) => {
      for (let lane = 0; lane < this.options.concurrencyPerProducer; lane++) this.producerLoops.push(this.produce(producer, p, lane));
    });
    this.consumers.forEach((consumer, c) => this.consumerLoops.push(this.consume(consumer, c)));
  }

  /** Stops sending; resolves once sends in flight completed (or timed out) and were recorded. */
  async stopProducing(): Promise<void> {
    this.producing = false;
    await Promise.all(this.producerLoops);
  }

  /** Stops every loop and client. */
  async stop(): Promise<void> {
    this.producing = false;
    this.consuming = false;
    await Promise.all([...this.producerLoops, ...this.consumerLoops]);
    for (const client of [...this.producers, ...this.consumers]) {
      await Promise.race([client.shutdown().catch(() => undefined), sleep(5_000)]);
    }
  }

  private async produce(producer: Producer, p: number, lane: number): Promise<void> {
    const { history, topic, sequenced } = this.options;
    const lanes = this.options.producers * this.options.concurrencyPerProducer;
    const intervalMs = (1000 * lanes) / this.options.sendsPerSecond;
    let seq = lane;
    while (this.producing && this.sends < this.options.maxSends) {
      this.sends += 1;
      const began = history.nowMs();
      const id = `p${p}-${seq}`;
      const value: SendValue = sequenced ? { id, group: `p${p}`, seq } : { id };
      const complete = history.invoke(`producer-${p}.${lane}`, 'send', value, this.options.currentLeader() ?? undefined);
      try {
        const receipt = await producer.send({ topic, body: Buffer.from(id), keys: [id] });
        // The v2 receipt has the queue offset but not the queue (the broker picks it): the order
        // checker learns the queue from the delivery of the same message.
        complete('ok', { value: { ...value, messageId: receipt.messageId, queueOffset: Number(receipt.offset) } });
      } catch (error) {
        // The official client retries on its own: a failure may follow an attempt that was stored.
        complete('info', { error: errorText(error) });
      }
      seq += this.options.concurrencyPerProducer;
      const waitMs = intervalMs - (history.nowMs() - began);
      if (waitMs > 0) await sleep(waitMs);
    }
  }

  private async consume(consumer: SimpleConsumer, c: number): Promise<void> {
    const { history, topic, consumerGroup } = this.options;
    while (this.consuming) {
      let messages;
      try {
        messages = await consumer.receive(RECEIVE_BATCH, INVISIBLE_MS);
      } catch {
        this.receiveErrors += 1;
        await sleep(100);
        continue;
      }
      for (const message of messages) {
        const id = message.body.toString();
        let queueId: number | undefined;
        try {
          queueId = decodeReceiptHandle(message.receiptHandle, consumerGroup, topic).queueId;
        } catch {
          queueId = undefined;
        }
        history.record(`consumer-${c}`, 'receive', 'ok', { id, messageId: message.messageId, queueId, queueOffset: message.offset === undefined ? undefined : Number(message.offset), deliveryAttempt: message.deliveryAttempt });
        this.lastDeliveryMs = history.nowMs();
        try {
          await consumer.ack(message);
        } catch {
          // The message comes back after its invisible time: a duplicate, counted by the checker.
          this.ackFailures += 1;
        }
      }
    }
  }
}

function errorText(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.slice(0, 300);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
