/**
 * The fuzz run's witness: while requests fly, it sends numbered messages with known bodies to a
 * topic of its own (with our Producer, one at a time) and reads them back with a PullConsumer. A
 * body that arrives different from what was sent is corruption; at the end every acknowledged
 * message must have been read. Sends that fail are counted, not judged (the fuzz may slow the
 * group down or make it change leaders).
 */
import { createHash } from 'node:crypto';
import { runUpdateTopic } from '../admin/update-topic.js';
import { Producer } from '../client/producer.js';
import { PullConsumer } from '../client/pull-consumer.js';

/** What the checker saw. */
export interface DataCheckReport {
  acknowledged: number;
  sendFailures: number;
  read: number;
  /** Acknowledged bodies never read back (by their number). */
  missing: number[];
  /** Bodies read that differ from what was sent under their number. */
  corrupt: string[];
}

/** The body of message `i` of a run: its number, then bytes derived from it (so any change shows). */
export function checkBody(seed: number, i: number): string {
  return `fuzz-check-${seed}-${i}:${createHash('sha256').update(`${seed}/${i}`).digest('hex').repeat(4)}`;
}

const BODY_PATTERN = /^fuzz-check-(\d+)-(\d+):/;

/** See the file comment. */
export class DataChecker {
  private producer: Producer | null = null;
  private consumer: PullConsumer | null = null;
  private readonly acknowledged = new Set<number>();
  private readonly read = new Set<number>();
  private readonly corrupt: string[] = [];
  private sendFailures = 0;
  private sending = false;
  private sendLoop: Promise<void> = Promise.resolve();
  private readLoop: Promise<void> = Promise.resolve();
  private reading = false;

  constructor(
    private readonly namesrv: string[],
    /** The topic the check messages go to. */
    readonly topic: string,
    private readonly seed: number,
  ) {}

  /** Creates the topic (4 queues) and starts sending and reading. */
  async start(): Promise<void> {
    if ((await runUpdateTopic({ namesrv: this.namesrv, topic: this.topic, readQueues: 4, writeQueues: 4, perm: 6 })) !== 0) throw new Error(`could not create ${this.topic}`);
    this.producer = new Producer({ nameServers: this.namesrv, requestTimeoutMs: 10_000, retries: 5 });
    this.consumer = new PullConsumer({ nameServers: this.namesrv, group: `fuzz-check-reader-${this.seed}`, consumeFrom: 'FIRST_OFFSET', autoCommit: false, requestTimeoutMs: 10_000 });
    await this.consumer.assign(await this.consumer.queuesOf(this.topic));
    this.sending = true;
    this.reading = true;
    this.sendLoop = this.sendUntilStopped();
    this.readLoop = this.readUntilStopped();
  }

  private async sendUntilStopped(): Promise<void> {
    for (let i = 0; this.sending; i += 1) {
      try {
        await this.producer!.send({ topic: this.topic, body: checkBody(this.seed, i), tag: 'check' });
        this.acknowledged.add(i);
      } catch {
        this.sendFailures += 1;
      }
    }
  }

  private async readUntilStopped(): Promise<void> {
    while (this.reading) {
      const messages = await this.consumer!.poll(1_000).catch(() => []);
      for (const message of messages) {
        const body = message.body.toString();
        const match = BODY_PATTERN.exec(body);
        if (match === null || Number(match[1]) !== this.seed || body !== checkBody(this.seed, Number(match[2]))) this.corrupt.push(body.slice(0, 120));
        else this.read.add(Number(match[2]));
      }
    }
  }

  /**
   * Reads every message acknowledged so far again, with a new consumer group from the first offset
   * and no follower reads (so from the node that leads now), checking each body. Returns the
   * numbers not read within `timeoutMs` and the bodies that were wrong.
   */
  async readAllAgain(group: string, timeoutMs = 60_000): Promise<{ missing: number[]; corrupt: string[] }> {
    const wanted = [...this.acknowledged];
    const seen = new Set<number>();
    const corrupt: string[] = [];
    const consumer = new PullConsumer({ nameServers: this.namesrv, group, consumeFrom: 'FIRST_OFFSET', autoCommit: false, followerReads: false, requestTimeoutMs: 10_000 });
    try {
      await consumer.assign(await consumer.queuesOf(this.topic));
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline && wanted.some((i) => !seen.has(i))) {
        for (const message of await consumer.poll(1_000).catch(() => [])) {
          const body = message.body.toString();
          const match = BODY_PATTERN.exec(body);
          if (match === null || body !== checkBody(this.seed, Number(match[2]))) corrupt.push(body.slice(0, 120));
          else seen.add(Number(match[2]));
        }
      }
    } finally {
      await consumer.shutdown();
    }
    return { missing: wanted.filter((i) => !seen.has(i)), corrupt };
  }

  /** Stops sending, then reads until every acknowledged message arrived or `timeoutMs` passed. */
  async stop(timeoutMs = 60_000): Promise<DataCheckReport> {
    this.sending = false;
    await this.sendLoop;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && [...this.acknowledged].some((i) => !this.read.has(i))) await new Promise((resolve) => setTimeout(resolve, 100));
    this.reading = false;
    await this.readLoop;
    this.producer?.shutdown();
    await this.consumer?.shutdown();
    return {
      acknowledged: this.acknowledged.size,
      sendFailures: this.sendFailures,
      read: this.read.size,
      missing: [...this.acknowledged].filter((i) => !this.read.has(i)).sort((a, b) => a - b),
      corrupt: this.corrupt,
    };
  }
}
