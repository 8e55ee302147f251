/**
 * Issue 6, real processes: admin brokerStatus, getBrokerConfig and updateBrokerConfig on a broker
 * node. A live key applies to the next request; a restart key is persisted and applies at the next
 * start; fixed, unknown and mistyped keys are refused; only overridden keys are persisted.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Closable } from './cluster-helpers.js';
import { adminCli, startCluster, startProducer } from './cluster-helpers.js';

type Cluster = Awaited<ReturnType<typeof startCluster>>;

interface ConfigView {
  node: string;
  config: Record<string, { value: unknown; default: unknown; applies: string; overridden: boolean; pendingRestart: boolean }>;
}

describe('admin brokerStatus, getBrokerConfig, updateBrokerConfig (real processes)', function () {
  this.timeout(120_000);
  let cluster: Cluster;
  const owned: Closable[] = [];

  before(async () => {
    cluster = await startCluster({ nodes: 1 });
  });

  after(async () => {
    for (const closable of owned.splice(0)) await closable.shutdown().catch(() => undefined);
    await cluster?.dispose();
  });

  async function config(): Promise<ConfigView['config']> {
    const result = await adminCli(cluster, 'getBrokerConfig', '-b', 'broker-a', '-o', 'json');
    expect(result.code, result.stderr).to.equal(0);
    return (JSON.parse(result.stdout) as ConfigView[])[0].config;
  }

  it('brokerStatus shows each member\'s role, indexes and runtime figures', async () => {
    const result = await adminCli(cluster, 'brokerStatus', '-b', 'broker-a');
    expect(result.code, result.stderr).to.equal(0);
    for (const key of ['role', 'commitIndex', 'rssBytes', 'commitLogBytes', 'uptimeSeconds']) expect(result.stdout).to.match(new RegExp(`n0\\s+\\S*\\s*${key}`));
    const json = JSON.parse((await adminCli(cluster, 'brokerStatus', '-b', 'broker-a', '-o', 'json')).stdout) as Array<{ node: string; role: string; runtime: { pid: number } }>;
    expect(json[0]).to.include({ node: 'n0', role: 'leader' });
    expect(json[0].runtime.pid).to.equal(cluster.nodes[0].pid);
    const missing = await adminCli(cluster, 'brokerStatus', '-b', 'nowhere');
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.match(/NOT_FOUND: broker group nowhere is not registered/);
  });

  it('applies a live key at once, a restart key at the next start, and persists only the overrides', async () => {
    const before = await config();
    expect(before.maxBodyBytes).to.deep.include({ value: 4 * 1024 * 1024, applies: 'live', overridden: false });
    expect(before.registerIntervalMs).to.deep.include({ applies: 'restart' });
    expect(before.nodeId).to.deep.include({ value: 'n0', applies: 'fixed' });

    const producer = await startProducer(cluster, 'ConfigTopic', owned);
    await producer.send({ topic: 'ConfigTopic', body: Buffer.alloc(2048) });
    const live = await adminCli(cluster, 'updateBrokerConfig', '-b', 'broker-a', '-k', 'maxBodyBytes', '-v', '1024');
    expect(live.code, live.stderr).to.equal(0);
    expect(live.stdout).to.match(/broker-a\/n0: maxBodyBytes=1024 applied now/);
    const refused = await producer.send({ topic: 'ConfigTopic', body: Buffer.alloc(2048) }).then(() => null, (error: unknown) => error as Error);
    expect(refused?.message ?? 'sent').to.match(/body|too large|size/i);

    const restart = await adminCli(cluster, 'updateBrokerConfig', '-b', 'broker-a', '-k', 'registerIntervalMs', '-v', '15000');
    expect(restart.stdout).to.match(/registerIntervalMs=15000 applies at the next restart/);
    const pending = await config();
    expect(pending.registerIntervalMs).to.deep.include({ value: 30_000, overridden: true, pendingRestart: true });

    for (const [key, value, message] of [
      ['nodeId', 'n9', /nodeId names the node or its listeners/],
      ['noSuchKey', '1', /unknown broker config key "noSuchKey"/],
      ['maxBodyBytes', '"big"', /"maxBodyBytes" must be a number/],
      ['defaultQueueCount', '0', /defaultQueueCount must be positive/],
      ['defaultQueueCount', '2.5', /defaultQueueCount must be an integer/],
      ['maxInvisibleMs', '10', /minInvisibleMs <= defaultInvisibleMs <= maxInvisibleMs/],
      ['maxBodyBytes', '1000000000000', /maxBodyBytes \(1000000000000\) must not exceed maxBatchBytes/],
      ['__proto__', '{}', /unknown broker config key "__proto__"/],
    ] as const) {
      const bad = await adminCli(cluster, 'updateBrokerConfig', '-b', 'broker-a', '-k', key, '-v', value);
      expect(bad.code, key).to.equal(1);
      expect(bad.stderr, key).to.match(message);
    }
    const persisted = JSON.parse(readFileSync(join(cluster.nodes[0].dataDir, 'config-overrides.json'), 'utf8')) as Record<string, unknown>;
    expect(persisted).to.deep.equal({ maxBodyBytes: 1024, registerIntervalMs: 15_000 });

    await cluster.stopNode(cluster.nodes[0].id);
    await cluster.startNode(cluster.nodes[0].id);
    const after = await config();
    expect(after.registerIntervalMs).to.deep.include({ value: 15_000, overridden: true, pendingRestart: false });
    expect(after.maxBodyBytes).to.deep.include({ value: 1024, overridden: true });
  });
});
