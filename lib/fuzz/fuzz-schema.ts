/**
 * The gRPC surface the fuzz suite attacks, read from the same .proto files the servers load
 * (lib/protocol/proto-definitions.ts): every method of apache.rocketmq.v2.MessagingService (the
 * Proxy), ledgermq.v1.BrokerService, ledgermq.v1.NameService and ledgermq.raft.v1.RaftService,
 * with its request and response types as protobufjs reflection (the library @grpc/proto-loader
 * builds on), so requests are generated, encoded and mutated field by field and byte by byte.
 * Loading happens once, with synchronous fs (startup of a fuzz run).
 */
import protobuf from 'protobufjs';
import { join } from 'node:path';
import { internalProtoRoot, v2ProtoRoot } from '../protocol/proto-definitions.js';

/** The four services, named as the fuzz reports count them. */
export type FuzzServiceName = 'v2' | 'broker' | 'namesrv' | 'raft';

/** One method as the fuzz calls it. */
export interface FuzzMethod {
  service: FuzzServiceName;
  name: string;
  /** gRPC path, `/package.Service/Method`. */
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  requestType: protobuf.Type;
  responseType: protobuf.Type;
}

const SERVICES: ReadonlyArray<{ service: FuzzServiceName; root: () => string; files: string[]; fullName: string }> = [
  { service: 'v2', root: v2ProtoRoot, files: ['apache/rocketmq/v2/service.proto'], fullName: 'apache.rocketmq.v2.MessagingService' },
  { service: 'broker', root: internalProtoRoot, files: ['ledgermq/v1/broker.proto'], fullName: 'ledgermq.v1.BrokerService' },
  { service: 'namesrv', root: internalProtoRoot, files: ['ledgermq/v1/namesrv.proto'], fullName: 'ledgermq.v1.NameService' },
  { service: 'raft', root: internalProtoRoot, files: ['ledgermq/raft/v1/raft.proto'], fullName: 'ledgermq.raft.v1.RaftService' },
];

let cached: FuzzMethod[] | undefined;

function loadRoot(includeDir: string, files: readonly string[]): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (target.startsWith('/') ? target : join(includeDir, target));
  root.loadSync([...files], { keepCase: false });
  root.resolveAll();
  return root;
}

/** Every method of the four services (loaded once). */
export function fuzzMethods(): readonly FuzzMethod[] {
  if (cached) return cached;
  const methods: FuzzMethod[] = [];
  for (const entry of SERVICES) {
    const service = loadRoot(entry.root(), entry.files).lookupService(entry.fullName);
    for (const method of service.methodsArray) {
      methods.push({
        service: entry.service,
        name: method.name,
        path: `/${entry.fullName}/${method.name}`,
        requestStream: method.requestStream === true,
        responseStream: method.responseStream === true,
        requestType: method.resolvedRequestType!,
        responseType: method.resolvedResponseType!,
      });
    }
  }
  cached = methods;
  return methods;
}

/** The methods of one service. */
export function methodsOf(service: FuzzServiceName): FuzzMethod[] {
  return fuzzMethods().filter((method) => method.service === service);
}
