/**
 * Access control in front of every BrokerService handler (broker config `aclEnabled`): each call
 * is authenticated from its metadata when it opens, then authorized from its request before the
 * handler sees it.
 *
 * - **Authentication** (lib/security/request-signature.ts): `MQv2-HMAC-SHA1` signed with a user's
 *   SecretKey (users from the Raft log, or the config-file admin), its `x-mq-date-time` within
 *   `authMaxSkewMs` of this clock; or `LMQ-HMAC-SHA256` signed with the cluster secret (a cluster
 *   member such as the Proxy: allowed everything). Otherwise UNAUTHORIZED.
 * - **Authorization**: the RPC's needs (access-needs.ts) weighed by {@link AclTable.authorize};
 *   an authenticated user without the permission is FORBIDDEN. A PullStream is authenticated when
 *   it opens and each pull it carries is authorized like a PullMessages (answered with its status
 *   on the stream when refused), so a permission taken away stops the next pull.
 *
 * Every refusal counts in `ledgermq_acl_denied_total{code,reason}`.
 */
import type * as grpc from '@grpc/grpc-js';
import type { Counter } from 'prom-client';
import { LedgerError, toWireStatus } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { ClusterAuth } from '../security/cluster-auth.js';
import {
  AUTHORIZATION_HEADER, CLUSTER_ALGORITHM, DATE_TIME_HEADER, USER_ALGORITHM,
  checkDateTime, parseAuthorization, signaturesEqual, userSignature,
} from '../security/request-signature.js';
import { accessNeedOf } from './access-needs.js';
import type { AclTable } from './acl-table.js';
import { answer } from './grpc-answer.js';

/** Who a call is from, once authenticated. */
export type Principal = { kind: 'member'; memberId: string } | { kind: 'user'; accessKey: string };

type Authentication = { ok: true; principal: Principal } | { ok: false; error: LedgerError };

export interface AccessGuardOptions {
  acl: AclTable;
  /** Checks cluster members' signatures; null: no cluster secret, so no caller is a member. */
  clusterAuth: ClusterAuth | null;
  /** The allowed |date-time − clock| (read per call: broker config `authMaxSkewMs`). */
  maxSkewMs: () => number;
  /** `ledgermq_acl_denied_total`. */
  denied: Counter<'code' | 'reason'>;
  logger: Logger;
  now?: () => number;
}

/** A gRPC method as the service definition describes it. */
interface MethodShape {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
}

type AnyHandler = (call: unknown, callback?: unknown) => void;

/** See the file comment. */
export class AccessGuard {
  private readonly now: () => number;

  constructor(private readonly options: AccessGuardOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Authenticates a call's metadata (signed for the method `path`). Never throws. */
  authenticate(header: (key: string) => string, path: string): Authentication {
    const authorization = header(AUTHORIZATION_HEADER);
    const dateTime = header(DATE_TIME_HEADER);
    if (!authorization || !dateTime) return this.refuse('missing', 'the call is not signed (authorization and x-mq-date-time headers)');
    const parsed = parseAuthorization(authorization);
    if (parsed === null) return this.refuse('malformed', 'the authorization header is malformed');
    if (parsed.algorithm === CLUSTER_ALGORITHM) {
      if (this.options.clusterAuth === null) return this.refuse('unknown_credential', 'this node has no cluster secret');
      const outcome = this.options.clusterAuth.verify(header, path);
      return outcome.ok ? { ok: true, principal: { kind: 'member', memberId: outcome.memberId } } : this.refuse(outcome.reason, outcome.detail);
    }
    if (parsed.algorithm !== USER_ALGORITHM) return this.refuse('malformed', `unknown signature algorithm ${parsed.algorithm.slice(0, 40)}`);
    const maxSkewMs = this.options.maxSkewMs();
    const stale = checkDateTime(dateTime, this.now(), maxSkewMs);
    if (stale !== null) {
      return this.refuse(stale, stale === 'stale' ? `x-mq-date-time is more than ${maxSkewMs} ms from the broker's clock` : 'x-mq-date-time is not yyyyMMddTHHmmssZ');
    }
    const secretKey = this.options.acl.secretKeyOf(parsed.credential);
    if (secretKey === null) return this.refuse('unknown_credential', `no user with AccessKey ${parsed.credential.slice(0, 128)}`);
    if (!signaturesEqual(userSignature(secretKey, dateTime), parsed.signature)) return this.refuse('bad_signature', 'the signature does not match the SecretKey of that AccessKey');
    return { ok: true, principal: { kind: 'user', accessKey: parsed.credential } };
  }

  /** Whether `principal` may call `method` with `request`: null when allowed, else the refusal (counted). */
  authorize(principal: Principal, method: string, request: unknown): LedgerError | null {
    if (principal.kind === 'member') return null;
    const outcome = this.options.acl.authorize(principal.accessKey, accessNeedOf(method, request));
    if (outcome.ok) return null;
    this.options.denied.inc({ code: outcome.code, reason: outcome.reason });
    return new LedgerError(outcome.code, outcome.detail);
  }

  /**
   * Wraps every handler of `handlers` (unary, server-streaming and the PullStream duplex) with
   * the checks; `methods` is the service definition (paths and streaming kinds).
   */
  guardHandlers<T extends object>(handlers: T, methods: Record<string, MethodShape>): T {
    const guarded: Record<string, unknown> = {};
    for (const [method, handler] of Object.entries(handlers)) {
      const shape = methods[method];
      if (typeof handler !== 'function' || shape === undefined) throw new Error(`access guard: no method ${method} in the service definition`);
      const inner = handler as AnyHandler;
      if (!shape.requestStream && !shape.responseStream) guarded[method] = this.guardUnary(method, shape.path, inner);
      else if (!shape.requestStream) guarded[method] = this.guardServerStream(method, shape.path, inner);
      else guarded[method] = this.guardPullStream(shape.path, inner);
    }
    return guarded as T;
  }

  private guardUnary(method: string, path: string, inner: AnyHandler): AnyHandler {
    return (call, callback) => {
      const unary = call as grpc.ServerUnaryCall<unknown, unknown>;
      const error = this.check(unary.metadata, path, method, unary.request);
      if (error === null) return inner(call, callback);
      answer(this.options.logger, callback as (error: null, response: object) => void, () => Promise.reject(error));
    };
  }

  private guardServerStream(method: string, path: string, inner: AnyHandler): AnyHandler {
    return (call) => {
      const stream = call as grpc.ServerWritableStream<unknown, unknown>;
      const error = this.check(stream.metadata, path, method, stream.request);
      if (error === null) return inner(call);
      // Such a stream's last message carries a status (e.g. WatchTransactionChecks' TransactionCheck).
      stream.write({ status: toWireStatus(error) });
      stream.end();
    };
  }

  /**
   * PullStream: authenticated once; each `pull` frame authorized like PullMessages and, when
   * refused, answered on the stream with its status instead of reaching the handler.
   */
  private guardPullStream(path: string, inner: AnyHandler): AnyHandler {
    return (call) => {
      const duplex = call as grpc.ServerDuplexStream<PullFrame, unknown>;
      const authentication = this.authenticate(reader(duplex.metadata), path);
      const refusal = (frame: PullFrame): LedgerError | null => {
        if (frame.kind !== 'pull' || !frame.pull) return null;
        return authentication.ok ? this.authorize(authentication.principal, 'PullMessages', frame.pull) : authentication.error;
      };
      const filtered = new Proxy(duplex, {
        get(target, property) {
          const value: unknown = Reflect.get(target, property, target);
          if (property !== 'on' && property !== 'addListener') return typeof value === 'function' ? (value as AnyHandler).bind(target) : value;
          return (event: string, listener: (...args: unknown[]) => void) => {
            if (event !== 'data') return target.on(event, listener);
            return target.on('data', (frame: PullFrame) => {
              const error = refusal(frame);
              if (error === null) listener(frame);
              else target.write({ requestId: frame.requestId, response: { status: toWireStatus(error) } });
            });
          };
        },
      });
      inner(filtered);
    };
  }

  /** Authenticates then authorizes one call: null when allowed. */
  private check(metadata: grpc.Metadata, path: string, method: string, request: unknown): LedgerError | null {
    const authentication = this.authenticate(reader(metadata), path);
    return authentication.ok ? this.authorize(authentication.principal, method, request) : authentication.error;
  }

  private refuse(reason: string, detail: string): Authentication {
    this.options.denied.inc({ code: 'UNAUTHORIZED', reason });
    return { ok: false, error: new LedgerError('UNAUTHORIZED', detail) };
  }
}

/** A PullStream frame as far as the guard reads it. */
interface PullFrame {
  requestId: number;
  kind?: string;
  pull?: unknown;
}

function reader(metadata: grpc.Metadata): (key: string) => string {
  return (key) => {
    const value = metadata.get(key)[0];
    return typeof value === 'string' ? value : '';
  };
}
