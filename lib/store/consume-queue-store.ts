import fs from 'node:fs';
import path from 'node:path';
import { LedgerError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { ConsumeQueue } from './consume-queue.js';
import type { ConsumeQueueOptions } from './consume-queue.js';
import { DEFAULT_CONSUME_QUEUE_UNITS_PER_FILE } from './record-format.js';

/**
 * Topic names the store accepts as directory names: exactly the names brokers accept
 * (lib/broker/name-rules.ts, RocketMQ's `[%|A-Za-z0-9_-]`, checked equal by a unit test), none with
 * a separator or a dot, so no path traversal. A name the broker took but this refused stopped every
 * replica at the entry (fuzz: topic "||").
 */
export const STORE_TOPIC_PATTERN = /^[%|A-Za-z0-9_-]{1,127}$/;
const TOPIC_PATTERN = STORE_TOPIC_PATTERN;
const QUEUE_ID_PATTERN = /^(0|[1-9]\d{0,9})$/;
const MAX_QUEUE_ID = 0x7fffffff;

/** Options of {@link ConsumeQueueStore.open}. */
export interface ConsumeQueueStoreOptions {
  /** Root directory; queues live in <dir>/<topic>/<queueId>/. */
  dir: string;
  /** Units per file; default 300,000 (6,000,000 bytes). Must not change between runs. */
  unitsPerFile?: number;
  /** Per-queue bound of unwritten units (see ConsumeQueue.writable); default 65,536. */
  maxPendingUnitsPerQueue?: number;
  logger: Logger;
}

/**
 * All ConsumeQueues of one broker node. Queues are created lazily (no file until the first unit is
 * written). Owns every queue it returns.
 */
export class ConsumeQueueStore {
  private readonly dir: string;
  private readonly unitsPerFile: number;
  private readonly maxPendingUnits: number;
  private readonly logger: Logger;
  private readonly byKey = new Map<string, ConsumeQueue>();

  private constructor(dir: string, unitsPerFile: number, maxPendingUnits: number, logger: Logger) {
    this.dir = dir;
    this.unitsPerFile = unitsPerFile;
    this.maxPendingUnits = maxPendingUnits;
    this.logger = logger;
  }

  /**
   * Opens the store and loads every existing queue (startup only: synchronous fs). Directories whose
   * names are not a valid topic / queue id are skipped with a warning. Throws on invalid options, a
   * changed `unitsPerFile`, or I/O errors.
   */
  static open(options: ConsumeQueueStoreOptions): ConsumeQueueStore {
    const unitsPerFile = options.unitsPerFile ?? DEFAULT_CONSUME_QUEUE_UNITS_PER_FILE;
    const maxPendingUnits = options.maxPendingUnitsPerQueue ?? 65536;
    if (!Number.isSafeInteger(unitsPerFile) || unitsPerFile < 1) throw new LedgerError('BAD_REQUEST', `unitsPerFile must be a positive integer, got ${unitsPerFile}`);
    if (!Number.isSafeInteger(maxPendingUnits) || maxPendingUnits < 1) throw new LedgerError('BAD_REQUEST', `maxPendingUnitsPerQueue must be a positive integer, got ${maxPendingUnits}`);
    fs.mkdirSync(options.dir, { recursive: true });
    const store = new ConsumeQueueStore(options.dir, unitsPerFile, maxPendingUnits, options.logger);
    for (const topic of fs.readdirSync(options.dir)) {
      const topicDir = path.join(options.dir, topic);
      if (!fs.statSync(topicDir).isDirectory()) continue;
      if (!TOPIC_PATTERN.test(topic)) {
        options.logger.warn({ dir: topicDir }, 'consume queue store: skipping a directory that is not a topic');
        continue;
      }
      for (const queueName of fs.readdirSync(topicDir)) {
        if (!QUEUE_ID_PATTERN.test(queueName) || Number(queueName) > MAX_QUEUE_ID) {
          options.logger.warn({ dir: path.join(topicDir, queueName) }, 'consume queue store: skipping a directory that is not a queue id');
          continue;
        }
        const queueId = Number(queueName);
        store.byKey.set(key(topic, queueId), ConsumeQueue.load(store.queueOptions(topic, queueId)));
      }
    }
    return store;
  }

  /** Why no queue can exist for (`topic`, `queueId`), or null when {@link queue} accepts them. */
  static unfitQueue(topic: string, queueId: number): string | null {
    if (!TOPIC_PATTERN.test(topic)) return `topic ${JSON.stringify(topic.slice(0, 200))} is not a valid name`;
    if (!Number.isInteger(queueId) || queueId < 0 || queueId > MAX_QUEUE_ID) return `queue id ${queueId} is invalid`;
    return null;
  }

  /** The queue of (topic, queueId), created lazily. Throws ILLEGAL_TOPIC / BAD_REQUEST for invalid names. */
  queue(topic: string, queueId: number): ConsumeQueue {
    if (!TOPIC_PATTERN.test(topic)) throw new LedgerError('ILLEGAL_TOPIC', `topic ${JSON.stringify(topic)} is not a valid name`);
    if (!Number.isInteger(queueId) || queueId < 0 || queueId > MAX_QUEUE_ID) throw new LedgerError('BAD_REQUEST', `queue id ${queueId} is invalid`);
    const queueKey = key(topic, queueId);
    let queue = this.byKey.get(queueKey);
    if (queue === undefined) {
      // Not loaded at open, so it has no files: no disk access needed (this runs on the dispatch path).
      queue = ConsumeQueue.createEmpty(this.queueOptions(topic, queueId));
      this.byKey.set(queueKey, queue);
    }
    return queue;
  }

  /** The queue of (topic, queueId) if it exists; never creates one. */
  existingQueue(topic: string, queueId: number): ConsumeQueue | undefined {
    return this.byKey.get(key(topic, queueId));
  }

  /** Every queue loaded or created so far. */
  queues(): Iterable<ConsumeQueue> {
    return this.byKey.values();
  }

  /** Writes and fsyncs every queue. Rejects with FatalStoreError when a queue failed. */
  async flushAll(): Promise<void> {
    await Promise.all([...this.byKey.values()].map((queue) => queue.flush()));
  }

  /** Removes, in every queue, the units at or after CommitLog position `position` (recovery). */
  async truncateAllFromPosition(position: number): Promise<void> {
    for (const queue of this.byKey.values()) await queue.truncateFromPosition(position);
  }

  /**
   * Closes and removes every queue of `topic` with its files (the topic was deleted). Reads in
   * flight on them fail. A later `queue(topic, id)` starts an empty queue.
   */
  async deleteTopic(topic: string): Promise<void> {
    for (const [queueKey, queue] of [...this.byKey]) {
      if (queue.topic !== topic) continue;
      this.byKey.delete(queueKey);
      await queue.close();
    }
    if (TOPIC_PATTERN.test(topic)) await fs.promises.rm(path.join(this.dir, topic), { recursive: true, force: true });
  }

  /** Flushes and closes every queue. */
  async close(): Promise<void> {
    for (const queue of this.byKey.values()) await queue.close();
  }

  private queueOptions(topic: string, queueId: number): ConsumeQueueOptions {
    return { dir: path.join(this.dir, topic, String(queueId)), topic, queueId, unitsPerFile: this.unitsPerFile, maxPendingUnits: this.maxPendingUnits, logger: this.logger };
  }
}

function key(topic: string, queueId: number): string {
  return `${topic}/${queueId}`;
}
