import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { seededRandom } from '../../lib/raft/sim/seeded-random.js';
import { ProxyNetwork } from './proxy-network.js';
import { TcpLinkProxy } from './tcp-link-proxy.js';

/** How long "nothing arrives" is watched for: long against loopback latency, short for the suite. */
const QUIET_MS = 300;

async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it is true; fails with `what` and the last detail at the deadline. */
async function waitFor(what: string, check: () => boolean, detail: () => string = () => '', timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} ${detail()}`);
    await sleep(5);
  }
}

async function expectRejection(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  try {
    await promise;
  } catch (error) {
    expect((error as Error).message).to.match(pattern);
    return;
  }
  expect.fail(`expected a rejection matching ${String(pattern)}`);
}

/**
 * Bytes the kernel may hold on one loopback connection (the sender's and the receiver's socket
 * buffers at their largest); more than this still waiting in the sender shows the proxy stopped reading.
 */
function kernelBufferBytes(): number {
  const largest = (file: string, fallback: number): number => {
    try {
      return Number(readFileSync(file, 'utf8').trim().split(/\s+/)[2]) || fallback;
    } catch {
      return fallback;
    }
  };
  return largest('/proc/sys/net/ipv4/tcp_rmem', 6 << 20) + largest('/proc/sys/net/ipv4/tcp_wmem', 4 << 20);
}

/** `length` bytes of a pattern that shows any loss, duplication or reordering. */
function pattern(length: number, salt = 0): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i += 1) bytes[i] = (i + salt) % 251;
  return bytes;
}

interface EchoServer {
  port: number;
  received: () => number;
  connections: () => number;
  close: () => Promise<void>;
}

/** An echo server on 127.0.0.1; it resets a connection whose first bytes are `reset`. */
async function startEcho(port = 0): Promise<EchoServer> {
  let received = 0;
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.on('data', (data: Buffer) => {
      received += data.length;
      if (data.toString() === 'reset') socket.resetAndDestroy();
      else socket.write(data);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    received: () => received,
    connections: () => connections,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

class TestClient {
  readonly chunks: Buffer[] = [];
  receivedLength = 0;
  isClosed = false;
  readonly socket: net.Socket;

  constructor(address: string | number) {
    const port = typeof address === 'number' ? address : Number(address.split(':')[1]);
    this.socket = net.connect({ host: '127.0.0.1', port });
    this.socket.on('data', (data: Buffer) => {
      this.chunks.push(data);
      this.receivedLength += data.length;
    });
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => (this.isClosed = true));
  }

  received(): Buffer {
    return Buffer.concat(this.chunks);
  }

  async roundTrip(payload: Buffer): Promise<number> {
    const expected = Buffer.concat([this.received(), payload]);
    const startMs = performance.now();
    this.socket.write(payload);
    await waitFor('the echo', () => this.receivedLength >= expected.length, () => `(${this.receivedLength}/${expected.length} bytes)`);
    expect(this.received().equals(expected)).to.equal(true);
    return performance.now() - startMs;
  }
}

describe('TcpLinkProxy', function () {
  // Waits inside have their own deadlines; this only covers moving tens of MiB on a busy machine.
  this.timeout(30_000);
  let echo: EchoServer;
  let proxy: TcpLinkProxy;
  const clients: TestClient[] = [];
  const dial = (): TestClient => {
    const client = new TestClient(proxy.port);
    clients.push(client);
    return client;
  };

  beforeEach(async () => {
    echo = await startEcho();
    proxy = await TcpLinkProxy.start({ listenPort: 0, targetHost: '127.0.0.1', targetPort: echo.port, random: seededRandom(7) });
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) client.socket.destroy();
    await proxy.close();
    await echo.close();
  });

  it('passes bytes both ways and counts them', async () => {
    const client = dial();
    await client.roundTrip(Buffer.from('hello'));
    await client.roundTrip(pattern(200_000));
    expect(proxy.stats()).to.include({ connectionsAccepted: 1, connectionsOpen: 1, bytesForward: 200_005, bytesBackward: 200_005 });
  });

  it('holds bytes while forward is closed, without buffering them, and delivers them intact and in order after reopening', async () => {
    const client = dial();
    await client.roundTrip(Buffer.from('ping'));
    proxy.setForward(false);
    const payload = pattern(kernelBufferBytes() + 16 * 1024 * 1024, 3);
    for (let offset = 0; offset < payload.length; offset += 1024 * 1024) client.socket.write(payload.subarray(offset, offset + 1024 * 1024));
    await sleep(QUIET_MS);
    expect(echo.received(), 'bytes that reached the target').to.equal(4);
    // Beyond what kernel buffers can hold, the rest must still wait in the client if the proxy stopped reading.
    expect(client.socket.writableLength, 'bytes still waiting in the client').to.be.greaterThan(8 * 1024 * 1024);
    proxy.setForward(true);
    await waitFor('the held bytes echoed', () => client.receivedLength >= 4 + payload.length, () => `(${client.receivedLength} bytes)`);
    expect(client.received().equals(Buffer.concat([Buffer.from('ping'), payload]))).to.equal(true);
  });

  it('passes a connection accepted while forward is closed to the target only once forward opens', async () => {
    proxy.setForward(false);
    const client = dial();
    client.socket.write('early');
    await waitFor('the connection accepted', () => proxy.stats().connectionsAccepted === 1);
    await sleep(QUIET_MS);
    expect(echo.connections(), 'connections at the target').to.equal(0);
    proxy.setForward(true);
    await waitFor('the echo', () => client.received().toString() === 'early', () => `(${client.received().toString()})`);
  });

  it('holds delayed bytes that were waiting when the direction closed', async () => {
    const client = dial();
    await client.roundTrip(Buffer.from('ping'));
    proxy.setDelay(100, 0);
    client.socket.write('late');
    await waitFor('the bytes at the proxy', () => client.socket.writableLength === 0);
    await sleep(20);
    proxy.setForward(false);
    await sleep(QUIET_MS);
    expect(echo.received(), 'bytes that reached the target').to.equal(4);
    proxy.setForward(true);
    await waitFor('the held echo', () => client.received().toString() === 'pinglate', () => `(${client.received().toString()})`);
  });

  it('holds a half-close with the bytes before it, then passes it on', async () => {
    const client = dial();
    await client.roundTrip(Buffer.from('ping'));
    proxy.setForward(false);
    client.socket.end('bye');
    await sleep(QUIET_MS);
    expect(echo.received(), 'bytes that reached the target').to.equal(4);
    expect(client.isClosed).to.equal(false);
    proxy.setForward(true);
    // The echo server answers a FIN with its own, so the client closes once both passed.
    await waitFor('the echo and the close', () => client.isClosed && client.received().toString() === 'pingbye', () => `(${client.received().toString()})`);
    await waitFor('no connection left', () => proxy.stats().connectionsOpen === 0);
  });

  it('holds only the answers while backward is closed', async () => {
    const client = dial();
    await client.roundTrip(Buffer.from('ping'));
    proxy.setBackward(false);
    client.socket.write('question');
    await waitFor('the question at the target', () => echo.received() === 4 + 8);
    await sleep(QUIET_MS);
    expect(client.received().toString()).to.equal('ping');
    proxy.setBackward(true);
    await waitFor('the held answer', () => client.received().toString() === 'pingquestion', () => `(${client.received().toString()})`);
  });

  it('delays each direction by at least the delay, and stops delaying at 0', async () => {
    const client = dial();
    await client.roundTrip(Buffer.from('warm'));
    proxy.setDelay(150, 0);
    expect(await client.roundTrip(Buffer.from('slow'))).to.be.at.least(300);
    proxy.setDelay(0, 0);
    expect(await client.roundTrip(Buffer.from('fast'))).to.be.below(150);
  });

  it('keeps the order of chunks under jitter', async () => {
    const client = dial();
    proxy.setDelay(20, 20);
    const payload = pattern(60 * 1000, 11);
    for (let offset = 0; offset < payload.length; offset += 1000) {
      client.socket.write(payload.subarray(offset, offset + 1000));
      await sleep(1);
    }
    await waitFor('every chunk echoed', () => client.receivedLength >= payload.length);
    expect(client.received().equals(payload)).to.equal(true);
  });

  it('stops reading a source whose delayed bytes reach the bound, and delivers them when the delay ends', async () => {
    const bounded = await TcpLinkProxy.start({ listenPort: 0, targetHost: '127.0.0.1', targetPort: echo.port, maxQueuedBytes: 64 * 1024 });
    try {
      bounded.setDelay(60_000, 0);
      const client = new TestClient(bounded.port);
      clients.push(client);
      const payload = pattern(kernelBufferBytes() + 16 * 1024 * 1024, 5);
      client.socket.write(payload);
      await sleep(QUIET_MS);
      expect(bounded.stats().bytesForward).to.equal(0);
      expect(client.socket.writableLength, 'bytes still waiting in the client').to.be.greaterThan(8 * 1024 * 1024);
      bounded.setDelay(0, 0);
      await waitFor('every byte echoed', () => client.receivedLength >= payload.length, () => `(${client.receivedLength} bytes)`);
      expect(client.received().equals(payload)).to.equal(true);
    } finally {
      await bounded.close();
    }
  });

  it('closes only the connection whose target resets or refuses', async () => {
    const healthy = dial();
    await healthy.roundTrip(Buffer.from('one'));
    const reset = dial();
    reset.socket.write('reset');
    await waitFor('the reset connection closed', () => reset.isClosed);
    await healthy.roundTrip(Buffer.from('two'));

    const nobody = await startEcho();
    await nobody.close();
    const refused = await TcpLinkProxy.start({ listenPort: 0, targetHost: '127.0.0.1', targetPort: nobody.port });
    try {
      const client = new TestClient(refused.port);
      clients.push(client);
      await waitFor('the refused connection closed', () => client.isClosed);
      await waitFor('no connection left', () => refused.stats().connectionsOpen === 0);
      expect(refused.stats().connectionsAccepted).to.equal(1);
    } finally {
      await refused.close();
    }
    await healthy.roundTrip(Buffer.from('three'));
  });
});

describe('ProxyNetwork', function () {
  // Waits inside have their own deadlines; this only covers moving tens of MiB on a busy machine.
  this.timeout(30_000);
  const nodeIds = ['n0', 'n1', 'n2'];
  let network: ProxyNetwork;
  let echoes: Map<string, EchoServer>;
  const clients: TestClient[] = [];
  const dial = (from: string, to: string): TestClient => {
    const client = new TestClient(network.raftAddress(from, to));
    clients.push(client);
    return client;
  };

  /** Tries a few base ports (others may run beside us), with an echo server on each node's Raft port. */
  beforeEach(async () => {
    let lastError: unknown = null;
    for (let attempt = 0; attempt < 20; attempt += 1) {
      const basePort = 30_000 + ((process.pid * 131 + attempt * 977) % 2_500) * 10;
      const started: EchoServer[] = [];
      try {
        network = await ProxyNetwork.create({ nodeIds, basePort, random: seededRandom(1) });
        try {
          for (const node of network.nodes) started.push(await startEcho(node.ports.second));
        } catch (error) {
          await network.close();
          throw error;
        }
        echoes = new Map(network.nodes.map((node, i) => [node.id, started[i]]));
        return;
      } catch (error) {
        lastError = error;
        await Promise.all(started.map((server) => server.close()));
      }
    }
    throw new Error(`no free base port: ${String(lastError)}`);
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) client.socket.destroy();
    await network.close();
    await Promise.all([...echoes.values()].map((server) => server.close()));
  });

  it('lays out hosts, proxies and Raft addresses', () => {
    const base = network.namesrv.ports.main;
    expect(network.mode).to.equal('proxy');
    expect(network.modeReason).to.equal('loopback with per-link TCP proxies');
    expect(network.namesrv).to.deep.equal({ id: 'namesrv', address: '127.0.0.1', ports: { main: base, second: base + 1, http: base + 2 } });
    expect(network.nodes[2]).to.deep.equal({ id: 'n2', address: '127.0.0.1', ports: { main: base + 30, second: base + 31, http: base + 32 } });
    expect(network.raftAddress('n1', 'n1')).to.equal(`127.0.0.1:${base + 21}`);
    const proxyPorts = nodeIds.flatMap((from) => nodeIds.filter((to) => to !== from).map((to) => Number(network.raftAddress(from, to).split(':')[1])));
    expect(proxyPorts).to.deep.equal([100, 101, 102, 103, 104, 105].map((offset) => base + offset));
    expect(network.commandPrefix('n0')).to.deep.equal([]);
    expect(network.commandPrefix('namesrv')).to.deep.equal([]);
    expect(() => network.raftAddress('n0', 'n9')).to.throw(/n9/);
  });

  it('holds bytes only in cut directions, replaces cuts, and heals', async () => {
    const links = new Map<string, TestClient>();
    for (const from of nodeIds) for (const to of nodeIds) if (from !== to) links.set(`${from}${to}`, dial(from, to));
    await network.setCuts([{ from: 'n0', to: 'n1' }]);
    for (const [name, client] of links) client.socket.write(name);
    const open = ['n0n2', 'n2n0', 'n1n2', 'n2n1'];
    await waitFor('echoes on uncut links', () => open.every((name) => links.get(name)!.received().toString() === name));
    await waitFor('n1n0 at n0', () => echoes.get('n0')!.received() === 'n1n0'.length + 'n2n0'.length);
    await sleep(QUIET_MS);
    expect(echoes.get('n1')!.received(), 'bytes at n1').to.equal('n2n1'.length);
    expect(links.get('n0n1')!.received().length).to.equal(0);
    expect(links.get('n1n0')!.received().length).to.equal(0);

    await network.setCuts([{ from: 'n2', to: 'n0' }]);
    await waitFor('held bytes after the cut moved', () => ['n0n1', 'n1n0'].every((name) => links.get(name)!.received().toString() === name));
    links.get('n2n0')!.socket.write('+');
    links.get('n0n2')!.socket.write('+');
    await waitFor('n0n2 at n2', () => echoes.get('n2')!.received() === 'n0n2+'.length + 'n1n2'.length);
    await sleep(QUIET_MS);
    expect(links.get('n2n0')!.received().toString()).to.equal('n2n0');
    expect(links.get('n0n2')!.received().toString()).to.equal('n0n2');

    await network.setCuts([]);
    await waitFor('everything after healing', () => ['n2n0', 'n0n2'].every((name) => links.get(name)!.received().toString() === `${name}+`));
    expect(network.linkStats().map((link) => `${link.from}${link.to}:${link.connectionsAccepted}`)).to.deep.equal([...links.keys()].map((name) => `${name}:1`));
  });

  it('refuses loss and bad cuts, and delays every link', async () => {
    await expectRejection(network.setLoss(0.1), /network namespaces \+ iptables/);
    await network.setLoss(0);
    expect(network.capabilities()).to.deep.include({ loss: false, delay: true });
    expect(network.capabilities().reasons.join()).to.match(/namespaces/);
    await expectRejection(network.setCuts([{ from: 'n0', to: 'zz' }]), /zz/);
    await expectRejection(network.setCuts([{ from: 'n1', to: 'n1' }]), /itself/);
    await expectRejection(network.setDelay(-1, 0), /bad delay/);

    await network.setDelay(100, 0);
    for (const [from, to] of [['n0', 'n1'], ['n2', 'n1']]) expect(await dial(from, to).roundTrip(Buffer.from('x'))).to.be.at.least(200);
  });

  it('frees every proxy port on close', async () => {
    const ports = network.linkStats().map((link) => link.port);
    await network.close();
    for (const port of ports) {
      const server = await startEcho(port);
      await server.close();
    }
  });
});
