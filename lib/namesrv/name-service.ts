/**
 * Protocol adapter: the `ledgermq.v1.NameService` gRPC handlers over a {@link RouteTable}.
 * Translates wire messages to table calls and back; every failure becomes a `Status` in the
 * response (mapped in {@link serveUnary}, the one place), never a gRPC error.
 */
import type * as grpc from '@grpc/grpc-js';
import { LedgerError, toWireStatus } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { StatusCode } from '../common/status-codes.js';
import type { NameServiceHandlers } from '../gen/internal/ledgermq/v1/NameService.js';
import type { Status } from '../gen/internal/ledgermq/v1/Status.js';
import { toWireRegistration } from './registered-broker.js';
import type { RegisteredBroker } from './registered-broker.js';
import type { RegisterResult, RouteTable } from './route-table.js';

/** Callbacks for the owner's metrics and logs; each is called synchronously and must not throw. */
export interface NameServiceHooks {
  /** A registration (or heartbeat) was stored; `isNew` when the node was not live before. */
  onRegistered?: (broker: RegisteredBroker, isNew: boolean) => void;
  /** A registration was refused with `error` (BAD_REQUEST, TOO_MANY_REQUESTS). */
  onRegistrationRefused?: (error: LedgerError) => void;
  /** A node unregistered itself; `wasRegistered` false when the table did not hold it. */
  onUnregistered?: (cluster: string, group: string, nodeId: string, wasRegistered: boolean) => void;
  /**
   * Checks that a registration comes from a cluster member (the cluster secret's signature): throws
   * LedgerError UNAUTHORIZED when not. Absent: registrations are not authenticated.
   */
  authenticateMember?: (header: (key: string) => string, path: string) => void;
}

const OK_STATUS: Status = { code: StatusCode.OK, message: 'OK' };

/**
 * Wraps a synchronous handler body: its result is sent with an OK status; anything it throws is
 * turned into a status by `toWireStatus` and sent through `failed` (so the response type stays
 * exact without casts). Unexpected (non-LedgerError) failures are logged at error level.
 */
function serveUnary<Req, Res>(
  logger: Logger,
  method: string,
  handle: (request: Req, call: grpc.ServerUnaryCall<Req, Res>) => Res,
  failed: (status: Status) => Res,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    let response: Res;
    try {
      response = handle(call.request, call);
    } catch (error: unknown) {
      if (error instanceof LedgerError) logger.debug({ method, code: error.code, err: error.message }, 'name service request refused');
      else logger.error({ method, err: error }, 'name service request failed unexpectedly');
      response = failed(toWireStatus(error));
    }
    callback(null, response);
  };
}

/**
 * Creates the NameService handlers. Contract per method:
 * - `RegisterBroker`: stores the registration (also the heartbeat); OK with `expireAfterMs`,
 *   BAD_REQUEST for an invalid registration, TOO_MANY_REQUESTS when the table is full,
 *   UNAUTHORIZED when the NameServer has a cluster secret and the call is not signed with it.
 * - `UnregisterBroker`: forgets the node; OK even if it was unknown (idempotent); UNAUTHORIZED as above.
 * - `GetRoute`: OK with the route; BAD_REQUEST for an empty topic; TOPIC_NOT_FOUND when no live group has it.
 * - `GetClusterInfo`: OK with every live registration and its last heartbeat time.
 */
export function createNameServiceHandlers(routeTable: RouteTable, logger: Logger, hooks: NameServiceHooks = {}): NameServiceHandlers {
  const requireMember = (call: grpc.ServerUnaryCall<unknown, unknown>): void => {
    hooks.authenticateMember?.((key) => String(call.metadata.get(key)[0] ?? ''), call.getPath());
  };
  return {
    RegisterBroker: serveUnary(
      logger,
      'RegisterBroker',
      (request, call) => {
        requireMember(call);
        let result: RegisterResult;
        try {
          result = routeTable.register(request.registration ?? {});
        } catch (error: unknown) {
          if (error instanceof LedgerError) hooks.onRegistrationRefused?.(error);
          throw error;
        }
        hooks.onRegistered?.(result.broker, result.isNew);
        return { status: OK_STATUS, expireAfterMs: routeTable.expireAfterMs };
      },
      (status) => ({ status }),
    ),
    UnregisterBroker: serveUnary(
      logger,
      'UnregisterBroker',
      (request, call) => {
        requireMember(call);
        const wasRegistered = routeTable.unregister(request.cluster, request.group, request.nodeId);
        hooks.onUnregistered?.(request.cluster, request.group, request.nodeId, wasRegistered);
        return { status: OK_STATUS };
      },
      (status) => ({ status }),
    ),
    GetRoute: serveUnary(
      logger,
      'GetRoute',
      (request) => {
        if (request.topic === '') throw new LedgerError('BAD_REQUEST', 'topic is empty');
        return { status: OK_STATUS, route: routeTable.route(request.topic) };
      },
      (status) => ({ status }),
    ),
    GetClusterInfo: serveUnary(
      logger,
      'GetClusterInfo',
      () => ({
        status: OK_STATUS,
        brokers: routeTable.brokers().map((broker) => ({
          registration: toWireRegistration(broker),
          lastHeartbeatMs: broker.lastHeartbeatMs,
        })),
      }),
      (status) => ({ status }),
    ),
  };
}
