/**
 * The way to a broker group, for the Proxy, our client and the admin tool: finds the group's
 * leader from the {@link RouteSource}, calls it over the internal BrokerService, and follows
 * NOT_LEADER hints and transport failures to the new leader within the request's deadline.
 */
import * as grpc from '@grpc/grpc-js';
import { LedgerError, NotLeaderError, fromWireStatus } from '../common/errors.js';
import type { RecallMessageRequest } from '../gen/internal/ledgermq/v1/RecallMessageRequest.js';
import type { RecallMessageResponse__Output } from '../gen/internal/ledgermq/v1/RecallMessageResponse.js';
import type { EndTransactionRequest } from '../gen/internal/ledgermq/v1/EndTransactionRequest.js';
import type { EndTransactionResponse__Output } from '../gen/internal/ledgermq/v1/EndTransactionResponse.js';
import type { WireStatus } from '../common/errors.js';
import type { AckMessagesRequest } from '../gen/internal/ledgermq/v1/AckMessagesRequest.js';
import type { AckMessagesResponse__Output } from '../gen/internal/ledgermq/v1/AckMessagesResponse.js';
import type { BrokerServiceClient } from '../gen/internal/ledgermq/v1/BrokerService.js';
import type { ChangeInvisibleDurationRequest } from '../gen/internal/ledgermq/v1/ChangeInvisibleDurationRequest.js';
import type { ChangeInvisibleDurationResponse__Output } from '../gen/internal/ledgermq/v1/ChangeInvisibleDurationResponse.js';
import type { ForwardToDeadLetterRequest } from '../gen/internal/ledgermq/v1/ForwardToDeadLetterRequest.js';
import type { ForwardToDeadLetterResponse__Output } from '../gen/internal/ledgermq/v1/ForwardToDeadLetterResponse.js';
import type { GetGroupRequest } from '../gen/internal/ledgermq/v1/GetGroupRequest.js';
import type { GetGroupResponse__Output } from '../gen/internal/ledgermq/v1/GetGroupResponse.js';
import type { TransferLeadershipRequest } from '../gen/internal/ledgermq/v1/TransferLeadershipRequest.js';
import type { QueryMessagesRequest } from '../gen/internal/ledgermq/v1/QueryMessagesRequest.js';
import type { QueryMessagesResponse__Output } from '../gen/internal/ledgermq/v1/QueryMessagesResponse.js';
import type { GetBrokerConfigRequest } from '../gen/internal/ledgermq/v1/GetBrokerConfigRequest.js';
import type { GetBrokerConfigResponse__Output } from '../gen/internal/ledgermq/v1/GetBrokerConfigResponse.js';
import type { UpdateBrokerConfigRequest } from '../gen/internal/ledgermq/v1/UpdateBrokerConfigRequest.js';
import type { UpdateBrokerConfigResponse__Output } from '../gen/internal/ledgermq/v1/UpdateBrokerConfigResponse.js';
import type { DeleteTopicRequest } from '../gen/internal/ledgermq/v1/DeleteTopicRequest.js';
import type { DeleteTopicResponse__Output } from '../gen/internal/ledgermq/v1/DeleteTopicResponse.js';
import type { UpdateGroupRequest } from '../gen/internal/ledgermq/v1/UpdateGroupRequest.js';
import type { UpdateGroupResponse__Output } from '../gen/internal/ledgermq/v1/UpdateGroupResponse.js';
import type { DeleteGroupRequest } from '../gen/internal/ledgermq/v1/DeleteGroupRequest.js';
import type { DeleteGroupResponse__Output } from '../gen/internal/ledgermq/v1/DeleteGroupResponse.js';
import type { ChangeMembershipRequest } from '../gen/internal/ledgermq/v1/ChangeMembershipRequest.js';
import type { ChangeMembershipResponse__Output } from '../gen/internal/ledgermq/v1/ChangeMembershipResponse.js';
import type { TransferLeadershipResponse__Output } from '../gen/internal/ledgermq/v1/TransferLeadershipResponse.js';
import type { GetTopicStatusRequest } from '../gen/internal/ledgermq/v1/GetTopicStatusRequest.js';
import type { GetTopicStatusResponse__Output } from '../gen/internal/ledgermq/v1/GetTopicStatusResponse.js';
import type { GetTopicRequest } from '../gen/internal/ledgermq/v1/GetTopicRequest.js';
import type { GetTopicResponse__Output } from '../gen/internal/ledgermq/v1/GetTopicResponse.js';
import type { PopMessagesRequest } from '../gen/internal/ledgermq/v1/PopMessagesRequest.js';
import type { PopMessagesResponse__Output } from '../gen/internal/ledgermq/v1/PopMessagesResponse.js';
import type { PullMessagesRequest } from '../gen/internal/ledgermq/v1/PullMessagesRequest.js';
import type { PullMessagesResponse__Output } from '../gen/internal/ledgermq/v1/PullMessagesResponse.js';
import type { SendMessagesRequest } from '../gen/internal/ledgermq/v1/SendMessagesRequest.js';
import type { SendMessagesResponse__Output } from '../gen/internal/ledgermq/v1/SendMessagesResponse.js';
import type { UpdateTopicRequest } from '../gen/internal/ledgermq/v1/UpdateTopicRequest.js';
import type { UpdateTopicResponse__Output } from '../gen/internal/ledgermq/v1/UpdateTopicResponse.js';
import type { PutAclUserRequest } from '../gen/internal/ledgermq/v1/PutAclUserRequest.js';
import type { PutAclUserResponse__Output } from '../gen/internal/ledgermq/v1/PutAclUserResponse.js';
import type { DeleteAclUserRequest } from '../gen/internal/ledgermq/v1/DeleteAclUserRequest.js';
import type { DeleteAclUserResponse__Output } from '../gen/internal/ledgermq/v1/DeleteAclUserResponse.js';
import type { ListAclUsersRequest } from '../gen/internal/ledgermq/v1/ListAclUsersRequest.js';
import type { ListAclUsersResponse__Output } from '../gen/internal/ledgermq/v1/ListAclUsersResponse.js';
import { loadInternal } from '../protocol/proto-definitions.js';
import { unaryCall } from '../protocol/unary-call.js';
import { PullStreams } from './pull-stream.js';
import type { RouteSource } from './route-source.js';
import { signingOptions } from '../security/signing-interceptor.js';
import type { CallHeaders } from '../security/signing-interceptor.js';

/** A BrokerService unary method in its (request, options, callback) form. */
export type Method<Req, Res> = (
  request: Req,
  options: grpc.CallOptions,
  callback: (error: grpc.ServiceError | null, response?: Res) => void,
) => grpc.ClientUnaryCall;

/** Attempts per request at most; the request's deadline normally ends retrying first. */
const MAX_HOPS = 64;
/** Wait before retrying when no new leader is known yet (an election takes a few hundred ms). */
const RETRY_PAUSE_MS = 50;

export class BrokerGateway {
  private readonly clients = new Map<string, BrokerServiceClient>();
  private readonly leaderHints = new Map<string, string>();
  private readonly streams = new Map<string, PullStreams>();

  /**
   * `credentials`: of the channels to brokers (lib/security/transport-credentials.ts); default
   * plaintext. `sign`: headers added to every call this gateway opens (a user's signature for our
   * client and the admin CLI, the cluster signature for the Proxy); null: unsigned.
   */
  constructor(
    private readonly routes: RouteSource,
    private readonly credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
    private readonly sign: CallHeaders | null = null,
  ) {}

  /** Address of the leader of `group` (hint from an earlier NOT_LEADER first, then the routes). */
  async leaderAddress(group: string): Promise<string> {
    const hinted = this.leaderHints.get(group);
    if (hinted) return hinted;
    const summary = (await this.routes.groups()).find((g) => g.group === group);
    if (!summary?.leaderAddress) {
      // An answer from during an election (or before the group registered) must not stay cached.
      this.routes.invalidate?.();
      if (!summary) throw new LedgerError('NOT_FOUND', `broker group ${group} is not registered`);
      throw new LedgerError('HA_NOT_AVAILABLE', `broker group ${group} has no leader now`);
    }
    return summary.leaderAddress;
  }

  /** Forgets the leader hint of `group` (a stream to it failed): the next look-up asks the routes. */
  forgetLeader(group: string): void {
    this.leaderHints.delete(group);
    this.routes.invalidate?.();
  }

  /**
   * Calls `method` on the node at `address` once (requests any node answers: its config, its
   * status). Throws the LedgerError a non-OK status stands for.
   */
  async callAt<Req, Res extends { status: WireStatus | null }>(address: string, method: (client: BrokerServiceClient) => Method<Req, Res>, request: Req, timeoutMs: number): Promise<Res> {
    const client = this.client(address);
    const response = await unaryCall(client, method(client), request, timeoutMs);
    const error = fromWireStatus(response.status);
    if (error) throw error;
    return response;
  }

  /**
   * Calls `method` on the leader of `group` and returns the response once its status is OK or a
   * final error; NOT_LEADER and unreachable leaders are retried on the new leader until
   * `timeoutMs` is spent. Throws the LedgerError a final status stands for.
   */
  async call<Req, Res extends { status: WireStatus | null }>(
    group: string,
    method: (client: BrokerServiceClient) => Method<Req, Res>,
    request: Req,
    timeoutMs: number,
    /** False for requests followers answer too (pulls): an answer then proves nothing about leadership. */
    learnLeader = true,
  ): Promise<Res> {
    return this.callLeader(group, (address, remainingMs) => {
      const client = this.client(address);
      return unaryCall(client, method(client), request, remainingMs);
    }, timeoutMs, learnLeader);
  }

  /**
   * PullMessages on the leader of `group`, over the node's multiplexed PullStream; NOT_LEADER and
   * unreachable nodes are retried as for {@link call}. `signal` gives the pull up (final error).
   */
  pull(group: string, request: PullMessagesRequest, timeoutMs: number, signal?: AbortSignal): Promise<PullMessagesResponse__Output> {
    const pollTimeoutMs = Number(request.pollTimeoutMs ?? 0);
    // What the caller allowed beyond the long poll; a retry after a failover keeps it by polling less.
    const marginMs = Math.max(0, timeoutMs - pollTimeoutMs);
    return this.callLeader(group, (address, remainingMs) => {
      const poll = Math.max(0, Math.min(pollTimeoutMs, remainingMs - marginMs));
      return this.pullStreams(address).pull({ ...request, pollTimeoutMs: poll }, remainingMs, signal);
    }, timeoutMs, false, signal);
  }

  /**
   * PullMessages on the node at `address` (a follower suggested for reads), once, over its
   * PullStream. Throws the LedgerError a non-OK status stands for, or a retriable one on a transport failure.
   */
  async pullAt(address: string, request: PullMessagesRequest, timeoutMs: number, signal?: AbortSignal): Promise<PullMessagesResponse__Output> {
    const response = await this.pullStreams(address).pull(request, timeoutMs, signal);
    const error = fromWireStatus(response.status);
    if (error) throw error;
    return response;
  }

  /**
   * Sends to the leader of `group` with `send` and returns the answer once its status is OK or a
   * final error; NOT_LEADER and unreachable leaders are retried on the new leader until
   * `timeoutMs` is spent. `send` rejects with a LedgerError carrying a cause on transport failures.
   */
  private async callLeader<Res extends { status: WireStatus | null }>(
    group: string,
    send: (address: string, remainingMs: number) => Promise<Res>,
    timeoutMs: number,
    learnLeader: boolean,
    /** Gives the request up between attempts too (final error). */
    signal?: AbortSignal,
  ): Promise<Res> {
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown = null;
    for (let hop = 0; hop < MAX_HOPS && Date.now() < deadline; hop++) {
      if (signal?.aborted) throw new LedgerError('INTERNAL_SERVER_ERROR', 'the request was given up', { retriable: false });
      let address: string;
      try {
        address = await this.leaderAddress(group);
      } catch (error) {
        lastError = error;
        await pause(RETRY_PAUSE_MS, signal);
        continue;
      }
      try {
        const response = await send(address, Math.max(1, deadline - Date.now()));
        const error = fromWireStatus(response.status);
        if (!error) {
          if (learnLeader) this.leaderHints.set(group, address);
          return response;
        }
        if (error instanceof NotLeaderError) {
          lastError = error;
          if (error.leaderAddress && error.leaderAddress !== address) {
            this.leaderHints.set(group, error.leaderAddress);
          } else {
            this.leaderHints.delete(group);
            this.routes.invalidate?.();
            await pause(Math.min(RETRY_PAUSE_MS, Math.max(0, deadline - Date.now())), signal);
          }
          continue;
        }
        throw error;
      } catch (error) {
        if (error instanceof LedgerError && error.cause === undefined && !(error instanceof NotLeaderError)) throw error;
        lastError = error;
        this.leaderHints.delete(group);
        this.routes.invalidate?.();
        await pause(RETRY_PAUSE_MS, signal);
      }
    }
    if (lastError instanceof LedgerError) throw lastError;
    throw new LedgerError('PROXY_TIMEOUT', `no answer from broker group ${group} in ${timeoutMs} ms`, { cause: lastError });
  }

  sendMessages(group: string, request: SendMessagesRequest, timeoutMs: number): Promise<SendMessagesResponse__Output> {
    return this.call<SendMessagesRequest, SendMessagesResponse__Output>(group, (c) => (r, o, cb) => c.SendMessages(r, o, cb), request, timeoutMs);
  }

  popMessages(group: string, request: PopMessagesRequest, timeoutMs: number): Promise<PopMessagesResponse__Output> {
    return this.call<PopMessagesRequest, PopMessagesResponse__Output>(group, (c) => (r, o, cb) => c.PopMessages(r, o, cb), request, timeoutMs);
  }

  ackMessages(group: string, request: AckMessagesRequest, timeoutMs: number): Promise<AckMessagesResponse__Output> {
    return this.call<AckMessagesRequest, AckMessagesResponse__Output>(group, (c) => (r, o, cb) => c.AckMessages(r, o, cb), request, timeoutMs);
  }

  changeInvisibleDuration(group: string, request: ChangeInvisibleDurationRequest, timeoutMs: number): Promise<ChangeInvisibleDurationResponse__Output> {
    return this.call<ChangeInvisibleDurationRequest, ChangeInvisibleDurationResponse__Output>(group, (c) => (r, o, cb) => c.ChangeInvisibleDuration(r, o, cb), request, timeoutMs);
  }

  forwardToDeadLetter(group: string, request: ForwardToDeadLetterRequest, timeoutMs: number): Promise<ForwardToDeadLetterResponse__Output> {
    return this.call<ForwardToDeadLetterRequest, ForwardToDeadLetterResponse__Output>(group, (c) => (r, o, cb) => c.ForwardToDeadLetter(r, o, cb), request, timeoutMs);
  }

  getTopic(group: string, request: GetTopicRequest, timeoutMs: number): Promise<GetTopicResponse__Output> {
    return this.call<GetTopicRequest, GetTopicResponse__Output>(group, (c) => (r, o, cb) => c.GetTopic(r, o, cb), request, timeoutMs);
  }

  updateTopic(group: string, request: UpdateTopicRequest, timeoutMs: number): Promise<UpdateTopicResponse__Output> {
    return this.call<UpdateTopicRequest, UpdateTopicResponse__Output>(group, (c) => (r, o, cb) => c.UpdateTopic(r, o, cb), request, timeoutMs);
  }

  /** Messages by key or id from the leader of `group`. */
  queryMessages(group: string, request: QueryMessagesRequest, timeoutMs: number): Promise<QueryMessagesResponse__Output> {
    return this.call<QueryMessagesRequest, QueryMessagesResponse__Output>(group, (c) => (r, o, cb) => c.QueryMessages(r, o, cb), request, timeoutMs, false);
  }

  /** Messages by key or id from the node at `address` (a follower answers from its own index). */
  queryMessagesAt(address: string, request: QueryMessagesRequest, timeoutMs: number): Promise<QueryMessagesResponse__Output> {
    return this.callAt<QueryMessagesRequest, QueryMessagesResponse__Output>(address, (c) => (r, o, cb) => c.QueryMessages(r, o, cb), request, timeoutMs);
  }

  /** This node's config (any node answers). */
  getBrokerConfig(address: string, timeoutMs: number): Promise<GetBrokerConfigResponse__Output> {
    return this.callAt<GetBrokerConfigRequest, GetBrokerConfigResponse__Output>(address, (c) => (r, o, cb) => c.GetBrokerConfig(r, o, cb), {}, timeoutMs);
  }

  /** Changes one key of this node's config (any node answers). */
  updateBrokerConfig(address: string, request: UpdateBrokerConfigRequest, timeoutMs: number): Promise<UpdateBrokerConfigResponse__Output> {
    return this.callAt<UpdateBrokerConfigRequest, UpdateBrokerConfigResponse__Output>(address, (c) => (r, o, cb) => c.UpdateBrokerConfig(r, o, cb), request, timeoutMs);
  }

  deleteTopic(group: string, request: DeleteTopicRequest, timeoutMs: number): Promise<DeleteTopicResponse__Output> {
    return this.call<DeleteTopicRequest, DeleteTopicResponse__Output>(group, (c) => (r, o, cb) => c.DeleteTopic(r, o, cb), request, timeoutMs);
  }

  updateGroup(group: string, request: UpdateGroupRequest, timeoutMs: number): Promise<UpdateGroupResponse__Output> {
    return this.call<UpdateGroupRequest, UpdateGroupResponse__Output>(group, (c) => (r, o, cb) => c.UpdateGroup(r, o, cb), request, timeoutMs);
  }

  deleteGroup(group: string, request: DeleteGroupRequest, timeoutMs: number): Promise<DeleteGroupResponse__Output> {
    return this.call<DeleteGroupRequest, DeleteGroupResponse__Output>(group, (c) => (r, o, cb) => c.DeleteGroup(r, o, cb), request, timeoutMs);
  }

  changeMembership(group: string, request: ChangeMembershipRequest, timeoutMs: number): Promise<ChangeMembershipResponse__Output> {
    return this.call<ChangeMembershipRequest, ChangeMembershipResponse__Output>(group, (c) => (r, o, cb) => c.ChangeMembership(r, o, cb), request, timeoutMs, false);
  }

  transferLeadership(group: string, request: TransferLeadershipRequest, timeoutMs: number): Promise<TransferLeadershipResponse__Output> {
    return this.call<TransferLeadershipRequest, TransferLeadershipResponse__Output>(group, (c) => (r, o, cb) => c.TransferLeadership(r, o, cb), request, timeoutMs, false);
  }

  getTopicStatus(group: string, request: GetTopicStatusRequest, timeoutMs: number): Promise<GetTopicStatusResponse__Output> {
    return this.call<GetTopicStatusRequest, GetTopicStatusResponse__Output>(group, (c) => (r, o, cb) => c.GetTopicStatus(r, o, cb), request, timeoutMs);
  }

  endTransaction(group: string, request: EndTransactionRequest, timeoutMs: number): Promise<EndTransactionResponse__Output> {
    return this.call(group, (c) => (r, o, cb) => c.EndTransaction(r, o, cb), request, timeoutMs);
  }

  recallMessage(group: string, request: RecallMessageRequest, timeoutMs: number): Promise<RecallMessageResponse__Output> {
    return this.call(group, (c) => (r, o, cb) => c.RecallMessage(r, o, cb), request, timeoutMs);
  }

  getGroup(group: string, request: GetGroupRequest, timeoutMs: number): Promise<GetGroupResponse__Output> {
    return this.call<GetGroupRequest, GetGroupResponse__Output>(group, (c) => (r, o, cb) => c.GetGroup(r, o, cb), request, timeoutMs);
  }

  /** Creates or replaces an ACL user on `group` (through its Raft log). */
  putAclUser(group: string, request: PutAclUserRequest, timeoutMs: number): Promise<PutAclUserResponse__Output> {
    return this.call<PutAclUserRequest, PutAclUserResponse__Output>(group, (c) => (r, o, cb) => c.PutAclUser(r, o, cb), request, timeoutMs);
  }

  deleteAclUser(group: string, request: DeleteAclUserRequest, timeoutMs: number): Promise<DeleteAclUserResponse__Output> {
    return this.call<DeleteAclUserRequest, DeleteAclUserResponse__Output>(group, (c) => (r, o, cb) => c.DeleteAclUser(r, o, cb), request, timeoutMs);
  }

  /** `group`'s ACL users, secret keys masked. */
  listAclUsers(group: string, timeoutMs: number): Promise<ListAclUsersResponse__Output> {
    return this.call<ListAclUsersRequest, ListAclUsersResponse__Output>(group, (c) => (r, o, cb) => c.ListAclUsers(r, o, cb), {}, timeoutMs);
  }

  /** The ACL users the node at `address` holds (any member answers). */
  listAclUsersAt(address: string, timeoutMs: number): Promise<ListAclUsersResponse__Output> {
    return this.callAt<ListAclUsersRequest, ListAclUsersResponse__Output>(address, (c) => (r, o, cb) => c.ListAclUsers(r, o, cb), {}, timeoutMs);
  }

  /** The multiplexed pull streams to one broker address (kept open). */
  private pullStreams(address: string): PullStreams {
    let streams = this.streams.get(address);
    if (!streams) {
      streams = new PullStreams(this.client(address), address);
      this.streams.set(address, streams);
    }
    return streams;
  }

  /** The client for one broker address (kept open). */
  client(address: string): BrokerServiceClient {
    let client = this.clients.get(address);
    if (!client) {
      client = new (loadInternal().ledgermq.v1.BrokerService)(address, this.credentials, {
        'grpc.max_receive_message_length': 64 * 1024 * 1024,
        'grpc.max_send_message_length': 64 * 1024 * 1024,
        // A node restarted after a crash is back within a second or two; grpc-js's default
        // reconnect backoff (1 s growing to 120 s) would keep failing calls to it much longer.
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': 1_000,
        ...signingOptions(this.sign),
      });
      this.clients.set(address, client);
    }
    return client;
  }

  close(): void {
    for (const streams of this.streams.values()) streams.close();
    this.streams.clear();
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function pause(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
