/**
 * Finding a block of free TCP ports on 127.0.0.1 for test clusters. Blocks are taken under Linux's
 * default ephemeral range (32768-60999): a port there may be held, at any moment, by the local end of
 * an outgoing connection, and a node that then tries to listen on it dies with EADDRINUSE.
 */
import { createServer } from 'node:net';

/** Lowest and highest (exclusive) port handed out for test clusters: below the ephemeral range. */
export const TEST_PORT_FLOOR = 20_000;
export const TEST_PORT_CEILING = 32_700;

/** True when every port in [base, base + size) can be listened on at `host` right now. */
export async function portRangeFree(base: number, size: number, host = '127.0.0.1'): Promise<boolean> {
  for (let port = base; port < base + size; port++) {
    const free = await new Promise<boolean>((resolveFree) => {
      const server = createServer();
      server.once('error', () => resolveFree(false));
      server.listen({ port, host, exclusive: true }, () => server.close(() => resolveFree(true)));
    });
    if (!free) return false;
  }
  return true;
}

/**
 * Hands out blocks of `size` ports, starting at a point chosen from `seed` (a process id spreads
 * concurrent test runs apart), wrapping within [TEST_PORT_FLOOR, TEST_PORT_CEILING), and skipping a
 * block any of whose ports is busy.
 */
export class PortBlocks {
  private next: number;

  constructor(
    private readonly size: number,
    seed: number,
  ) {
    const blocks = Math.floor((TEST_PORT_CEILING - TEST_PORT_FLOOR) / size);
    this.next = TEST_PORT_FLOOR + (seed % blocks) * size;
  }

  /** The first port of a free block; throws after trying every block once. */
  async take(): Promise<number> {
    const blocks = Math.floor((TEST_PORT_CEILING - TEST_PORT_FLOOR) / this.size);
    for (let tried = 0; tried < blocks; tried++) {
      const base = this.next;
      this.next = base + this.size + this.size > TEST_PORT_CEILING ? TEST_PORT_FLOOR : base + this.size;
      if (await portRangeFree(base, this.size)) return base;
    }
    throw new Error(`no free block of ${this.size} ports between ${TEST_PORT_FLOOR} and ${TEST_PORT_CEILING}`);
  }
}
