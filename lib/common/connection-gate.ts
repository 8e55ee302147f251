/**
 * Connections (HTTP/2 sessions) counted per remote IP address: one more than
 * `maxConnectionsPerAddress` from the same address is closed at once on accept, before any HTTP/2
 * or TLS byte is read (the client sees the connection fail, UNAVAILABLE, and retries later).
 * {@link listenGrpc} asks {@link ConnectionGate.admit} for every socket it accepts.
 */
import type { Socket } from 'node:net';

export interface ConnectionGateOptions {
  /** Connections open at once from one remote IP address at most (read at each accept). */
  maxConnectionsPerAddress: () => number;
  /** Told of every connection closed for being over the cap (metrics). */
  onRefused: (remoteAddress: string) => void;
}

/** See the file comment. */
export class ConnectionGate {
  private readonly open = new Map<string, number>();
  private total = 0;

  constructor(private readonly options: ConnectionGateOptions) {}

  /** Connections open now from `remoteAddress`. */
  connectionsFrom(remoteAddress: string): number {
    return this.open.get(remoteAddress) ?? 0;
  }

  /** Connections open now in all. */
  get size(): number {
    return this.total;
  }

  /**
   * Counts `socket` until it closes and returns true; or, when its address is at the cap, destroys
   * it, reports it and returns false.
   */
  admit(socket: Socket): boolean {
    const remote = socket.remoteAddress ?? 'unknown';
    if (this.connectionsFrom(remote) >= this.options.maxConnectionsPerAddress()) {
      this.options.onRefused(remote);
      socket.destroy();
      return false;
    }
    this.open.set(remote, this.connectionsFrom(remote) + 1);
    this.total += 1;
    socket.once('close', () => {
      this.total -= 1;
      const left = this.connectionsFrom(remote) - 1;
      if (left > 0) this.open.set(remote, left);
      else this.open.delete(remote);
    });
    return true;
  }
}
