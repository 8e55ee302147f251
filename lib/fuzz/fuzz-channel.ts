/**
 * The one place that makes the fuzz suite's gRPC clients and call metadata. Credentials plug into
 * {@link FuzzCredentials} and every fuzz client (Raft, broker, name service, Proxy) picks them up:
 * with {@link clusterSecretCredentials}, Raft calls that name a sender carry the cluster signature
 * (lib/security/cluster-auth.ts), so the fuzz reaches the Raft decoder and core as a member with a
 * broken or lying implementation would; calls naming no sender stay unsigned and are refused.
 */
import * as grpc from '@grpc/grpc-js';
import { clusterHeaders } from '../security/request-signature.js';

/** How fuzz calls authenticate. The default is the cluster's current insecure transport. */
export interface FuzzCredentials {
  channel(): grpc.ChannelCredentials;
  /** Adds what a call needs to be accepted (signatures...) to metadata that names its sender. */
  sign(metadata: grpc.Metadata, path: string): grpc.Metadata;
}

/** The insecure transport every LedgerMQ listener uses today. */
export const insecureFuzzCredentials: FuzzCredentials = {
  channel: () => grpc.credentials.createInsecure(),
  sign: (metadata) => metadata,
};

const RAFT_PATH_PREFIX = '/ledgermq.raft.v1.RaftService/';

/** Plaintext channels; Raft calls naming a sender are signed with `clusterSecret` as that sender. */
export function clusterSecretCredentials(clusterSecret: string): FuzzCredentials {
  return {
    channel: () => grpc.credentials.createInsecure(),
    sign: (metadata, path) => {
      const sender = metadata.get('x-ledgermq-node')[0];
      if (!path.startsWith(RAFT_PATH_PREFIX) || typeof sender !== 'string' || sender === '') return metadata;
      for (const [key, value] of Object.entries(clusterHeaders(sender, clusterSecret, path, Date.now()))) metadata.set(key, value);
      return metadata;
    },
  };
}

/** Who a Raft call claims to come from (the metadata keys of lib/raft/driver/raft-transport.ts). */
export interface RaftSender {
  nodeId: string;
  group: string;
  brokerAddress: string;
}

/** A generic client for `address` whose messages are already-encoded bytes (see request-firer.ts). */
export function createFuzzClient(address: string, credentials: FuzzCredentials = insecureFuzzCredentials): grpc.Client {
  return new grpc.Client(address, credentials.channel(), {
    'grpc.max_send_message_length': 16 * 1024 * 1024,
    'grpc.max_receive_message_length': 16 * 1024 * 1024,
    'grpc.initial_reconnect_backoff_ms': 100,
    'grpc.max_reconnect_backoff_ms': 1000,
  });
}

/** Call metadata for a Raft call claiming to come from `sender` (null: none at all). */
export function raftMetadata(sender: RaftSender | null, path: string, credentials: FuzzCredentials = insecureFuzzCredentials): grpc.Metadata {
  const metadata = new grpc.Metadata();
  if (sender !== null) {
    metadata.set('x-ledgermq-node', sender.nodeId);
    metadata.set('x-ledgermq-group', sender.group);
    metadata.set('x-ledgermq-broker-address', sender.brokerAddress);
  }
  return credentials.sign(metadata, path);
}

/** Call metadata of an official v2 client (or, with `headers` null, none). */
export function v2Metadata(headers: Record<string, string> | null, path: string, credentials: FuzzCredentials = insecureFuzzCredentials): grpc.Metadata {
  const metadata = new grpc.Metadata();
  for (const [key, value] of Object.entries(headers ?? {})) metadata.set(key, value);
  return credentials.sign(metadata, path);
}
