/**
 * Loads the gRPC definitions LedgerMQ serves and calls: the official `apache.rocketmq.v2` protos
 * shipped in the `rocketmq-client-nodejs` package (never copied into this repository) and our
 * internal `ledgermq.v1` protos under lib/protocol/proto/.
 *
 * Loading happens once per process, at first use, with synchronous fs (startup only).
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProtoGrpcType as BrokerProto } from '../gen/internal/broker.js';
import type { ProtoGrpcType as NameServiceProto } from '../gen/internal/namesrv.js';
import type { ProtoGrpcType as RaftProto } from '../gen/raft/raft.js';
import type { ProtoGrpcType as V2Proto } from '../gen/v2/service.js';

/** Options matching the generated types in lib/gen (scripts/gen-proto-types.mjs). */
const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the ledgermq package root');
    dir = parent;
  }
  return dir;
}

/** Folder holding `apache/rocketmq/v2/*.proto`, inside the installed rocketmq-client-nodejs. */
export function v2ProtoRoot(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('rocketmq-client-nodejs/package.json')), 'proto');
}

/** Folder holding `ledgermq/v1/*.proto`. */
export function internalProtoRoot(): string {
  return join(packageRoot(), 'lib/protocol/proto');
}

let v2: V2Proto | undefined;
let internal: (BrokerProto & NameServiceProto) | undefined;
let raft: RaftProto | undefined;

/** The `apache.rocketmq.v2` package (MessagingService and its messages). */
export function loadV2(): V2Proto {
  if (!v2) {
    const definition = protoLoader.loadSync('apache/rocketmq/v2/service.proto', { ...LOADER_OPTIONS, includeDirs: [v2ProtoRoot()] });
    v2 = grpc.loadPackageDefinition(definition) as unknown as V2Proto;
  }
  return v2;
}

/** The internal `ledgermq.v1` package (BrokerService, NameService). */
export function loadInternal(): BrokerProto & NameServiceProto {
  if (!internal) {
    const definition = protoLoader.loadSync(['ledgermq/v1/broker.proto', 'ledgermq/v1/namesrv.proto'], {
      ...LOADER_OPTIONS,
      includeDirs: [internalProtoRoot()],
    });
    internal = grpc.loadPackageDefinition(definition) as unknown as BrokerProto & NameServiceProto;
  }
  return internal;
}

/** The `ledgermq.raft.v1` package (RaftService). Its u64 fields load as numbers, not strings. */
export function loadRaft(): RaftProto {
  if (!raft) {
    const definition = protoLoader.loadSync('ledgermq/raft/v1/raft.proto', { ...LOADER_OPTIONS, longs: Number, includeDirs: [internalProtoRoot()] });
    raft = grpc.loadPackageDefinition(definition) as unknown as RaftProto;
  }
  return raft;
}
