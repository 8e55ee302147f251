/**
 * A TCP proxy for one directed link between two broker nodes, for the harness's proxy mode (no
 * network namespaces). Node A connects to the proxy instead of node B's Raft port and the proxy
 * forwards each connection to B. "Forward" is A→B (what the connecting side sends), "backward" B→A.
 *
 * A closed direction holds bytes instead of dropping them: the proxy stops reading the source
 * socket, TCP flow control stalls the sender, nothing is lost, and after healing the held bytes
 * arrive late and in order, as after an iptables DROP rule is removed and TCP retransmits. A
 * connection accepted while forward is closed is passed on to B only once forward opens (A's SYN
 * never reached B). Delay holds each chunk until it is due, in order per direction.
 *
 * Every buffer is bounded: a direction with `maxQueuedBytes` or `maxQueuedChunks` waiting, or whose
 * destination socket is full, stops reading its source until it drains; connections are capped at
 * `maxConnections`. An error on one connection destroys that connection pair only.
 */
import net from 'node:net';

/** Options of {@link TcpLinkProxy.start}. */
export interface TcpLinkProxyOptions {
  /** Port to listen on, on 127.0.0.1; 0 picks a free one (see {@link TcpLinkProxy.port}). */
  listenPort: number;
  targetHost: string;
  targetPort: number;
  /** Bytes waiting in one direction of one connection before its source is paused. Default 4 MiB. */
  maxQueuedBytes?: number;
  /** Chunks waiting in one direction of one connection before its source is paused. Default 16384. */
  maxQueuedChunks?: number;
  /** Connections held at once; more are refused by the listener. Default 256. */
  maxConnections?: number;
  /** Source of jitter, numbers in [0, 1); pass a seeded one for replayable runs. Default Math.random. */
  random?: () => number;
}

/** Counters of one proxy since it started. */
export interface TcpLinkProxyStats {
  connectionsAccepted: number;
  connectionsOpen: number;
  /** Bytes handed to the target (A→B). */
  bytesForward: number;
  /** Bytes handed back to the connecting side (B→A). */
  bytesBackward: number;
}

type Direction = 'forward' | 'backward';

/** State shared by a proxy and its connections; read on each decision, so changes apply at once. */
interface LinkState {
  readonly isOpen: Record<Direction, boolean>;
  delayMs: number;
  jitterMs: number;
  readonly random: () => number;
  readonly maxQueuedBytes: number;
  readonly maxQueuedChunks: number;
  readonly targetHost: string;
  readonly targetPort: number;
  /** Bytes handed to each direction's destination. */
  readonly bytes: Record<Direction, number>;
  readonly connections: Set<LinkConnection>;
}

/** A chunk read from the source, times from `performance.now()`. */
type QueuedChunk = { data: Buffer; receivedMs: number; dueMs: number };

/** Compact the queue array once this many delivered slots lead it. */
const COMPACT_AFTER_CHUNKS = 1024;

/** One direction of one connection: reads `source`, queues, writes `destination` when open and due. */
class Pipe {
  private queue: QueuedChunk[] = [];
  private head = 0;
  private queuedBytes = 0;
  private lastDueMs = 0;
  private timer: NodeJS.Timeout | null = null;
  private isDestinationFull = false;
  private hasSourceEnded = false;
  private hasEndedDestination = false;
  private isStopped = false;

  constructor(
    private readonly source: net.Socket,
    private readonly destination: net.Socket,
    private readonly direction: Direction,
    private readonly link: LinkState,
  ) {
    source.on('data', (data: Buffer) => this.enqueue(data));
    source.on('end', () => {
      this.hasSourceEnded = true;
      this.flush();
    });
    destination.on('drain', () => {
      this.isDestinationFull = false;
      this.flush();
    });
  }

  /** Delivers every due chunk while open, ends the destination after the source's end, and pauses or resumes the source. */
  flush(): void {
    if (this.isStopped) return;
    const nowMs = performance.now();
    while (this.head < this.queue.length && this.link.isOpen[this.direction] && !this.isDestinationFull) {
      const chunk = this.queue[this.head];
      if (chunk.dueMs > nowMs) {
        this.armTimer(chunk.dueMs - nowMs);
        break;
      }
      this.head += 1;
      this.queuedBytes -= chunk.data.length;
      this.link.bytes[this.direction] += chunk.data.length;
      if (!this.destination.write(chunk.data)) this.isDestinationFull = true;
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head >= COMPACT_AFTER_CHUNKS) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    if (this.hasSourceEnded && this.queue.length === 0 && this.link.isOpen[this.direction] && !this.hasEndedDestination) {
      // The FIN is held like the bytes before it: it passes only when the direction is open.
      this.hasEndedDestination = true;
      this.destination.end();
    }
    this.updateReading();
  }

  /** Gives every queued chunk a due time from the current delay (so healing a delay takes effect at once). */
  reschedule(): void {
    this.lastDueMs = 0;
    for (let i = this.head; i < this.queue.length; i += 1) this.queue[i].dueMs = this.dueAfter(this.queue[i].receivedMs);
    this.clearTimer();
    this.flush();
  }

  /** Drops everything queued and cancels the timer; the sockets are destroyed by the owner. */
  stop(): void {
    this.isStopped = true;
    this.clearTimer();
    this.queue = [];
    this.head = 0;
    this.queuedBytes = 0;
  }

  private enqueue(data: Buffer): void {
    const nowMs = performance.now();
    this.queue.push({ data, receivedMs: nowMs, dueMs: this.dueAfter(nowMs) });
    this.queuedBytes += data.length;
    this.flush();
  }

  /** Due time of a chunk received at `receivedMs`; never before the previous chunk's, to keep order. */
  private dueAfter(receivedMs: number): number {
    const { delayMs, jitterMs, random } = this.link;
    const jitteredMs = jitterMs > 0 ? delayMs + (random() * 2 - 1) * jitterMs : delayMs;
    this.lastDueMs = Math.max(receivedMs + Math.max(0, jitteredMs), this.lastDueMs);
    return this.lastDueMs;
  }

  private updateReading(): void {
    const waitingChunks = this.queue.length - this.head;
    const shouldRead = this.link.isOpen[this.direction] && !this.isDestinationFull
      && this.queuedBytes < this.link.maxQueuedBytes && waitingChunks < this.link.maxQueuedChunks;
    if (shouldRead) this.source.resume();
    else this.source.pause();
  }

  private armTimer(waitMs: number): void {
    if (this.timer !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, Math.max(1, Math.ceil(waitMs)));
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}

/** An accepted client socket and, once forward is open, its socket to the target. */
class LinkConnection {
  private target: net.Socket | null = null;
  private pipes: Pipe[] = [];
  private openSockets = 1;
  private isDestroyed = false;

  constructor(private readonly client: net.Socket, private readonly link: LinkState) {
    client.setNoDelay(true);
    client.on('error', () => this.destroy());
    client.on('close', () => this.socketClosed());
  }

  /** Connects to the target if forward is open and it has not yet, then delivers what is due both ways. */
  refresh(): void {
    if (this.isDestroyed) return;
    if (this.target === null && this.link.isOpen.forward) this.connect();
    for (const pipe of this.pipes) pipe.flush();
  }

  /** Applies a new delay to the chunks already queued. */
  reschedule(): void {
    for (const pipe of this.pipes) pipe.reschedule();
  }

  /** Destroys both sockets (bytes still queued are lost, as on a connection reset). Idempotent. */
  destroy(): void {
    if (this.isDestroyed) return;
    this.isDestroyed = true;
    for (const pipe of this.pipes) pipe.stop();
    this.client.destroy();
    this.target?.destroy();
  }

  private connect(): void {
    const target = net.connect({ host: this.link.targetHost, port: this.link.targetPort, allowHalfOpen: true });
    // Explicitly paused: the backward pipe resumes it when backward is open.
    target.pause();
    target.setNoDelay(true);
    this.target = target;
    this.openSockets += 1;
    target.on('error', () => this.destroy());
    target.on('close', () => this.socketClosed());
    this.pipes = [
      new Pipe(this.client, target, 'forward', this.link),
      new Pipe(target, this.client, 'backward', this.link),
    ];
  }

  /** A socket closing without an error has finished both ways; an error already destroyed the pair. */
  private socketClosed(): void {
    this.openSockets -= 1;
    if (this.openSockets > 0) return;
    this.destroy();
    this.link.connections.delete(this);
  }
}

/** See the file comment. Start with {@link TcpLinkProxy.start}; both directions start open, with no delay. */
export class TcpLinkProxy {
  private readonly link: LinkState;
  private connectionsAccepted = 0;
  private isClosed = false;

  private constructor(private readonly server: net.Server, options: TcpLinkProxyOptions) {
    this.link = {
      isOpen: { forward: true, backward: true },
      delayMs: 0,
      jitterMs: 0,
      random: options.random ?? Math.random,
      maxQueuedBytes: options.maxQueuedBytes ?? 4 * 1024 * 1024,
      maxQueuedChunks: options.maxQueuedChunks ?? 16_384,
      targetHost: options.targetHost,
      targetPort: options.targetPort,
      bytes: { forward: 0, backward: 0 },
      connections: new Set(),
    };
  }

  /** Listens on 127.0.0.1:`listenPort`; rejects if the port is taken. */
  static async start(options: TcpLinkProxyOptions): Promise<TcpLinkProxy> {
    const server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true });
    server.maxConnections = options.maxConnections ?? 256;
    const proxy = new TcpLinkProxy(server, options);
    server.on('connection', (socket: net.Socket) => proxy.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.listenPort, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    // Accept failures (EMFILE) must not crash the harness: the connecting node retries.
    server.on('error', () => undefined);
    return proxy;
  }

  /** The port the proxy listens on. */
  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** `127.0.0.1:<port>`, the address the connecting node dials. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Opens or closes A→B. Closing holds bytes (and new connections' SYN) until reopened. */
  setForward(open: boolean): void {
    this.setOpen('forward', open);
  }

  /** Opens or closes B→A. Closing holds bytes until reopened. */
  setBackward(open: boolean): void {
    this.setOpen('backward', open);
  }

  /**
   * Delays every chunk in both directions by `delayMs` ± up to `jitterMs` (never below 0, never
   * reordered). Applies to chunks already waiting too. Throws on negative or non-finite values.
   */
  setDelay(delayMs: number, jitterMs: number): void {
    if (!Number.isFinite(delayMs) || !Number.isFinite(jitterMs) || delayMs < 0 || jitterMs < 0) {
      throw new Error(`bad delay ${delayMs} ms / jitter ${jitterMs} ms`);
    }
    this.link.delayMs = delayMs;
    this.link.jitterMs = jitterMs;
    for (const connection of this.link.connections) connection.reschedule();
  }

  /** Counters since start. */
  stats(): TcpLinkProxyStats {
    return {
      connectionsAccepted: this.connectionsAccepted,
      connectionsOpen: this.link.connections.size,
      bytesForward: this.link.bytes.forward,
      bytesBackward: this.link.bytes.backward,
    };
  }

  /** Stops listening and destroys every connection; resolves when the port is free. Idempotent. */
  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const connection of this.link.connections) connection.destroy();
    await closed;
  }

  private accept(client: net.Socket): void {
    this.connectionsAccepted += 1;
    const connection = new LinkConnection(client, this.link);
    this.link.connections.add(connection);
    connection.refresh();
  }

  private setOpen(direction: Direction, open: boolean): void {
    this.link.isOpen[direction] = open;
    for (const connection of this.link.connections) connection.refresh();
  }
}
