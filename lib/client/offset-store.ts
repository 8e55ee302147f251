/**
 * Where a consumer keeps its progress. Clustering mode: on the brokers ({@link RemoteOffsetStore}),
 * committed through each group's Raft log, shared by the consumer group. Broadcasting mode: every
 * instance consumes everything, so progress is the instance's own, kept in a local file
 * ({@link LocalFileOffsetStore}, RocketMQ's LocalFileOffsetStore).
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { CommitOffsetsRequest } from '../gen/internal/ledgermq/v1/CommitOffsetsRequest.js';
import type { CommitOffsetsResponse__Output } from '../gen/internal/ledgermq/v1/CommitOffsetsResponse.js';
import type { QueryOffsetsRequest } from '../gen/internal/ledgermq/v1/QueryOffsetsRequest.js';
import type { QueryOffsetsResponse__Output } from '../gen/internal/ledgermq/v1/QueryOffsetsResponse.js';
import type { BrokerGateway } from './broker-gateway.js';
import type { MessageQueue } from './queue-allocation.js';
import { byBrokerGroup, queueKey } from './queue-allocation.js';

/** A queue's stored progress: -1 offset when none is stored; the queue's bounds when known. */
export interface StoredOffset {
  offset: number;
  resetVersion: number;
  minOffset: number;
  maxOffset: number;
}

export interface OffsetStore {
  /** Stored progress of `queue`. */
  read(queue: MessageQueue): Promise<StoredOffset>;
  /** Stores progress of several queues; resolves once stored (committed through the log for the remote store). */
  commit(entries: ReadonlyArray<{ queue: MessageQueue; offset: number; resetVersion: number }>): Promise<void>;
}

/** Progress on the brokers, per consumer group. */
export class RemoteOffsetStore implements OffsetStore {
  constructor(
    private readonly gateway: BrokerGateway,
    private readonly group: string,
    private readonly timeoutMs: number,
  ) {}

  async read(queue: MessageQueue): Promise<StoredOffset> {
    const response = await this.gateway.call<QueryOffsetsRequest, QueryOffsetsResponse__Output>(
      queue.brokerGroup, (c) => (r, o, cb) => c.QueryOffsets(r, o, cb), { group: this.group, topic: queue.topic, queueIds: [queue.queueId] }, this.timeoutMs,
    );
    const found = response.offsets[0];
    return { offset: Number(found.offset), resetVersion: Number(found.resetVersion), minOffset: Number(found.minOffset), maxOffset: Number(found.maxOffset) };
  }

  async commit(entries: ReadonlyArray<{ queue: MessageQueue; offset: number; resetVersion: number }>): Promise<void> {
    await Promise.all(
      [...byBrokerGroup(entries, (entry) => entry.queue)].map(([brokerGroup, list]) =>
        this.gateway.call<CommitOffsetsRequest, CommitOffsetsResponse__Output>(
          brokerGroup, (c) => (r, o, cb) => c.CommitOffsets(r, o, cb),
          { group: this.group, commits: list.map(({ queue, offset, resetVersion }) => ({ topic: queue.topic, queueId: queue.queueId, offset, resetVersion })) },
          this.timeoutMs,
        ),
      ),
    );
  }
}

/** Progress in one JSON file per (instance, group), replaced atomically on every commit. */
export class LocalFileOffsetStore implements OffsetStore {
  private offsets: Map<string, number> | null = null;
  /** Commits write one after another (they share a temporary file). */
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly file: string) {}

  async read(queue: MessageQueue): Promise<StoredOffset> {
    const offsets = await this.load();
    return { offset: offsets.get(queueKey(queue)) ?? -1, resetVersion: 0, minOffset: -1, maxOffset: -1 };
  }

  async commit(entries: ReadonlyArray<{ queue: MessageQueue; offset: number }>): Promise<void> {
    const offsets = await this.load();
    for (const { queue, offset } of entries) offsets.set(queueKey(queue), offset);
    const write = async (): Promise<void> => {
      await mkdir(dirname(this.file), { recursive: true });
      const temporary = `${this.file}.tmp`;
      await writeFile(temporary, JSON.stringify(Object.fromEntries(offsets), null, 1));
      await rename(temporary, this.file);
    };
    this.writing = this.writing.then(write, write);
    await this.writing;
  }

  private async load(): Promise<Map<string, number>> {
    if (this.offsets) return this.offsets;
    try {
      const parsed = JSON.parse(await readFile(this.file, 'utf8')) as Record<string, unknown>;
      this.offsets = new Map(Object.entries(parsed).filter((e): e is [string, number] => Number.isSafeInteger(e[1])));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      this.offsets = new Map();
    }
    return this.offsets;
  }
}
