/**
 * Issue 6, real processes: `ledgermq bench produce` and `bench consume` against a running node, as
 * an operator runs them: they finish by themselves, print a summary table and one JSON line whose
 * figures match what was sent and received, and exit 0.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { startCluster } from './cluster-helpers.js';

type Cluster = Awaited<ReturnType<typeof startCluster>>;

interface LoadResult {
  bench: string;
  messages: number;
  errors: number;
  messagesPerSecond: number;
  latencyMs: { p50: number; p99: number; max: number };
}

describe('bench produce / consume against a running cluster (real processes)', function () {
  this.timeout(120_000);
  let cluster: Cluster;

  before(async () => {
    cluster = await startCluster({ nodes: 1 });
  });

  after(async () => {
    await cluster?.dispose();
  });

  async function bench(...args: string[]): Promise<{ table: string; result: LoadResult; stderr: string }> {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['dist/cmd/ledgermq.js', 'bench', ...args, '-n', cluster.description.namesrv.join(';')]);
    const lines = stdout.trim().split('\n');
    return { table: lines.slice(0, -1).join('\n'), result: JSON.parse(lines.at(-1)!) as LoadResult, stderr };
  }

  it('produces a fixed count, then consumes it from the first offset, with matching figures', async () => {
    const produced = await bench('produce', '-t', 'LoadTopic', '--count', '600', '--size', '256', '--window', '8', '--producers', '2', '--batch', '4');
    expect(produced.result).to.deep.include({ bench: 'produce', messages: 600, errors: 0 });
    expect(produced.result.messagesPerSecond).to.be.greaterThan(0);
    expect(produced.result.latencyMs.p50).to.be.greaterThan(0).and.at.most(produced.result.latencyMs.max);
    expect(produced.table).to.match(/messages\s+600/);
    expect(produced.stderr).to.match(/produce LoadTopic \d+s: \d+ msgs/);

    const consumed = await bench('consume', '-t', 'LoadTopic', '--count', '600', '--from', 'first', '--max-seconds', '60');
    expect(consumed.result).to.deep.include({ bench: 'consume', messages: 600, errors: 0 });
    expect(consumed.table).to.match(/end-to-end latency/);
  });

  it('stops a run given by duration', async () => {
    const started = Date.now();
    const { result } = await bench('produce', '-t', 'LoadTopic', '--duration', '2', '--window', '4');
    expect(Date.now() - started).to.be.below(20_000);
    expect(result.messages).to.be.greaterThan(0);
    expect(result.errors).to.equal(0);
  });
});
