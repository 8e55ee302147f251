/**
 * Plans one fuzz request: which method, which target, the frames (encoded, maybe mutated) and the
 * call metadata. A plan is plain data (bytes as base64), so a finding is saved as it was sent and
 * replayed from test/fuzz-corpus/ by the regression test.
 *
 * Limits that keep a run checkable (documented in the README): Raft calls that name a real member
 * carry term 0 (always stale once a leader exists), because Raft trusts its members and a forged
 * message of a newer term could legitimately make a node commit or drop entries (the core's
 * handling of those is fuzzed without a network in lib/fuzz/raft-core-fuzz.ts); membership
 * changes are only sent with an invalid action, since a valid one would change the group.
 */
import type * as grpc from '@grpc/grpc-js';
import { createFuzzClient, raftMetadata, v2Metadata } from './fuzz-channel.js';
import type { FuzzCredentials } from './fuzz-channel.js';
import type { FuzzRandom } from './fuzz-random.js';
import type { FuzzMethod, FuzzServiceName } from './fuzz-schema.js';
import { fuzzMethods } from './fuzz-schema.js';
import { encodeMessage, generateMessage, mutateMessage } from './request-generator.js';
import type { NamePools } from './request-generator.js';
import { mutateBytes } from './wire-mutator.js';
import { fireRequest } from './request-firer.js';
import type { FireOutcome } from './request-firer.js';

/** Where the cluster under test listens, and what its Raft members are called. */
export interface FuzzTargets {
  proxy: string;
  namesrv: string;
  brokers: readonly string[];
  /** Raft members: id and Raft address. */
  raft: ReadonlyArray<{ id: string; address: string }>;
  group: string;
}

/** One request as sent (JSON-safe: the corpus format of a gRPC case). */
export interface RequestPlan {
  service: FuzzServiceName;
  method: string;
  /** Index into `brokers` or `raft` for those services; 0 otherwise. */
  target: number;
  mutation: 'valid' | 'fields' | 'bytes';
  /** Encoded frames, base64. */
  frames: string[];
  /** Call metadata; `raftSender` names a Raft caller instead. */
  metadata: Record<string, string> | null;
  raftSender: { nodeId: string; group: string } | null;
}

/** How long a fuzz stream is held open before this side cancels it. */
const STREAM_HOLD_MS = 3_000;

const SERVICE_WEIGHTS: ReadonlyArray<[FuzzServiceName, number]> = [['v2', 0.35], ['broker', 0.35], ['namesrv', 0.1], ['raft', 0.2]];

function pickService(random: FuzzRandom): FuzzServiceName {
  let roll = random.float();
  for (const [service, weight] of SERVICE_WEIGHTS) {
    roll -= weight;
    if (roll < 0) return service;
  }
  return 'v2';
}

function methodByName(service: FuzzServiceName, name: string): FuzzMethod {
  const method = fuzzMethods().find((m) => m.service === service && m.name === name);
  if (method === undefined) throw new Error(`no method ${service}.${name}`);
  return method;
}

/** Valid v2 client headers, or a broken set. */
function v2Headers(random: FuzzRandom): Record<string, string> | null {
  if (random.chance(0.1)) return null;
  const headers: Record<string, string> = {
    'x-mq-client-id': `fuzz-client-${random.int(0, 9)}`, 'x-mq-language': 'HTTP', 'x-mq-protocol': 'v2', 'x-mq-client-version': '5.0.0', 'x-mq-request-id': random.bytes(8).toString('hex'),
  };
  if (random.chance(0.2)) headers[random.pick(Object.keys(headers))] = random.oddText();
  return headers;
}

/** One frame for `method`: valid-shaped, field-mutated or byte-mutated; fixed up by `adjust`. */
function planFrame(method: FuzzMethod, random: FuzzRandom, pools: NamePools, mutation: RequestPlan['mutation'], adjust: (message: Record<string, unknown>) => void, keepBytes: (bytes: Buffer) => boolean): Buffer {
  const valid = generateMessage(method.requestType, random, pools);
  adjust(valid);
  const validBytes = encodeMessage(method.requestType, valid);
  if (mutation === 'bytes') {
    const mutated = mutateBytes(validBytes, random);
    return keepBytes(mutated) ? mutated : validBytes;
  }
  if (mutation === 'fields') {
    try {
      const mutated = mutateMessage(valid, random);
      adjust(mutated);
      return encodeMessage(method.requestType, mutated);
    } catch {
      // A hostile value protobufjs cannot encode: send the valid one (bytes mutations cover types).
      return validBytes;
    }
  }
  return validBytes;
}

/** Plans a random request against `targets`. */
export function planRequest(random: FuzzRandom, targets: FuzzTargets, pools: NamePools): RequestPlan {
  const service = pickService(random);
  const method = random.pick(fuzzMethods().filter((m) => m.service === service));
  const mutation = random.pick(['valid', 'fields', 'fields', 'bytes'] as const);
  const target = service === 'broker' ? random.int(0, targets.brokers.length - 1) : service === 'raft' ? random.int(0, targets.raft.length - 1) : 0;
  const frameCount = method.requestStream ? random.int(0, 4) : 1;
  let raftSender: RequestPlan['raftSender'] = null;
  let adjust: (message: Record<string, unknown>) => void = () => undefined;
  let keepBytes: (bytes: Buffer) => boolean = () => true;
  if (method.name === 'ChangeMembership') {
    adjust = (message) => {
      message.action = random.pick([0, 7, -1, 'ACTION_UNSPECIFIED']);
    };
  }
  if (service === 'raft') {
    const self = targets.raft[target].id;
    const members = targets.raft.map((m) => m.id).filter((id) => id !== self);
    const roll = random.float();
    if (roll < 0.15) raftSender = null;
    else if (roll < 0.3) raftSender = { nodeId: random.chance(0.5) ? random.oddText().replace(/[^\x20-\x7e]/g, '') : 'n9', group: targets.group };
    else if (roll < 0.4) raftSender = { nodeId: random.pick(members), group: `${targets.group}-other` };
    else raftSender = { nodeId: random.pick(members), group: targets.group };
    const sender = raftSender?.nodeId ?? 'n9';
    const stale = (message: Record<string, unknown>): void => {
      if (random.chance(0.85)) message.from = sender;
      if (random.chance(0.85)) message.to = self;
      message.term = 0;
      const start = message.start as Record<string, unknown> | undefined;
      if (start !== undefined && start !== null && typeof start === 'object') Object.assign(start, { from: sender, to: self, term: 0 });
    };
    adjust = stale;
    // A byte mutation that still decodes with a newer term would be a forged message: keep it
    // only when it does not decode or stays in term 0.
    keepBytes = (bytes) => {
      try {
        const decoded = method.requestType.toObject(method.requestType.decode(bytes), { longs: Number }) as { term?: number; start?: { term?: number } };
        return (decoded.term ?? 0) === 0 && (decoded.start?.term ?? 0) === 0;
      } catch {
        return true;
      }
    };
  }
  const frames = Array.from({ length: frameCount }, () => planFrame(method, random, pools, mutation, adjust, keepBytes).toString('base64'));
  return { service, method: method.name, target, mutation, frames, metadata: service === 'v2' ? v2Headers(random) : null, raftSender };
}

/** The address a plan goes to. */
export function addressOf(plan: RequestPlan, targets: FuzzTargets): string {
  switch (plan.service) {
    case 'v2':
      return targets.proxy;
    case 'namesrv':
      return targets.namesrv;
    case 'broker':
      return targets.brokers[plan.target % targets.brokers.length];
    case 'raft':
      return targets.raft[plan.target % targets.raft.length].address;
  }
}

/** Metadata for a plan; a header value gRPC refuses to send is dropped. */
function metadataOf(plan: RequestPlan, method: FuzzMethod, targets: FuzzTargets, credentials?: FuzzCredentials): grpc.Metadata {
  if (plan.service === 'raft') {
    const sender = plan.raftSender === null ? null : { ...plan.raftSender, brokerAddress: targets.brokers[0] ?? '' };
    try {
      return raftMetadata(sender, method.path, credentials);
    } catch {
      return raftMetadata(null, method.path, credentials);
    }
  }
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(plan.metadata ?? {})) {
    try {
      v2Metadata({ [key]: value }, method.path);
      headers[key] = value;
    } catch {
      // an illegal header value: gRPC would not send it
    }
  }
  return v2Metadata(plan.metadata === null ? null : headers, method.path, credentials);
}

/** Per-address clients, reused across requests of a run. */
export class FuzzClients {
  private readonly clients = new Map<string, grpc.Client>();

  constructor(private readonly credentials?: FuzzCredentials) {}

  client(address: string): grpc.Client {
    let client = this.clients.get(address);
    if (client === undefined) {
      client = createFuzzClient(address, this.credentials);
      this.clients.set(address, client);
    }
    return client;
  }

  /** Sends `plan` and resolves with how it ended. */
  fire(plan: RequestPlan, targets: FuzzTargets, deadlineMs: number): Promise<FireOutcome> {
    const method = methodByName(plan.service, plan.method);
    const frames = plan.frames.map((frame) => Buffer.from(frame, 'base64'));
    // Streams still open after a few seconds are cancelled by us (they answered, or hold a long poll).
    return fireRequest(this.client(addressOf(plan, targets)), method, frames, metadataOf(plan, method, targets, this.credentials), deadlineMs, Math.min(deadlineMs, STREAM_HOLD_MS));
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }
}
