/**
 * The fetch loop of one owned queue (RocketMQ's PullMessageService for one PullRequest): long-polls
 * the queue from its position, buffers what arrives in the queue's {@link ProcessQueue}, pauses
 * while the buffer is over its count or byte limit, and follows OFFSET_ILLEGAL and OFFSET_RESET
 * answers to the position they name. Ends when the process queue is dropped.
 */
import type { ReceivedMessage } from './message.js';
import type { ProcessQueue } from './process-queue.js';
import type { PullOutcome, QueueReader } from './queue-reader.js';

export interface FetchSettings {
  group: string;
  filterType: string;
  filterExpression: string;
  /** Messages asked per pull (RocketMQ's pullBatchSize, default 32). */
  batchSize: number;
  /** Long-poll hold on the broker (default 15,000 ms). */
  pollTimeoutMs: number;
  /** Buffer limits per queue (RocketMQ: pullThresholdForQueue 1,000, pullThresholdSizeForQueue 100 MiB). */
  maxBufferedMessages: number;
  maxBufferedBytes: number;
  /** Follow the group's offset resets (clustering); false when the consumer keeps its own position. */
  followResets: boolean;
}

/** Pause after a failed pull (RocketMQ waits 3 s; a LedgerMQ failover takes under one). */
const ERROR_PAUSE_MS = 500;
/** Pause after a leader answered "nothing new" well before the poll timeout (e.g. it stopped leading). */
const EARLY_EMPTY_PAUSE_MS = 100;

export class QueueFetchLoop {
  readonly done: Promise<void>;

  constructor(
    private readonly processQueue: ProcessQueue,
    private readonly reader: QueueReader,
    private readonly settings: FetchSettings,
    private readonly onMessages: (messages: ReceivedMessage[]) => void,
    private readonly onError: (error: unknown) => void,
    private readonly onOutcome?: (outcome: PullOutcome) => void,
  ) {
    this.done = this.run();
  }

  private async run(): Promise<void> {
    const pq = this.processQueue;
    const s = this.settings;
    while (!pq.dropped) {
      if (pq.isFull(s.maxBufferedMessages, s.maxBufferedBytes)) {
        await pq.waitForSpace(1_000);
        continue;
      }
      const started = Date.now();
      let outcome: PullOutcome;
      try {
        outcome = await this.reader.pull({
          group: s.group, offset: pq.nextOffset, maxMessages: s.batchSize, pollTimeoutMs: s.pollTimeoutMs,
          filterType: s.filterType, filterExpression: s.filterExpression, resetVersion: s.followResets ? pq.resetVersion : -1,
        }, pq.dropSignal);
      } catch (error) {
        if (pq.dropped) break;
        this.onError(error);
        await sleep(ERROR_PAUSE_MS);
        continue;
      }
      if (pq.dropped) break;
      this.onOutcome?.(outcome);
      switch (outcome.status) {
        case 'FOUND':
          pq.add(outcome.messages, outcome.nextOffset);
          this.onMessages(outcome.messages);
          break;
        case 'NO_MATCHED_MSG':
          pq.add([], outcome.nextOffset);
          break;
        case 'NO_NEW_MSG':
          pq.add([], outcome.nextOffset);
          if (outcome.servedBy === 'leader' && Date.now() - started < s.pollTimeoutMs / 2) await sleep(EARLY_EMPTY_PAUSE_MS);
          break;
        case 'OFFSET_ILLEGAL':
          pq.restartAt(outcome.nextOffset, pq.resetVersion);
          break;
        case 'OFFSET_RESET':
          pq.restartAt(outcome.nextOffset, outcome.resetVersion);
          break;
        default:
          this.onError(new Error(`unknown pull status ${String(outcome.status)}`));
          await sleep(ERROR_PAUSE_MS);
      }
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
