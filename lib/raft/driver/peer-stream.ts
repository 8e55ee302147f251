/**
 * The outbound half of the link to one peer: a gRPC client stream that carries, in order, every
 * message this node has for that peer. Sending never blocks the caller: messages wait in a queue
 * bounded by count, and past the bound (or while the peer is unreachable) they are dropped, which
 * Raft tolerates. Dropping an append, and losing the stream, are reported so the leader probes the
 * peer again instead of waiting for answers that will not come.
 */
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../common/logger.js';
import type { RaftMessage } from '../../gen/raft/ledgermq/raft/v1/RaftMessage.js';
import type { RaftServiceClient } from '../../gen/raft/ledgermq/raft/v1/RaftService.js';
import type { AppendRequest, Message, NodeId } from '../core/types.js';
import type { RecordPayload } from './record-payload.js';
import { encodeRaftMessage } from './raft-wire.js';

/** What a peer stream needs from the node that owns it. */
export interface PeerStreamHooks {
  /** The records an append names (loaded from the log), or null when it no longer fits the log: then it is dropped. */
  loadAppend(message: AppendRequest<RecordPayload>): Promise<Buffer[] | null>;
  /** The peer cannot be reached or a message to it was dropped. */
  onUnreachable(peer: NodeId): void;
}

export interface PeerStreamOptions {
  peer: NodeId;
  client: RaftServiceClient;
  metadata: grpc.Metadata;
  hooks: PeerStreamHooks;
  logger: Logger;
  /** Messages held for the peer at most; more are dropped. */
  maxQueuedMessages: number;
  /** Wait after a failed stream before opening another. */
  reconnectDelayMs: number;
}

/** See the file comment. */
export class PeerStream {
  private call: grpc.ClientWritableStream<RaftMessage> | null = null;
  private queue: Array<Message<RecordPayload>> = [];
  private pumping = false;
  /** Resolves when the current call has ended (its status arrived); a pending 'drain' may never come then. */
  private callEnded: Promise<void> = Promise.resolve();
  private retryAtMs = 0;
  private closed = false;
  private wasConnected = false;
  /** Messages dropped (queue full, peer unreachable, append no longer in the log). */
  dropped = 0;

  constructor(private readonly options: PeerStreamOptions) {}

  /** Queues `message` for the peer (or drops it; see the file comment). */
  send(message: Message<RecordPayload>): void {
    if (this.closed) return;
    if (this.call === null && !this.connect()) {
      this.drop(message);
      return;
    }
    if (this.queue.length >= this.options.maxQueuedMessages) {
      this.drop(message);
      return;
    }
    this.queue.push(message);
    if (!this.pumping) void this.pump();
  }

  /** Ends the stream; later sends are ignored. */
  close(): void {
    this.closed = true;
    this.queue = [];
    this.call?.end();
    this.call = null;
  }

  private connect(): boolean {
    if (Date.now() < this.retryAtMs) return false;
    let ended!: () => void;
    this.callEnded = new Promise<void>((resolve) => (ended = resolve));
    const call = this.options.client.Stream(this.options.metadata, (error) => {
      ended();
      if (this.call !== call) return;
      this.lose(error ? error.details || error.message : 'peer closed the stream');
    });
    call.on('error', () => {
      // Reported through the callback above.
    });
    this.call = call;
    return true;
  }

  private lose(reason: string): void {
    this.call?.cancel();
    this.call = null;
    this.queue = [];
    this.retryAtMs = Date.now() + this.options.reconnectDelayMs;
    if (this.wasConnected) this.options.logger.warn({ peer: this.options.peer, reason }, 'raft stream to peer lost');
    this.wasConnected = false;
    this.options.hooks.onUnreachable(this.options.peer);
  }

  private drop(message: Message<RecordPayload>): void {
    this.dropped += 1;
    if (message.type === 'append') this.options.hooks.onUnreachable(this.options.peer);
  }

  /** Writes queued messages in order; appends wait for their records. One pump runs at a time. */
  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (this.queue.length > 0 && this.call !== null) {
        const message = this.queue.shift()!;
        let records: Buffer[] = [];
        if (message.type === 'append' && message.entries === null && message.count > 0) {
          const loaded = await this.options.hooks.loadAppend(message);
          if (loaded === null) {
            this.dropped += 1;
            continue;
          }
          records = loaded;
        }
        const call = this.call;
        if (call === null) break;
        this.wasConnected = true;
        if (!call.write(encodeRaftMessage(message, records))) {
          let done!: () => void;
          const drained = new Promise<void>((resolve) => (done = resolve));
          call.once('drain', done);
          await Promise.race([drained, this.callEnded]);
          call.off('drain', done);
        }
      }
    } catch (error) {
      this.options.logger.error({ err: error, peer: this.options.peer }, 'raft stream to peer failed');
      this.call?.cancel();
      this.lose(error instanceof Error ? error.message : String(error));
    } finally {
      this.pumping = false;
    }
  }
}
