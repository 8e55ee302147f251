/**
 * Acceptance (issue 3): no acknowledgement precedes the fsync of a majority. Every broker of a
 * 3-node group records, with the host's monotonic clock, each fsync that raised its durable index
 * and each entry it acknowledged (lib/common/durability-trace.ts). For every acknowledged entry,
 * at least two nodes must have made it durable before the acknowledgement.
 */
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Producer } from 'rocketmq-client-nodejs';
import { startCluster } from './cluster-helpers.js';

type Cluster = Awaited<ReturnType<typeof startCluster>>;

interface TraceLine {
  node: string;
  event: 'durable' | 'ack';
  index: number;
  ns: bigint;
}

function readTrace(file: string): TraceLine[] {
  const lines: TraceLine[] = [];
  for (const text of readFileSync(file, 'utf8').split('\n')) {
    if (!text.endsWith('}')) continue; // the last line may still be being written
    const raw = JSON.parse(text) as { node: string; event: 'durable' | 'ack'; index: number; ns: string };
    lines.push({ ...raw, ns: BigInt(raw.ns) });
  }
  return lines;
}

describe('durability of acknowledged sends in a 3-node group', function () {
  this.timeout(120_000);
  let cluster: Cluster;
  let producer: Producer | undefined;
  const traceDir = mkdtempSync(join(tmpdir(), 'ledgermq-trace-'));

  before(async () => {
    process.env.LEDGERMQ_DURABILITY_TRACE_DIR = traceDir;
    try {
      cluster = await startCluster({ nodes: 3 });
    } finally {
      delete process.env.LEDGERMQ_DURABILITY_TRACE_DIR;
    }
  });

  after(async () => {
    await producer?.shutdown().catch(() => undefined);
    await cluster?.dispose();
    rmSync(traceDir, { recursive: true, force: true });
  });

  it('acknowledges each entry only after two of three nodes fsynced it', async () => {
    const topic = 'DurableTopic';
    producer = new Producer({ endpoints: cluster.description.accessPoint, namespace: '', topics: [topic] });
    await producer.startup();
    for (let round = 0; round < 20; round++) {
      await Promise.all(Array.from({ length: 16 }, (_, i) => producer!.send({ topic, tag: 't', body: Buffer.from(`durable-${round}-${i}`) })));
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    const durable = new Map<string, Array<{ index: number; ns: bigint }>>();
    const acks: TraceLine[] = [];
    for (const node of cluster.nodes) {
      for (const line of readTrace(join(traceDir, `durability-${node.id}.jsonl`))) {
        if (line.event === 'ack') acks.push(line);
        else durable.set(line.node, [...(durable.get(line.node) ?? []), { index: line.index, ns: line.ns }]);
      }
    }
    expect(acks.length, 'no acknowledgement traced').to.be.at.least(320);
    const violations: string[] = [];
    let tightestNs: bigint | null = null;
    for (const ack of acks) {
      const before = [...durable].filter(([, events]) => events.some((event) => event.index >= ack.index && event.ns <= ack.ns));
      if (before.length < 2) violations.push(`entry ${ack.index} acknowledged by ${ack.node} with only ${before.map(([node]) => node).join(',') || 'no node'} durable`);
      // How close the second fsync came to the acknowledgement.
      const seconds = [...durable.values()]
        .map((events) => events.find((event) => event.index >= ack.index)?.ns)
        .filter((ns): ns is bigint => ns !== undefined)
        .sort((a, b) => (a < b ? -1 : 1));
      if (seconds.length >= 2) {
        const margin = ack.ns - seconds[1];
        if (tightestNs === null || margin < tightestNs) tightestNs = margin;
      }
    }
    console.log(`      ${acks.length} acknowledgements checked; smallest gap from the majority's fsync to the ack: ${tightestNs === null ? '?' : `${Number(tightestNs) / 1000} us`}`);
    expect(violations.slice(0, 10)).to.deep.equal([]);
  });
});
