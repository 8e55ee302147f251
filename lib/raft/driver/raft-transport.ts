/**
 * The Raft transport of one node: a gRPC server that receives its peers' streams, and one
 * {@link PeerStream} per peer for what this node sends. A stream names its sender, group and broker
 * address in its metadata; streams from outside the group, or whose messages claim another sender,
 * are refused and counted. With a cluster secret, every call must also carry a valid cluster
 * signature (lib/security/cluster-auth.ts) by the member it names; unsigned calls are refused
 * before any message is read. Received messages are decoded and checked (lib/raft/driver/raft-wire.ts)
 * before they reach the node. Installs (bulk streams of committed entries to a far-behind peer,
 * lib/raft/driver/install-stream.ts) travel on calls of their own, checked the same way.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../common/logger.js';
import type { InstallChunk__Output } from '../../gen/raft/ledgermq/raft/v1/InstallChunk.js';
import type { InstallResult } from '../../gen/raft/ledgermq/raft/v1/InstallResult.js';
import type { RaftMessage__Output } from '../../gen/raft/ledgermq/raft/v1/RaftMessage.js';
import type { StreamClosed } from '../../gen/raft/ledgermq/raft/v1/StreamClosed.js';
import { loadRaft } from '../../protocol/proto-definitions.js';
import type { AppendRequest, Message, NodeId } from '../core/types.js';
import { receiveInstall, sendInstall } from './install-stream.js';
import type { InstallChunkSource, InstallOutcome, InstallStartPoint, InstallStep } from './install-stream.js';
import { PeerStream } from './peer-stream.js';
import type { PeerStreamHooks } from './peer-stream.js';
import { MalformedRaftMessage, decodeRaftMessage } from './raft-wire.js';
import type { RecordPayload } from './record-payload.js';
import type { ClusterAuth } from '../../security/cluster-auth.js';
import { signingOptions } from '../../security/signing-interceptor.js';
import { listenGrpc } from '../../security/secure-listener.js';
import type { BoundListener, RefusalReason } from '../../security/secure-listener.js';
import { internalClientTls } from '../../security/tls-config.js';
import type { ServerTls } from '../../security/tls-config.js';
import { channelCredentials } from '../../security/transport-credentials.js';

/**
 * Why a connection, call or message from a would-be peer was refused: its TLS handshake, its
 * cluster signature (`missing`, `malformed_signature`, `stale`, `bad_signature`,
 * `unknown_credential`: signed by another member than it names), a call naming no member, or a
 * message that fails decoding (`malformed`).
 */
export type PeerRefusalReason = RefusalReason | 'not_a_member' | 'missing' | 'malformed_signature' | 'stale' | 'unknown_credential' | 'bad_signature' | 'malformed';

const NODE_KEY = 'x-ledgermq-node';
const GROUP_KEY = 'x-ledgermq-group';
const BROKER_ADDRESS_KEY = 'x-ledgermq-broker-address';
/** An install whose peer takes no chunk and gives no answer for this long is cancelled. */
const INSTALL_STALL_MS = 30_000;
/** How long close() lets open calls end before it cuts them. */
const SHUTDOWN_GRACE_MS = 200;

export interface RaftTransportOptions {
  selfId: NodeId;
  group: string;
  /** This node's broker (client-facing) address, told to peers. */
  brokerAddress: string;
  /** host:port this node's Raft server binds. */
  listenAddress: string;
  /** Raft address of every other member at startup (see {@link RaftTransport.setPeers}). */
  peers: ReadonlyMap<NodeId, string>;
  /** Called for every valid message received. */
  receive: (message: Message<RecordPayload>) => void;
  /** Stores one valid install chunk (an append from the leader); resolves when durable or refused. */
  storeInstalled: (append: AppendRequest<RecordPayload>) => Promise<InstallStep>;
  hooks: PeerStreamHooks;
  logger: Logger;
  maxQueuedMessages: number;
  reconnectDelayMs: number;
  /** Largest gRPC message accepted (an append's records plus framing). */
  maxMessageBytes: number;
  /** Signs this node's calls and checks its peers'; null: no peer authentication (members are trusted by their metadata). */
  clusterAuth: ClusterAuth | null;
  /**
   * TLS (null: plaintext): the server takes mutual TLS only (a client certificate signed by the
   * CA), and streams to peers use TLS with this node's certificate.
   */
  tls: ServerTls | null;
  /** Told of every refused connection or call (metrics). */
  onRefused?: (reason: PeerRefusalReason) => void;
}


/** Counters for metrics and tests. */
export interface TransportStats {
  received: number;
  refused: number;
  /** {@link refused}, by reason. */
  refusedByReason: Readonly<Record<string, number>>;
  dropped: number;
}

/** See the file comment. */
export class RaftTransport {
  private readonly streams = new Map<NodeId, PeerStream>();
  private readonly clients = new Map<NodeId, grpc.Client>();
  private readonly metadata = new grpc.Metadata();
  private readonly brokerAddresses = new Map<NodeId, string>();
  /** Raft address of every other current member (changes with the group's membership). */
  private readonly peers = new Map<NodeId, string>();
  private received = 0;
  private readonly refusedByReason: Record<string, number> = {};
  private readonly credentials: grpc.ChannelCredentials;
  private listener: BoundListener | null = null;

  private constructor(
    private readonly options: RaftTransportOptions,
    private readonly server: grpc.Server,
  ) {
    this.credentials = channelCredentials(internalClientTls(options.tls));
    const metadata = this.metadata;
    metadata.set(NODE_KEY, options.selfId);
    metadata.set(GROUP_KEY, options.group);
    metadata.set(BROKER_ADDRESS_KEY, options.brokerAddress);
    for (const [peer, address] of options.peers) this.addPeer(peer, address);
  }

  /** Binds the Raft server; rejects if the address is taken. */
  static async start(options: RaftTransportOptions): Promise<RaftTransport> {
    const server = new grpc.Server({ 'grpc.max_receive_message_length': options.maxMessageBytes });
    const transport = new RaftTransport(options, server);
    server.addService(loadRaft().ledgermq.raft.v1.RaftService.service, {
      Stream: (call: grpc.ServerReadableStream<RaftMessage__Output, StreamClosed>, callback: grpc.sendUnaryData<StreamClosed>) => transport.accept(call, callback),
      Install: (call: grpc.ServerReadableStream<InstallChunk__Output, InstallResult>, callback: grpc.sendUnaryData<InstallResult>) => transport.acceptInstall(call, callback),
    });
    transport.listener = await listenGrpc(server, options.listenAddress, {
      tls: options.tls,
      role: 'peer',
      onRefused: (reason, remoteAddress, error) => {
        options.logger.warn({ reason, remoteAddress, err: error?.message }, 'refused a raft connection: no valid cluster certificate');
        transport.countRefusal(reason);
      },
    });
    return transport;
  }

  /**
   * Follows a membership change: links to added members, drops removed ones (their streams to us
   * are refused from now on) and relinks a member whose address changed.
   */
  setPeers(peers: ReadonlyMap<NodeId, string>): void {
    for (const [peer, address] of [...this.peers]) {
      if (peers.get(peer) === address) continue;
      this.streams.get(peer)?.close();
      this.clients.get(peer)?.close();
      this.streams.delete(peer);
      this.clients.delete(peer);
      this.peers.delete(peer);
      this.brokerAddresses.delete(peer);
    }
    for (const [peer, address] of peers) if (!this.peers.has(peer) && peer !== this.options.selfId) this.addPeer(peer, address);
  }

  private addPeer(peer: NodeId, address: string): void {
    const client = new (loadRaft().ledgermq.raft.v1.RaftService)(address, this.credentials, {
      'grpc.max_send_message_length': this.options.maxMessageBytes,
      'grpc.max_receive_message_length': this.options.maxMessageBytes,
      // Reconnect fast after a peer restarts: failover time depends on it.
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1000,
      ...signingOptions(this.options.clusterAuth === null ? null : (path) => this.options.clusterAuth!.headersFor(this.options.selfId, path)),
    });
    this.peers.set(peer, address);
    this.clients.set(peer, client);
    this.streams.set(peer, new PeerStream({
      peer, client, metadata: this.metadata, hooks: this.options.hooks, logger: this.options.logger, maxQueuedMessages: this.options.maxQueuedMessages, reconnectDelayMs: this.options.reconnectDelayMs,
    }));
  }

  /** Sends `message` to its addressee (dropped if unknown or unreachable). */
  send(message: Message<RecordPayload>): void {
    this.streams.get(message.to)?.send(message);
  }

  /** Streams `chunks` to `peer` as an install starting at `start`; resolves with the peer's answer. */
  install(peer: NodeId, start: InstallStartPoint, chunks: AsyncIterable<InstallChunkSource>): Promise<InstallOutcome> {
    const client = this.clients.get(peer);
    if (client === undefined) return Promise.reject(new Error(`unknown peer ${peer}`));
    return sendInstall(client, this.metadata, start, chunks, INSTALL_STALL_MS);
  }

  /** The broker address a peer announced on its stream, if it has connected. */
  brokerAddressOf(peer: NodeId): string | null {
    if (peer === this.options.selfId) return this.options.brokerAddress;
    return this.brokerAddresses.get(peer) ?? null;
  }

  get stats(): TransportStats {
    let dropped = 0;
    for (const stream of this.streams.values()) dropped += stream.dropped;
    const refused = Object.values(this.refusedByReason).reduce((sum, n) => sum + n, 0);
    return { received: this.received, refused, refusedByReason: { ...this.refusedByReason }, dropped };
  }

  async close(): Promise<void> {
    for (const stream of this.streams.values()) stream.close();
    for (const client of this.clients.values()) client.close();
    this.listener?.close();
    // Peers keep their streams to us open while they run: wait briefly for calls to end, then cut them.
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, SHUTDOWN_GRACE_MS);
      this.server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
  }

  private countRefusal(reason: PeerRefusalReason): void {
    this.refusedByReason[reason] = (this.refusedByReason[reason] ?? 0) + 1;
    this.options.onRefused?.(reason);
  }

  /**
   * The member a call comes from, by its metadata; null (the call answered UNAUTHENTICATED or
   * PERMISSION_DENIED and counted) when its cluster signature is missing or wrong, or it names no
   * member of this group.
   */
  private memberOf(call: grpc.ServerReadableStream<unknown, unknown>, callback: grpc.sendUnaryData<never>): NodeId | null {
    const header = (key: string): string => String(call.metadata.get(key)[0] ?? '');
    const sender = header(NODE_KEY);
    const group = header(GROUP_KEY);
    const auth = this.options.clusterAuth?.verify(header, call.getPath()) ?? null;
    if (auth !== null && (!auth.ok || auth.memberId !== sender)) {
      const reason: PeerRefusalReason = auth.ok ? 'unknown_credential' : auth.reason === 'malformed' ? 'malformed_signature' : auth.reason;
      const detail = auth.ok ? `signed by ${auth.memberId}, not by ${sender}` : auth.detail;
      this.countRefusal(reason);
      this.options.logger.warn({ sender, group, peer: call.getPeer(), reason, detail }, 'refused an unauthenticated raft call');
      callback({ code: grpc.status.UNAUTHENTICATED, details: `raft call refused: ${detail}` });
      return null;
    }
    if (group !== this.options.group || !this.peers.has(sender)) {
      this.countRefusal('not_a_member');
      this.options.logger.warn({ sender, group, peer: call.getPeer() }, 'refused a raft call from outside the group');
      callback({ code: grpc.status.PERMISSION_DENIED, details: `not a member of group ${this.options.group}` });
      return null;
    }
    const brokerAddress = String(call.metadata.get(BROKER_ADDRESS_KEY)[0] ?? '');
    if (brokerAddress) this.brokerAddresses.set(sender, brokerAddress);
    return sender;
  }

  private acceptInstall(call: grpc.ServerReadableStream<InstallChunk__Output, InstallResult>, callback: grpc.sendUnaryData<InstallResult>): void {
    const sender = this.memberOf(call, callback);
    if (sender === null) return;
    receiveInstall(call, sender, this.options.selfId, this.options.storeInstalled).then(
      (result) => callback(null, result),
      (error: unknown) => {
        const malformed = error instanceof MalformedRaftMessage;
        if (malformed) this.countRefusal('malformed');
        this.options.logger.warn({ err: error, sender }, 'install from a peer failed');
        callback({ code: malformed ? grpc.status.INVALID_ARGUMENT : grpc.status.INTERNAL, details: error instanceof Error ? error.message : String(error) });
      },
    );
  }

  private accept(call: grpc.ServerReadableStream<RaftMessage__Output, StreamClosed>, callback: grpc.sendUnaryData<StreamClosed>): void {
    const sender = this.memberOf(call, callback);
    if (sender === null) return;
    let ended = false;
    const end = (error: grpc.ServiceError | null): void => {
      if (ended) return;
      ended = true;
      callback(error, error ? undefined : {});
    };
    call.on('data', (wire: RaftMessage__Output) => {
      if (ended) return;
      let message: Message<RecordPayload>;
      try {
        message = decodeRaftMessage(wire);
        if (message.from !== sender || message.to !== this.options.selfId) throw new Error(`message from ${message.from} to ${message.to} on ${sender}'s stream`);
      } catch (error) {
        this.countRefusal('malformed');
        this.options.logger.warn({ err: error, sender }, 'refused a malformed raft message; closing the stream');
        end({ code: grpc.status.INVALID_ARGUMENT, details: error instanceof Error ? error.message : String(error) } as grpc.ServiceError);
        return;
      }
      this.received += 1;
      this.options.receive(message);
    });
    call.on('end', () => end(null));
    call.on('error', () => end(null));
  }
}
