import { expect } from 'chai';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { PortBlocks, TEST_PORT_CEILING, TEST_PORT_FLOOR, portRangeFree } from './port-range.js';

describe('PortBlocks (test cluster port ranges)', () => {
  let busy: Server | null = null;
  afterEach(async () => {
    if (busy) await new Promise<void>((done) => busy!.close(() => done()));
    busy = null;
  });

  it('skips a block in which one port is already listened on, and stays under the ephemeral range', async () => {
    const blocks = new PortBlocks(10, 977);
    const first = await blocks.take();
    expect(first).to.be.within(TEST_PORT_FLOOR, TEST_PORT_CEILING - 10);
    const probe = new PortBlocks(10, 977);
    busy = createServer();
    await new Promise<void>((done) => busy!.listen({ port: first + 7, host: '127.0.0.1' }, () => done()));
    expect(await portRangeFree(first, 10)).to.equal(false);
    const next = await probe.take();
    expect(next).to.not.equal(first);
    expect(next).to.be.within(TEST_PORT_FLOOR, TEST_PORT_CEILING - 10);
  });

  it('wraps to the floor instead of climbing into the ephemeral range', async () => {
    const size = 100;
    const blocks = new PortBlocks(size, 10_000_019);
    const seen = new Set<number>();
    for (let i = 0; i < 130; i++) {
      const base = await blocks.take();
      expect(base + size).to.be.at.most(TEST_PORT_CEILING);
      seen.add(base);
    }
    expect(seen.size).to.be.greaterThan(100);
  });
});
