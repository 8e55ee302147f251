/**
 * TLS on every listener and mutual TLS between Raft peers (issue 8), with real processes: a 3-node
 * group in strict mode and a 1-node cluster in permissive mode, certificates from the local CA.
 */
import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Producer, PushConsumer } from '../lib/client/index.js';
import type { ClientTlsFiles } from '../lib/security/tls-config.js';
import { createLocalCertificates } from '../lib/security/local-ca.js';
import { channelCredentials } from '../lib/security/transport-credentials.js';
import { loadRaft } from '../lib/protocol/proto-definitions.js';
import { parseExposition } from './metrics-scraper.js';
import type { OfficialTlsSpec } from './fixtures/official-tls-client.js';
import { raftStatus, startCluster, waitFor } from './cluster-helpers.js';

type Cluster = Awaited<ReturnType<typeof startCluster>>;

const OFFICIAL_CLIENT = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'official-tls-client.js');

/** Runs the official client in a process that trusts `caFile` (when given); its JSON result. */
async function officialRoundTrip(spec: Omit<OfficialTlsSpec, 'count' | 'deadlineMs'>, caFile: string | null): Promise<{ ok: boolean; received?: string[]; error?: string }> {
  const env = { ...process.env, ...(caFile === null ? {} : { GRPC_DEFAULT_SSL_ROOTS_FILE_PATH: caFile }) };
  const full: OfficialTlsSpec = { ...spec, count: 3, deadlineMs: 15_000 };
  const { stdout } = await promisify(execFile)(process.execPath, [OFFICIAL_CLIENT, JSON.stringify(full)], { env }).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }));
  const line = stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(line === '' ? '{"ok":false,"error":"no output"}' : line) as { ok: boolean; received?: string[]; error?: string };
}

/** Sends `count` messages with our Producer and reads them back with a PushConsumer. */
async function ourRoundTrip(nameServers: string[], tls: ClientTlsFiles | undefined, topic: string, count: number): Promise<string[]> {
  const producer = new Producer({ nameServers, tls, requestTimeoutMs: 5_000 });
  const received: string[] = [];
  const consumer = new PushConsumer({
    nameServers, tls, group: `${topic}-group`, consumeFrom: 'FIRST_OFFSET',
    listener: (messages) => {
      for (const message of messages) received.push(message.body.toString());
      return 'SUCCESS';
    },
  }).subscribe(topic);
  try {
    for (let i = 0; i < count; i += 1) await producer.send({ topic, body: `ours-${i}` });
    await consumer.start();
    await waitFor(`${count} messages on ${topic}`, () => received.length >= count);
    return received.sort();
  } finally {
    await consumer.shutdown();
    producer.shutdown();
  }
}

/** `ledgermq_peer_auth_refused_total` of one node, by reason. */
async function refusals(cluster: Cluster, nodeId: string): Promise<Record<string, number>> {
  const node = cluster.nodes.find((n) => n.id === nodeId)!;
  const text = await (await fetch(`http://${node.http}/metrics`)).text();
  const counts: Record<string, number> = {};
  for (const series of parseExposition(text)) {
    if (series.labels.__name__ === 'ledgermq_peer_auth_refused_total' && series.labels.port === 'raft') counts[series.labels.reason] = series.value;
  }
  return counts;
}

/** Opens a Raft stream to `address` claiming to be member `claimedId`, sends one message; the call's status code. */
async function strayRaftCall(address: string, credentials: grpc.ChannelCredentials, group: string, claimedId: string): Promise<number> {
  const client = new (loadRaft().ledgermq.raft.v1.RaftService)(address, credentials);
  try {
    const metadata = new grpc.Metadata();
    metadata.set('x-ledgermq-node', claimedId);
    metadata.set('x-ledgermq-group', group);
    return await new Promise<number>((resolve) => {
      const call = client.Stream(metadata, { deadline: Date.now() + 5_000 }, (error: grpc.ServiceError | null) => resolve(error ? error.code : grpc.status.OK));
      call.on('error', () => undefined);
      call.write({});
      call.end();
    });
  } finally {
    client.close();
  }
}

describe('TLS on every listener, mutual TLS between Raft peers', function () {
  this.timeout(120_000);
  let strict: Cluster;
  let permissive: Cluster;
  let strictTls: ClientTlsFiles;

  before(async () => {
    [strict, permissive] = await Promise.all([startCluster({ nodes: 3, tls: 'strict' }), startCluster({ nodes: 1, tls: 'permissive' })]);
    strictTls = { caFile: strict.description.tls!.caFile };
  });

  after(async () => {
    await Promise.all([strict?.dispose(), permissive?.dispose()]);
  });

  it('refuses Raft connections without a cluster certificate, counts them by reason, and leaves the log unchanged', async () => {
    const group = strict.description.groups[0].name;
    const target = strict.nodes.find((n) => n.id === 'n0')!;
    // Settled first: every member holds and has committed the same entries.
    const before = await waitFor('the group to settle', async () => {
      const statuses = await Promise.all(strict.nodes.map((n) => raftStatus(strict, n.id)));
      return statuses.every((s) => s.commitIndex === statuses[0].lastIndex && s.lastIndex === statuses[0].lastIndex) ? statuses : undefined;
    });
    const counted = await refusals(strict, 'n0');

    const foreign = await createLocalCertificates(join(strict.description.tls!.caFile, '..', '..', 'foreign-certs'), { caName: 'Foreign CA' });
    const ca = readFileSync(strict.description.tls!.caFile);
    const attempts: Array<[string, grpc.ChannelCredentials]> = [
      ['plaintext', grpc.credentials.createInsecure()],
      ['no_certificate', channelCredentials({ ca })],
      ['untrusted_certificate', channelCredentials({ ca, cert: readFileSync(foreign.certFile), key: readFileSync(foreign.keyFile) })],
    ];
    for (const [reason, credentials] of attempts) {
      // It claims to be member n1 of the group: only the transport's authentication stands in its way.
      expect(await strayRaftCall(target.raft!, credentials, group, 'n1'), reason).to.equal(grpc.status.UNAVAILABLE);
      await waitFor(`${reason} counted`, async () => ((await refusals(strict, 'n0'))[reason] ?? 0) > (counted[reason] ?? 0));
    }

    const after = await Promise.all(strict.nodes.map((n) => raftStatus(strict, n.id)));
    expect(after.map((s) => [s.lastIndex, s.commitIndex])).to.deep.equal(before.map((s) => [s.lastIndex, s.commitIndex]));
    // The members themselves still talk: the group has a leader and takes writes (next tests).
    expect(after.filter((s) => s.role === 'leader')).to.have.length(1);
  });

  it('strict: our client with the CA sends and receives; without TLS it is refused', async () => {
    expect(await ourRoundTrip(strict.description.namesrv, strictTls, 'StrictOurs', 5)).to.deep.equal(['ours-0', 'ours-1', 'ours-2', 'ours-3', 'ours-4']);
    const plain = new Producer({ nameServers: strict.description.namesrv, requestTimeoutMs: 2_000 });
    try {
      const error = await plain.send({ topic: 'StrictOurs', body: 'plain' }).then(() => null, (e: unknown) => e);
      expect(error, 'a plaintext send to a strict cluster').to.be.instanceOf(Error);
    } finally {
      plain.shutdown();
    }
  });

  it('strict: the official client with sslEnabled and the CA sends and receives through the Proxy; plaintext is refused', async () => {
    const endpoints = strict.description.accessPoint;
    const [tls, plain] = await Promise.all([
      officialRoundTrip({ endpoints, sslEnabled: true, topic: 'StrictOfficial', group: 'strict-official' }, strictTls.caFile!),
      officialRoundTrip({ endpoints, sslEnabled: false, topic: 'StrictOfficialPlain', group: 'strict-official-plain' }, null),
    ]);
    expect(tls.error).to.equal(undefined);
    expect(tls.received?.sort()).to.deep.equal(['tls-0', 'tls-1', 'tls-2']);
    expect(plain.ok, 'a plaintext official client against a strict Proxy').to.equal(false);
  });

  it('permissive: the Proxy port and the client ports take TLS and plaintext', async () => {
    const endpoints = permissive.description.accessPoint;
    const caFile = permissive.description.tls!.caFile;
    const [tls, plain] = await Promise.all([
      officialRoundTrip({ endpoints, sslEnabled: true, topic: 'PermissiveTls', group: 'permissive-tls' }, caFile),
      officialRoundTrip({ endpoints, sslEnabled: false, topic: 'PermissivePlain', group: 'permissive-plain' }, null),
    ]);
    expect(tls.error).to.equal(undefined);
    expect(tls.received?.sort()).to.deep.equal(['tls-0', 'tls-1', 'tls-2']);
    expect(plain.error).to.equal(undefined);
    expect(plain.received?.sort()).to.deep.equal(['tls-0', 'tls-1', 'tls-2']);
    expect(await ourRoundTrip(permissive.description.namesrv, { caFile }, 'PermissiveOursTls', 2)).to.deep.equal(['ours-0', 'ours-1']);
    expect(await ourRoundTrip(permissive.description.namesrv, undefined, 'PermissiveOursPlain', 2)).to.deep.equal(['ours-0', 'ours-1']);
  });
});
