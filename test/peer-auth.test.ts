/**
 * Peer authentication with the cluster secret (real processes): a process that speaks the Raft
 * protocol without the cluster's signature is refused before any message is read, the refusal is
 * counted, and the group's log and term are unchanged; brokers' NameServer registrations need the
 * signature too.
 */
import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import type { LocalCluster } from '../lib/cluster/local-cluster.js';
import type { RaftMessage } from '../lib/gen/raft/ledgermq/raft/v1/RaftMessage.js';
import { loadInternal, loadRaft } from '../lib/protocol/proto-definitions.js';
import { NameServiceStub } from '../lib/namesrv/name-service-stub.js';
import { clusterHeaders } from '../lib/security/request-signature.js';
import { signingOptions } from '../lib/security/signing-interceptor.js';
import type { CallHeaders } from '../lib/security/signing-interceptor.js';
import { parseExposition } from './metrics-scraper.js';
import { adminCli, startCluster, waitFor } from './cluster-helpers.js';


interface NodeRaft { term: number; lastIndex: number; commitIndex: number; role: string }

describe('peer authentication: cluster secret on Raft and NameServer calls (real processes)', function () {
  this.timeout(120_000);
  let cluster: LocalCluster & { dispose: () => Promise<void> };

  before(async () => {
    cluster = await startCluster({ nodes: 3 });
  });

  after(async () => {
    await cluster?.dispose();
  });

  async function nodeRaft(id: string): Promise<NodeRaft> {
    return (await cluster.nodeStatus(id)).raft as NodeRaft;
  }

  async function refusedCount(id: string, reason: string): Promise<number> {
    const node = cluster.nodes.find((n) => n.id === id)!;
    const series = parseExposition(await (await fetch(`http://${node.http}/metrics`)).text());
    return series.find((s) => s.labels.__name__ === 'ledgermq_peer_auth_refused_total' && s.labels.port === 'raft' && s.labels.reason === reason)?.value ?? 0;
  }

  /** Opens a Raft stream to `address` as `from`, writes `message`, and resolves with how the call ended. */
  function strayStream(address: string, from: string, message: RaftMessage, sign: CallHeaders | null): Promise<grpc.ServiceError | null> {
    const client = new (loadRaft().ledgermq.raft.v1.RaftService)(address, grpc.credentials.createInsecure(), signingOptions(sign));
    const metadata = new grpc.Metadata();
    metadata.set('x-ledgermq-node', from);
    metadata.set('x-ledgermq-group', cluster.description.groups[0].name);
    return new Promise((resolve) => {
      const call = client.Stream(metadata, { deadline: Date.now() + 10_000 }, (error) => {
        client.close();
        resolve(error);
      });
      call.write(message);
      call.end();
    });
  }

  it('refuses a Raft append without the cluster signature, counts it, and leaves the log and term unchanged', async () => {
    expect((await adminCli(cluster, 'updateTopic', '-t', 'PeerAuthTopic', '-r', '2', '-w', '2')).code).to.equal(0);
    const leader = await waitFor('a leader', () => cluster.leaderId().then((id) => id ?? undefined));
    const follower = cluster.nodes.find((n) => n.id !== leader)!;
    await waitFor('the follower caught up', async () => {
      const [l, f] = [await nodeRaft(leader), await nodeRaft(follower.id)];
      return f.lastIndex === l.lastIndex && f.commitIndex === l.commitIndex;
    });
    const before = await nodeRaft(follower.id);
    // A forged append from the leader's id in a far newer term: accepted, it would make the
    // follower follow a leader that does not exist and cut nothing yet, but take its term.
    const forged: RaftMessage = { from: leader, to: follower.id, term: before.term + 100, append: { prevIndex: 0, prevTerm: 0, commit: 0, records: [] } };
    const secret = readFileSync(cluster.description.clusterSecretFile, 'utf8').trim();
    const refusedBefore = { missing: await refusedCount(follower.id, 'missing'), bad: await refusedCount(follower.id, 'bad_signature'), stale: await refusedCount(follower.id, 'stale') };

    const unsigned = await strayStream(follower.raft!, leader, forged, null);
    expect(unsigned?.code, unsigned?.details).to.equal(grpc.status.UNAUTHENTICATED);
    const wrongSecret = await strayStream(follower.raft!, leader, forged, (path) => clusterHeaders(leader, 'not-the-cluster-secret-at-all', path, Date.now()));
    expect(wrongSecret?.code, wrongSecret?.details).to.equal(grpc.status.UNAUTHENTICATED);
    // The right secret, but a date outside the allowed skew (a replayed header).
    const stale = await strayStream(follower.raft!, leader, forged, (path) => clusterHeaders(leader, secret, path, Date.now() - 60 * 60 * 1000));
    expect(stale?.code, stale?.details).to.equal(grpc.status.UNAUTHENTICATED);
    expect(stale?.details).to.match(/x-mq-date-time/);
    // Signed for another method: the signature binds the path.
    const otherPath = await strayStream(follower.raft!, leader, forged, () => clusterHeaders(leader, secret, '/ledgermq.raft.v1.RaftService/Install', Date.now()));
    expect(otherPath?.code, otherPath?.details).to.equal(grpc.status.UNAUTHENTICATED);
    // Control: properly signed but naming a node outside the group passes authentication and is
    // then refused as a non-member (so the refusals above came from the signature check).
    const stranger = await strayStream(follower.raft!, 'n99', { ...forged, from: 'n99' }, (path) => clusterHeaders('n99', secret, path, Date.now()));
    expect(stranger?.code, stranger?.details).to.equal(grpc.status.PERMISSION_DENIED);

    const after = await nodeRaft(follower.id);
    expect(after.term).to.equal(before.term);
    expect(after.lastIndex).to.equal(before.lastIndex);
    expect(after.commitIndex).to.equal(before.commitIndex);
    expect(after.role).to.equal('follower');
    expect(await cluster.leaderId()).to.equal(leader);
    await waitFor('the refusals counted', async () => await refusedCount(follower.id, 'stale') > refusedBefore.stale);
    expect(await refusedCount(follower.id, 'missing')).to.equal(refusedBefore.missing + 1);
    expect(await refusedCount(follower.id, 'bad_signature')).to.equal(refusedBefore.bad + 2);
    expect(await refusedCount(follower.id, 'stale')).to.equal(refusedBefore.stale + 1);
    // The group still replicates: the signed members never stopped talking.
    expect((await adminCli(cluster, 'updateTopic', '-t', 'PeerAuthTopic2', '-r', '2', '-w', '2')).code).to.equal(0);
    await waitFor('the write replicated to the follower', async () => (await nodeRaft(follower.id)).commitIndex > before.commitIndex);
  });

  it('refuses a NameServer registration without the cluster signature; the routes are unchanged', async () => {
    const namesrv = cluster.description.namesrv[0];
    const leaderAddress = (await cluster.nodeStatus((await cluster.leaderId())!)).broker as string;
    const hijack = {
      cluster: 'DefaultCluster', group: cluster.description.groups[0].name, nodeId: 'n0', brokerAddress: '127.0.0.1:1', httpAddress: '127.0.0.1:2',
      role: 'leader', term: 1_000_000, leaderId: 'n0', leaderAddress: '127.0.0.1:1', commitIndex: 1_000_000, topics: [],
    };
    const unsigned = await new NameServiceStub(namesrv).registerBroker({ registration: hijack }, 5_000);
    expect(unsigned.status?.code).to.equal(40100);
    expect(unsigned.status?.message).to.match(/no cluster signature/);
    const forgedSecret = await new NameServiceStub(namesrv, undefined, (path) => clusterHeaders('n0', 'a-guessed-secret-0000', path, Date.now())).registerBroker({ registration: hijack }, 5_000);
    expect(forgedSecret.status?.code).to.equal(40100);
    const routes = new (loadInternal().ledgermq.v1.NameService)(namesrv, grpc.credentials.createInsecure());
    const info = await new Promise<{ brokers: Array<{ registration: { brokerAddress: string; leaderAddress: string } | null }> }>((resolve, reject) =>
      routes.GetClusterInfo({}, (error, response) => (error ? reject(error) : resolve(response as never))));
    routes.close();
    expect(info.brokers.map((b) => b.registration?.brokerAddress)).to.not.include('127.0.0.1:1');
    expect(info.brokers.map((b) => b.registration?.leaderAddress)).to.include(leaderAddress);
    const http = cluster.description.namesrvProcess.http;
    const series = parseExposition(await (await fetch(`http://${http}/metrics`)).text());
    const refused = series.filter((s) => s.labels.__name__ === 'ledgermq_peer_auth_refused_total' && s.labels.port === 'namesrv');
    expect(refused.find((s) => s.labels.reason === 'missing')?.value).to.equal(1);
    expect(refused.find((s) => s.labels.reason === 'bad_signature')?.value).to.equal(1);
  });
});
