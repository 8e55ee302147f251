/**
 * Issue 6, real processes: replacing a node of a 3-node group while a producer runs, as an
 * operator does it with the CLI: start a fourth and a fifth node with `joinAsLearner`, `admin
 * addMember` each (learner, caught up, promoted), then `admin removeMember` of the current leader (leadership is
 * handed over first). No acknowledged message may be lost and no send may fail beyond the client's
 * own retries; the removed node leaves the routes; the group keeps a leader throughout.
 */
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import type { CliResult, Closable } from './cluster-helpers.js';
import { adminCli, expectAllDelivered, raftStatus, startCluster, startProducer, waitFor } from './cluster-helpers.js';

type Cluster = Awaited<ReturnType<typeof startCluster>>;

describe('membership changes: addMember / removeMember under load (real processes)', function () {
  this.timeout(240_000);
  let cluster: Cluster;
  const owned: Closable[] = [];

  before(async () => {
    cluster = await startCluster({ nodes: 3 });
  });

  after(async () => {
    for (const closable of owned.splice(0)) await closable.shutdown().catch(() => undefined);
    await cluster?.dispose();
  });

  const cli = (...args: string[]): Promise<CliResult> => adminCli(cluster, ...args);

  interface MemberRow { nodeId: string; role: string; membership: string | null }

  async function members(): Promise<MemberRow[]> {
    const result = await cli('raftStatus', '-o', 'json');
    expect(result.code, result.stderr).to.equal(0);
    return (JSON.parse(result.stdout) as Array<{ members: MemberRow[] }>)[0].members;
  }

  it('adds a fourth node as a learner, promotes it, removes the old leader; nothing acknowledged is lost', async () => {
    const topic = 'MembershipTopic';
    expect((await cli('updateTopic', '-t', topic, '-r', '4', '-w', '4')).code).to.equal(0);
    const producer = await startProducer(cluster, topic, owned);
    const acked = new Set<string>();
    const failures: string[] = [];
    let stop = false;
    let sequence = 0;
    const senders = Array.from({ length: 2 }, async () => {
      while (!stop) {
        const body = `member-${sequence++}`;
        try {
          await producer.send({ topic, tag: 't', body: Buffer.from(body) });
          acked.add(body);
        } catch (error) {
          failures.push(error instanceof Error ? error.message : String(error));
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    });

    try {
      await waitFor('first acknowledgements', () => acked.size >= 200, 30_000);
      // Not a member yet: a learner that joins refuses nothing and votes for nobody.
      const newcomer = cluster.addNodeSlot();
      await cluster.startNode(newcomer.id, 30_000, { joinAsLearner: true });
      const added = await cli('addMember', '-b', 'broker-a', '--id', newcomer.id, '--raft-address', newcomer.raft!, '-o', 'json');
      expect(added.code, added.stderr).to.equal(0);
      expect(added.stderr).to.match(/added as a learner/);
      const addedJson = JSON.parse(added.stdout) as { members: Array<{ nodeId: string; voter: boolean }> };
      expect(addedJson.members.map((m) => `${m.nodeId}:${m.voter}`).sort()).to.deep.equal(['n0:true', 'n1:true', 'n2:true', `${newcomer.id}:true`]);
      await waitFor('the new voter caught up', async () => (await raftStatus(cluster, newcomer.id)).commitIndex >= (await raftStatus(cluster, (await cluster.leaderId())!)).commitIndex - 50);
      expect((await members()).find((m) => m.nodeId === newcomer.id)?.membership).to.equal('voter');
      // A second newcomer replays memberships from before it (and from before the first newcomer):
      // none of them names it, and none must be taken for its removal.
      const second = cluster.addNodeSlot();
      await cluster.startNode(second.id, 30_000, { joinAsLearner: true });
      const addedSecond = await cli('addMember', '-b', 'broker-a', '--id', second.id, '--raft-address', second.raft!);
      expect(addedSecond.code, addedSecond.stderr).to.equal(0);
      expect((await members()).filter((m) => m.membership === 'voter').map((m) => m.nodeId).sort()).to.deep.equal(['n0', 'n1', 'n2', newcomer.id, second.id].sort());
      expect(readFileSync(second.logFile, 'utf8')).to.not.match(/removed from its group/);

      // Remove the node that leads now: it hands over first.
      const oldLeader = await waitFor('a leader', () => cluster.leaderId().then((id) => id ?? undefined));
      const sentBefore = acked.size;
      const removed = await cli('removeMember', '-b', 'broker-a', '--id', oldLeader);
      expect(removed.code, removed.stderr).to.equal(0);
      expect(removed.stderr).to.match(/leadership moved/);
      expect(removed.stdout).to.match(new RegExp(`${oldLeader} removed`));
      const status = await cluster.nodeStatus(oldLeader);
      expect(status.raft).to.include({ role: 'follower' });
      await cluster.stopNode(oldLeader);
      cluster.forgetNode(oldLeader);
      await waitFor('more acknowledgements after the removal', () => acked.size >= sentBefore + 200, 30_000);
      const after = await waitFor('raftStatus without the removed node', async () => {
        const rows = await members();
        return rows.some((m) => m.nodeId === oldLeader) ? undefined : rows;
      }, 40_000);
      expect(after.filter((m) => m.membership === 'voter')).to.have.length(4);
      expect(after.filter((m) => m.role === 'leader')).to.have.length(1);
      const check = await cli('check');
      expect(check.code, check.stdout + check.stderr).to.equal(0);

      // The first newcomer, removed and restarted with its joinAsLearner config, stays removed.
      const removedNewcomer = await cli('removeMember', '-b', 'broker-a', '--id', newcomer.id);
      expect(removedNewcomer.code, removedNewcomer.stderr).to.equal(0);
      await cluster.stopNode(newcomer.id);
      await cluster.startNode(newcomer.id, 30_000, { joinAsLearner: true }, false);
      const ready = await fetch(`http://${newcomer.http}/readyz`);
      expect(ready.status).to.equal(503);
      expect(await ready.text()).to.match(/removed from its group/);
      await cluster.stopNode(newcomer.id);
      cluster.forgetNode(newcomer.id);
    } finally {
      stop = true;
      await Promise.all(senders);
    }
    expect(failures, `sends failed: ${failures.slice(0, 3).join('; ')}`).to.deep.equal([]);
    console.log(`      sends acknowledged: ${acked.size}, failed: ${failures.length}`);

    await expectAllDelivered(cluster, 'membership-check', topic, acked, owned);
  });

  it('refuses changes that cannot apply, with a clear message and exit 1', async () => {
    const leader = await waitFor('a leader', () => cluster.leaderId().then((id) => id ?? undefined));
    const voter = cluster.nodes.find((n) => n.id !== leader)!;
    const duplicate = await cli('addMember', '-b', 'broker-a', '--id', voter.id, '--raft-address', voter.raft!);
    expect(duplicate.code).to.equal(1);
    expect(duplicate.stderr).to.match(/PRECONDITION_FAILED: .*already a voter/);
    const unknown = await cli('removeMember', '-b', 'broker-a', '--id', 'n42');
    expect(unknown.code).to.equal(1);
    expect(unknown.stderr).to.match(/PRECONDITION_FAILED: n42 is not a member/);
    const badAddress = await cli('addMember', '-b', 'broker-a', '--id', 'n9', '--raft-address', 'nowhere');
    expect(badAddress.code).to.equal(1);
    expect(badAddress.stderr).to.match(/BAD_REQUEST: raft address "nowhere" is not host:port/);
  });
});
