/**
 * Issue 5 acceptance across processes: PushConsumer instances each in an OS process of their own
 * (test/fixtures/consumer-process.ts) against a NameServer and a 3-node group. Clustering: each
 * message reaches exactly one instance of the group while all are healthy, and when one instance
 * stops the others take over its queues; broadcasting: every instance gets every message; a second
 * group on the same topic gets everything too.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Producer } from '../lib/client/index.js';
import type { ConsumerProcessSpec } from './fixtures/consumer-process.js';
import { startCluster, waitFor } from './cluster-helpers.js';

type Cluster = Awaited<ReturnType<typeof startCluster>>;

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'consumer-process.js');
const TOPIC = 'CrossProcessTopic';
const QUEUES = 4;

/** A consumer process this test started, and what it reported. */
class ConsumerProcess {
  readonly bodies: string[] = [];
  assignment: string[] = [];
  started = false;
  stopped = false;
  private readonly exited: Promise<number | null>;

  constructor(readonly name: string, private readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => this.onLine(line));
    child.stderr!.on('data', (chunk: Buffer) => process.env.LEDGERMQ_TEST_DEBUG && process.stderr.write(`[${name}] ${chunk.toString()}`));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  static start(name: string, spec: ConsumerProcessSpec): ConsumerProcess {
    return new ConsumerProcess(name, spawn(process.execPath, [FIXTURE, JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'pipe'] }));
  }

  /** Bodies received with the given prefix. */
  received(prefix: string): string[] {
    return this.bodies.filter((body) => body.startsWith(prefix));
  }

  /** SIGTERM (a graceful leave), then the exit code; SIGKILL if it hangs. Only this test's own child. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  private onLine(line: string): void {
    const event = JSON.parse(line) as { event: string; body?: string; queues?: string[] };
    if (event.event === 'started') this.started = true;
    else if (event.event === 'stopped') this.stopped = true;
    else if (event.event === 'assignment') this.assignment = event.queues ?? [];
    else if (event.event === 'message') this.bodies.push(event.body ?? '');
  }
}

describe('our client: consumers in separate processes (real processes)', function () {
  this.timeout(180_000);
  let cluster: Cluster;
  let producer: Producer;
  const processes: ConsumerProcess[] = [];
  const offsetDir = mkdtempSync(join(tmpdir(), 'ledgermq-xp-offsets-'));

  before(async () => {
    cluster = await startCluster({ nodes: 3, brokerOverrides: { defaultQueueCount: QUEUES, consumerExpiryMs: 2_000 } });
    producer = new Producer({ nameServers: cluster.description.namesrv });
    await producer.send({ topic: TOPIC, body: 'warm-up' }); // creates the topic
  });

  after(async () => {
    await Promise.all(processes.splice(0).map((p) => p.stop()));
    producer?.shutdown();
    await cluster?.dispose();
    rmSync(offsetDir, { recursive: true, force: true });
  });

  function consumerProcess(name: string, group: string, mode: ConsumerProcessSpec['mode']): ConsumerProcess {
    const child = ConsumerProcess.start(name, { nameServers: cluster.description.namesrv, group, topic: TOPIC, mode, instanceName: name, offsetStoreDir: offsetDir });
    processes.push(child);
    return child;
  }

  async function sendAll(count: number, prefix: string): Promise<string[]> {
    const bodies = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
    await Promise.all(bodies.map((body) => producer.send({ topic: TOPIC, body })));
    return bodies;
  }

  /** Waits until the instances own disjoint queues that cover the topic. */
  async function balanced(instances: ConsumerProcess[]): Promise<void> {
    await waitFor('a converged rebalance across processes', () => {
      const owned = instances.flatMap((p) => p.assignment);
      return owned.length === QUEUES && new Set(owned).size === QUEUES && instances.every((p) => p.assignment.length > 0);
    }, 30_000);
  }

  it('clustering, broadcasting and a second group, each instance in its own process', async () => {
    const clustering = ['c0', 'c1', 'c2'].map((name) => consumerProcess(name, 'xp-cluster', 'CLUSTERING'));
    const broadcasting = ['b0', 'b1'].map((name) => consumerProcess(name, 'xp-broadcast', 'BROADCASTING'));
    const second = consumerProcess('s0', 'xp-second', 'CLUSTERING');
    const all = [...clustering, ...broadcasting, second];
    await waitFor('every process started', () => all.every((p) => p.started), 30_000);
    await balanced(clustering);
    await waitFor('broadcasting and single instances own every queue', () => [...broadcasting, second].every((p) => p.assignment.length === QUEUES), 30_000);

    const bodies = await sendAll(300, 'x');
    const expected = [...bodies].sort();
    await waitFor('the clustering group to get everything', () => clustering.reduce((n, p) => n + p.received('x-').length, 0) >= 300, 60_000);
    await waitFor('broadcast instances and the second group to get everything', () => [...broadcasting, second].every((p) => new Set(p.received('x-')).size === 300), 60_000);

    const clustered = clustering.flatMap((p) => p.received('x-'));
    expect(clustered.length, 'each message to exactly one instance while all are healthy').to.equal(300);
    expect([...clustered].sort()).to.deep.equal(expected);
    expect(clustering.every((p) => p.received('x-').length > 0), 'every clustering instance consumed').to.equal(true);
    for (const p of [...broadcasting, second]) expect([...new Set(p.received('x-'))].sort(), p.name).to.deep.equal(expected);

    // One clustering instance leaves gracefully: the other two take over all queues and lose nothing.
    const [leaving, ...staying] = clustering;
    expect(await leaving.stop()).to.equal(0);
    expect(leaving.stopped).to.equal(true);
    await balanced(staying);
    const after = await sendAll(100, 'y');
    await waitFor('the remaining instances to get the next messages', () => new Set(staying.flatMap((p) => p.received('y-'))).size === 100, 60_000);
    expect(new Set(staying.flatMap((p) => p.received('y-')))).to.deep.equal(new Set(after));
    expect(leaving.received('y-')).to.deep.equal([]);
  });
});
