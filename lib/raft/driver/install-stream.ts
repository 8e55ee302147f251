/**
 * The two ends of an install (`RaftService.Install`): a leader streams a far-behind follower the
 * committed part of its log as consecutive CommitLog slices, beside the peer's message stream so
 * heartbeats and votes never wait behind them.
 *
 * Sending ({@link sendInstall}) writes one chunk at a time and waits for gRPC's flow control, so a
 * slow follower holds at most a few chunks in memory on either side. Receiving
 * ({@link receiveInstall}) checks each chunk like an append (every record's CRC, index sequence and
 * term order, lib/raft/driver/raft-wire.ts), hands it to the node as an append from the leader,
 * and reads the next chunk only once that one is stored durably or refused.
 */
import { once } from 'node:events';
import type * as grpc from '@grpc/grpc-js';
import type { InstallChunk } from '../../gen/raft/ledgermq/raft/v1/InstallChunk.js';
import type { InstallChunk__Output } from '../../gen/raft/ledgermq/raft/v1/InstallChunk.js';
import type { InstallResult, InstallResult__Output } from '../../gen/raft/ledgermq/raft/v1/InstallResult.js';
import type { AppendRequest, NodeId } from '../core/types.js';
import { MalformedRaftMessage, decodeRaftMessage, splitRecords } from './raft-wire.js';
import type { RecordPayload } from './record-payload.js';

/** Where an install starts: the sender, its term, and the entry the stream follows. */
export interface InstallStartPoint {
  from: NodeId;
  to: NodeId;
  term: number;
  prevIndex: number;
  prevTerm: number;
}

/** One chunk to send: whole consecutive records and the commit index they were read under. */
export interface InstallChunkSource {
  records: Buffer;
  commit: number;
}

/** How a follower took one chunk: stored durably up to `matchIndex`, or refused. */
export type InstallStep = { stored: true; matchIndex: number } | { stored: false; detail: string };

/** What the follower answered. */
export interface InstallOutcome {
  matchIndex: number;
  refused: boolean;
  detail: string;
}

/**
 * Streams `chunks` to a peer through `client` and resolves with its answer. Stops reading `chunks`
 * as soon as the peer answered (a refusal) or the call failed; rejects on a transport error.
 */
export async function sendInstall(
  client: grpc.Client,
  metadata: grpc.Metadata,
  start: InstallStartPoint,
  chunks: AsyncIterable<InstallChunkSource>,
  stallMs: number,
): Promise<InstallOutcome> {
  let finished = false;
  let call!: grpc.ClientWritableStream<InstallChunk>;
  // A peer that neither takes a chunk nor answers for `stallMs` (hung, or a dead connection TCP has
  // not noticed) gets the call cancelled, so the leader goes back to probing it.
  let stall: NodeJS.Timeout | undefined;
  const armStall = (): void => {
    clearTimeout(stall);
    stall = setTimeout(() => call.cancel(), stallMs);
  };
  const answered = new Promise<InstallOutcome>((resolve, reject) => {
    const method = (client as unknown as Record<string, (m: grpc.Metadata, cb: grpc.requestCallback<InstallResult__Output>) => grpc.ClientWritableStream<InstallChunk>>).Install;
    call = method.call(client, metadata, (error, result) => {
      finished = true;
      clearTimeout(stall);
      if (error !== null || result === undefined) reject(error ?? new Error('install ended without an answer'));
      else resolve({ matchIndex: Number(result.matchIndex), refused: result.refused, detail: result.detail });
    });
  });
  // Awaited below; settled early only by a refusal or an error, which end the loop.
  answered.catch(() => undefined);
  const ended = answered.then(() => undefined, () => undefined);
  let first = true;
  try {
    for await (const chunk of chunks) {
      if (finished) break;
      const message: InstallChunk = { records: chunk.records, commit: chunk.commit };
      if (first) message.start = { from: start.from, to: start.to, term: start.term, prevIndex: start.prevIndex, prevTerm: start.prevTerm };
      first = false;
      armStall();
      if (!call.write(message)) await Promise.race([once(call, 'drain'), ended]);
    }
  } catch (error) {
    // Reading our own log failed: abandon the call (the peer keeps what it stored).
    clearTimeout(stall);
    call.cancel();
    throw error;
  }
  if (!finished) {
    armStall();
    call.end();
  }
  return answered;
}

/**
 * Serves one Install call from `sender` (already checked to be a group member): each chunk becomes
 * an append of the sender's term handed to `store`, which resolves once the chunk is durable or
 * refused. Answers with the last stored index; a malformed chunk ends the call with
 * INVALID_ARGUMENT.
 */
export async function receiveInstall(
  call: grpc.ServerReadableStream<InstallChunk__Output, InstallResult>,
  sender: NodeId,
  selfId: NodeId,
  store: (append: AppendRequest<RecordPayload>) => Promise<InstallStep>,
): Promise<InstallResult> {
  let start: InstallStartPoint | null = null;
  let prevIndex = 0;
  let prevTerm = 0;
  for await (const chunk of call as AsyncIterable<InstallChunk__Output>) {
    if (start === null) {
      const head = chunk.start;
      if (head === null) throw new MalformedRaftMessage('the first install chunk names no start');
      if (head.from !== sender || head.to !== selfId) throw new MalformedRaftMessage(`install from ${head.from} to ${head.to} on ${sender}'s call`);
      start = { from: head.from, to: head.to, term: Number(head.term), prevIndex: Number(head.prevIndex), prevTerm: Number(head.prevTerm) };
      prevIndex = start.prevIndex;
      prevTerm = start.prevTerm;
    }
    const records = splitRecords(chunk.records);
    if (records.length === 0) continue;
    const message = decodeRaftMessage({
      from: start.from, to: start.to, term: start.term, body: 'append', append: { prevIndex, prevTerm, commit: Number(chunk.commit), records },
    });
    if (message.type !== 'append' || message.entries === null) throw new MalformedRaftMessage('install chunk did not decode to an append');
    const last = message.entries[message.entries.length - 1];
    if (message.commit < last.index) throw new MalformedRaftMessage(`install chunk up to ${last.index} is not committed (commit ${message.commit})`);
    const step = await store(message);
    if (!step.stored) return { matchIndex: prevIndex, refused: true, detail: step.detail };
    prevIndex = last.index;
    prevTerm = last.term;
  }
  return { matchIndex: prevIndex, refused: false, detail: '' };
}
