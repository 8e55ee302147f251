/**
 * Load pieces of the limits test: a flood of sends at a fixed window over raw gRPC (so the test
 * sees every answer, not a client's retries), official-style ReceiveMessage calls parked on the
 * Proxy, and an RSS sampler reading `/proc/<pid>/status` of processes the test started.
 */
import * as grpc from '@grpc/grpc-js';
import { readFile } from 'node:fs/promises';
import { StatusCode, statusCodeName } from '../lib/common/status-codes.js';
import { loadInternal, loadV2 } from '../lib/protocol/proto-definitions.js';
import type { Message } from '../lib/gen/v2/apache/rocketmq/v2/Message.js';
import type { ReceiveMessageResponse__Output } from '../lib/gen/v2/apache/rocketmq/v2/ReceiveMessageResponse.js';
import type { MessagingServiceClient } from '../lib/gen/v2/apache/rocketmq/v2/MessagingService.js';

/** Answers of a flood by outcome: a status name, or `grpc:<code name>` for a transport failure. */
export type Outcomes = Map<string, number>;

function count(outcomes: Outcomes, key: string): void {
  outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
}

/**
 * `window` loops of one-message sends until stopped, each starting a send at most every
 * `intervalMs` (a refused send comes back in a millisecond; without a pace the flood would spend
 * the test machine's CPU on copying buffers). `send` makes one call and resolves with its outcome.
 */
export class Flood {
  readonly outcomes: Outcomes = new Map();
  private stopped = false;
  private readonly loops: Array<Promise<void>>;

  constructor(window: number, intervalMs: number, send: () => Promise<string>) {
    this.loops = Array.from({ length: window }, async () => {
      while (!this.stopped) {
        const started = Date.now();
        count(this.outcomes, await send());
        const left = started + intervalMs - Date.now();
        if (left > 0) await new Promise((resolve) => setTimeout(resolve, left));
      }
    });
  }

  /** Stops sending and waits for the calls in flight. */
  async stop(): Promise<Outcomes> {
    this.stopped = true;
    await Promise.all(this.loops);
    return this.outcomes;
  }
}

/** Each client is its own connection (local subchannel pool). */
const OWN_CONNECTION = { 'grpc.use_local_subchannel_pool': 1, 'grpc.max_send_message_length': -1 } as const;

function transportOutcome(error: grpc.ServiceError): string {
  return `grpc:${grpc.status[error.code]}`;
}

/** SendMessages of one `bodyBytes` message to a broker, over a connection of its own. */
export function brokerSender(address: string, topic: string, bodyBytes: number): { send: () => Promise<string>; close: () => void } {
  const client = new (loadInternal().ledgermq.v1.BrokerService)(address, grpc.credentials.createInsecure(), OWN_CONNECTION);
  const body = Buffer.alloc(bodyBytes, 7);
  let sequence = 0;
  const send = (): Promise<string> => new Promise((resolve) => {
    const message = { topic, body, tag: '', keys: [], properties: {}, messageId: `flood-${bodyBytes}-${sequence++}`, bornTimestampMs: Date.now(), bornHost: '127.0.0.1' };
    client.SendMessages({ topic, queueId: -1, messages: [message] }, { deadline: Date.now() + 20_000 }, (error, response) => {
      if (error) resolve(transportOutcome(error));
      else resolve(statusCodeName(response?.status?.code ?? StatusCode.OK) ?? String(response?.status?.code));
    });
  });
  return { send, close: () => client.close() };
}

/** v2 SendMessage of one `bodyBytes` message through the Proxy, over a connection of its own. */
export function proxySender(accessPoint: string, topic: string, bodyBytes: number): { send: () => Promise<string>; close: () => void } {
  const client = new (loadV2().apache.rocketmq.v2.MessagingService)(accessPoint, grpc.credentials.createInsecure(), OWN_CONNECTION);
  const body = Buffer.alloc(bodyBytes, 7);
  let sequence = 0;
  const send = (): Promise<string> => new Promise((resolve) => {
    const message: Message = {
      topic: { name: topic, resourceNamespace: '' },
      body,
      systemProperties: { messageId: `proxy-flood-${bodyBytes}-${sequence++}`, bodyEncoding: 'IDENTITY', messageType: 'NORMAL', bornTimestamp: { seconds: Math.floor(Date.now() / 1000), nanos: 0 }, bornHost: '127.0.0.1' },
    };
    client.SendMessage({ messages: [message] }, { deadline: Date.now() + 20_000 }, (error, response) => {
      if (error) resolve(transportOutcome(error));
      else resolve(String(response?.status?.code ?? 'OK'));
    });
  });
  return { send, close: () => client.close() };
}

/**
 * `count` ReceiveMessage loops on the Proxy over `channels` connections, as idle official
 * SimpleConsumers hold them: each call long-polls `longPollingSeconds`, and is made again when it
 * ends. Outcomes count the first status of every call.
 */
/** An official client names its instance in every call: one id per channel here (a SimpleConsumer each). */
function metadataOf(channel: number): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set('x-mq-client-id', `parked-receiver-${channel}`);
  return metadata;
}

export class ParkedReceives {
  readonly outcomes: Outcomes = new Map();
  private readonly clients: MessagingServiceClient[];
  private readonly calls = new Set<grpc.ClientReadableStream<unknown>>();
  private stopped = false;
  private loops: Array<Promise<void>> = [];
  /** Calls open now. */
  open = 0;

  constructor(accessPoint: string, channels: number) {
    this.clients = Array.from({ length: channels }, () => new (loadV2().apache.rocketmq.v2.MessagingService)(accessPoint, grpc.credentials.createInsecure(), OWN_CONNECTION));
  }

  /** Starts `loops` loops at `perSecond`, on `topic` for `group`. Returns at once. */
  start(loops: number, perSecond: number, topic: string, group: string, longPollingSeconds: number): void {
    this.loops = Array.from({ length: loops }, async (_, i) => {
      await new Promise((resolve) => setTimeout(resolve, Math.floor((i * 1000) / perSecond)));
      const client = this.clients[i % this.clients.length];
      while (!this.stopped) {
        const first = await new Promise<string>((resolve) => {
          let status = '';
          this.open += 1;
          const call = client.ReceiveMessage({
            group: { name: group, resourceNamespace: '' },
            messageQueue: { topic: { name: topic, resourceNamespace: '' }, id: 0, broker: { name: '' } },
            filterExpression: { type: 'TAG', expression: '*' },
            batchSize: 1,
            invisibleDuration: { seconds: 30, nanos: 0 },
            autoRenew: false,
            longPollingTimeout: { seconds: longPollingSeconds, nanos: 0 },
          }, metadataOf(i % this.clients.length), { deadline: Date.now() + (longPollingSeconds + 20) * 1000 });
          this.calls.add(call);
          call.on('data', (response: ReceiveMessageResponse__Output) => {
            if (status === '' && response.status) status = String(response.status.code);
          });
          const done = (outcome: string): void => {
            this.calls.delete(call);
            this.open -= 1;
            resolve(outcome);
          };
          call.on('error', (error: grpc.ServiceError) => done(`grpc:${grpc.status[error.code]}`));
          call.on('end', () => done(status || 'EMPTY'));
        });
        count(this.outcomes, first);
        // A refused call waits a little before trying again, as a client's backoff would.
        if (first !== 'MESSAGE_NOT_FOUND' && first !== 'OK') await new Promise((resolve) => setTimeout(resolve, 200));
      }
    });
  }

  /** Cancels every call, waits for the loops, closes the connections. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const call of this.calls) call.cancel();
    await Promise.all(this.loops);
    for (const client of this.clients) client.close();
  }
}

/** Resident set size of `pid`, bytes (VmRSS of /proc/<pid>/status). */
export async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) * 1024;
}

/** Samples the RSS of some processes every `intervalMs` and keeps each one's peak. */
export class RssSampler {
  readonly peaks = new Map<number, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(pids: readonly number[], intervalMs: number) {
    this.timer = setInterval(() => {
      for (const pid of pids) {
        rssBytes(pid).then((bytes) => this.peaks.set(pid, Math.max(this.peaks.get(pid) ?? 0, bytes)), () => undefined);
      }
    }, intervalMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
