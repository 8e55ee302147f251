/**
 * Issue 5, long polling: PullStream (many pulls multiplexed over one call) against a real broker
 * process. Answers come back by request id, a message wakes only the pulls of its queue, a cancel
 * frees the parked slot, the per-stream bound answers TOO_MANY_REQUESTS without hurting the
 * stream, a stream that ends frees all its parked pulls, and our client's PullStreams fails its
 * pulls with a retriable error when the node dies and works again once it is back.
 */
import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { LedgerError } from '../lib/common/errors.js';
import { StatusCode } from '../lib/common/status-codes.js';
import type { BrokerServiceClient } from '../lib/gen/internal/ledgermq/v1/BrokerService.js';
import type { PullMessagesRequest } from '../lib/gen/internal/ledgermq/v1/PullMessagesRequest.js';
import type { SendMessagesRequest } from '../lib/gen/internal/ledgermq/v1/SendMessagesRequest.js';
import type { SendMessagesResponse__Output } from '../lib/gen/internal/ledgermq/v1/SendMessagesResponse.js';
import type { PullStreamRequest } from '../lib/gen/internal/ledgermq/v1/PullStreamRequest.js';
import type { PullStreamResponse__Output } from '../lib/gen/internal/ledgermq/v1/PullStreamResponse.js';
import { loadInternal } from '../lib/protocol/proto-definitions.js';
import { unaryCall } from '../lib/protocol/unary-call.js';
import { parkedPolls } from '../lib/bench/node-metrics.js';
import { PullStreams } from '../lib/client/pull-stream.js';
import { PullConsumer } from '../lib/client/pull-consumer.js';
import { startCluster, waitFor } from './cluster-helpers.js';

type Cluster = Awaited<ReturnType<typeof startCluster>>;

/** The error `pull` rejects with, or null when it resolves (handled at once: no unhandled rejection). */
function failureOf(pull: Promise<unknown>): Promise<unknown> {
  return pull.then(() => null, (error: unknown) => error);
}
type Duplex = grpc.ClientDuplexStream<PullStreamRequest, PullStreamResponse__Output>;

const TOPIC = 'StreamTopic';
const MAX_PULLS_PER_STREAM = 6;

describe('PullStream: multiplexed long polling (real process)', function () {
  this.timeout(120_000);
  let cluster: Cluster;
  let client: BrokerServiceClient;

  before(async () => {
    cluster = await startCluster({ nodes: 1, brokerOverrides: { defaultQueueCount: 2, maxPullsPerStream: MAX_PULLS_PER_STREAM } });
    client = new (loadInternal().ledgermq.v1.BrokerService)(cluster.nodes[0].broker, grpc.credentials.createInsecure());
    // Creates the topic (2 queues, auto-created) with a first message on queue 0.
    await sendTo(0, 'first-0');
  });

  /** One message to one queue (raw SendMessages: the broker auto-creates the topic). */
  async function sendTo(queueId: number, body: string): Promise<void> {
    const request: SendMessagesRequest = { topic: TOPIC, queueId, messages: [{ topic: TOPIC, body: Buffer.from(body) }] };
    const response = await unaryCall<SendMessagesRequest, SendMessagesResponse__Output>(client, (r, o, cb) => client.SendMessages(r, o, cb), request, 10_000);
    expect(response.status?.code).to.equal(StatusCode.OK);
    expect(response.entries[0].queueId).to.equal(queueId);
  }

  after(async () => {
    client?.close();
    await cluster?.dispose();
  });

  function pullRequest(queueId: number, offset: number, pollTimeoutMs = 25_000): PullMessagesRequest {
    return { group: 'stream-group', topic: TOPIC, queueId, offset, maxMessages: 16, pollTimeoutMs, filter: { type: 'TAG', expression: '*' }, resetVersion: -1 };
  }

  /** Opens a stream and collects its answers by request id. */
  function openStream(): { call: Duplex; answers: Map<number, PullStreamResponse__Output>; ended: Promise<void> } {
    const call = client.PullStream();
    const answers = new Map<number, PullStreamResponse__Output>();
    call.on('data', (frame: PullStreamResponse__Output) => answers.set(frame.requestId, frame));
    const ended = new Promise<void>((resolve) => {
      call.on('error', () => resolve());
      call.on('end', () => resolve());
    });
    return { call, answers, ended };
  }

  async function headOf(queueId: number): Promise<number> {
    const { call, answers } = openStream();
    call.write({ requestId: 1, pull: pullRequest(queueId, 0, 0) });
    const answer = await waitFor(`the head of queue ${queueId}`, () => answers.get(1));
    call.end();
    return Number(answer.response!.maxOffset);
  }

  const parked = (): Promise<number | null> => parkedPolls(cluster.nodes[0].http);

  it('answers pulls by id, wakes only the pulls of the queue that got a message, and frees cancelled ones', async () => {
    const heads = [await headOf(0), await headOf(1)];
    const { call, answers } = openStream();
    // Ids 10, 11 on queue 0; 20, 21, 22 on queue 1; all parked at the head.
    for (const id of [10, 11]) call.write({ requestId: id, pull: pullRequest(0, heads[0]) });
    for (const id of [20, 21, 22]) call.write({ requestId: id, pull: pullRequest(1, heads[1]) });
    await waitFor('5 parked pulls', async () => (await parked()) === 5);

    // Cancel 22: no answer, its slot is freed at once.
    call.write({ requestId: 22, cancel: true });
    await waitFor('4 parked pulls after the cancel', async () => (await parked()) === 4);

    await sendTo(1, 'to-queue-1');
    await waitFor('answers to 20 and 21', () => answers.has(20) && answers.has(21));
    for (const id of [20, 21]) {
      const response = answers.get(id)!.response!;
      expect(response.status?.code).to.equal(StatusCode.OK);
      expect(response.pullStatus).to.equal('FOUND');
      expect(response.messages.map((m) => m.message!.body.toString())).to.deep.equal(['to-queue-1']);
      expect(Number(response.nextOffset)).to.equal(heads[1] + 1);
    }
    expect(answers.has(10) || answers.has(11), 'queue 0 pulls still parked').to.equal(false);
    expect(answers.has(22), 'a cancelled pull is not answered').to.equal(false);
    expect(await parked()).to.equal(2);

    // The client ends the stream: its parked pulls are released at once, not at their timeout.
    call.end();
    await waitFor('no parked pulls after the stream ended', async () => (await parked()) === 0);
  });

  it('refuses pulls past maxPullsPerStream and a reused id, and keeps serving the stream', async () => {
    const head = await headOf(0);
    const { call, answers, ended } = openStream();
    for (let id = 0; id < MAX_PULLS_PER_STREAM; id++) call.write({ requestId: id, pull: pullRequest(0, head) });
    await waitFor(`${MAX_PULLS_PER_STREAM} parked pulls`, async () => (await parked()) === MAX_PULLS_PER_STREAM);
    call.write({ requestId: 100, pull: pullRequest(0, head) });
    const refused = await waitFor('an answer to the pull over the bound', () => answers.get(100));
    expect(refused.response!.status?.code).to.equal(StatusCode.TOO_MANY_REQUESTS);
    expect(refused.response!.status?.message).to.match(/maxPullsPerStream/);

    // A reused id while in flight, and a frame that is neither pull nor cancel.
    call.write({ requestId: 0, pull: pullRequest(0, head) });
    call.write({ requestId: 200 });
    await waitFor('answers to the bad frames', () => answers.has(200) && answers.has(0));
    expect(answers.get(0)!.response!.status?.code).to.equal(StatusCode.BAD_REQUEST);
    expect(answers.get(200)!.response!.status?.code).to.equal(StatusCode.BAD_REQUEST);

    // Still serving: a cancel makes room, a pull that can be answered at once is answered.
    call.write({ requestId: 1, cancel: true });
    call.write({ requestId: 300, pull: pullRequest(0, 0, 0) });
    const served = await waitFor('an answer to the pull after the cancel', () => answers.get(300));
    expect(served.response!.status?.code).to.equal(StatusCode.OK);
    expect(served.response!.pullStatus).to.equal('FOUND');
    call.cancel();
    await ended;
    await waitFor('no parked pulls after the stream was cancelled', async () => (await parked()) === 0);
  });

  it('our client fails its pulls with a retriable error when the node dies, and pulls again once it is back', async () => {
    const node = cluster.nodes[0];
    const streams = new PullStreams(client, node.broker);
    try {
      const head = await headOf(0);
      const parkedOutcome = failureOf(streams.pull(pullRequest(0, head), 120_000));
      const first = await streams.pull(pullRequest(1, 0, 0), 120_000);
      expect(first.pullStatus).to.equal('FOUND');
      await waitFor('a parked pull', async () => (await parked()) === 1);
      await cluster.stopNode(node.id, 'SIGKILL');
      const failure = await parkedOutcome;
      expect(failure).to.be.instanceOf(LedgerError);
      expect((failure as LedgerError).retriable).to.equal(true);

      await cluster.startNode(node.id);
      const again = await waitFor('a pull served after the restart', async () => {
        try {
          return await streams.pull(pullRequest(0, 0, 0), 5_000);
        } catch {
          return undefined;
        }
      }, 30_000);
      expect(again.pullStatus).to.equal('FOUND');
      expect(again.messages[0].message!.body.toString()).to.equal('first-0');

      // A pull given up by its caller is cancelled on the broker.
      const controller = new AbortController();
      const given = failureOf(streams.pull(pullRequest(0, head), 120_000, controller.signal));
      await waitFor('a parked pull', async () => (await parked()) === 1);
      controller.abort();
      expect(await given).to.be.instanceOf(LedgerError);
      await waitFor('no parked pulls after the abort', async () => (await parked()) === 0);
    } finally {
      streams.close();
    }
  });

  it('our client gives up one late pull alone (cancelled on the broker) while its stream answers, and drops a stream that answers nothing', async () => {
    const node = cluster.nodes[0];
    const streams = new PullStreams(client, node.broker);
    try {
      const head = await headOf(0);
      const parkedLong = streams.pull(pullRequest(0, head), 120_000);
      // Asks for 20 s of long polling but allows only 1 s: given up alone...
      const late = failureOf(streams.pull(pullRequest(0, head, 20_000), 1_000));
      await waitFor('2 parked pulls', async () => (await parked()) === 2);
      // ...because the stream shows it is alive (an answer after the late pull was sent).
      expect((await streams.pull(pullRequest(0, 0, 0), 5_000)).pullStatus).to.equal('FOUND');
      const lateError = await late;
      expect(lateError).to.be.instanceOf(LedgerError);
      expect((lateError as LedgerError).retriable).to.equal(true);
      await waitFor('the late pull cancelled on the broker', async () => (await parked()) === 1);
      await sendTo(0, 'for-the-long-one');
      const answer = await parkedLong;
      expect(answer.messages.map((m) => m.message!.body.toString())).to.deep.equal(['for-the-long-one']);

      // A paused node answers nothing: the pull that times out takes its whole stream down.
      const head2 = await headOf(0);
      const parkedAgain = failureOf(streams.pull(pullRequest(0, head2), 120_000));
      await waitFor('a parked pull', async () => (await parked()) === 1);
      process.kill(node.pid!, 'SIGSTOP');
      try {
        const unanswered = await failureOf(streams.pull(pullRequest(0, 0, 0), 1_000));
        expect((unanswered as LedgerError).code).to.equal('PROXY_TIMEOUT');
        const dropped = await parkedAgain;
        expect(dropped, 'the other pull on that stream failed with it').to.be.instanceOf(LedgerError);
        expect((dropped as LedgerError).retriable).to.equal(true);
      } finally {
        process.kill(node.pid!, 'SIGCONT');
      }
      expect((await streams.pull(pullRequest(0, 0, 0), 5_000)).pullStatus, 'a new stream once the node answers').to.equal('FOUND');
      await waitFor('no parked pulls', async () => (await parked()) === 0);
    } finally {
      streams.close();
    }
  });

  it('a PullConsumer that shuts down cancels its parked pulls at once, and a broker stops gracefully with streams open', async () => {
    const consumer = new PullConsumer({ nameServers: cluster.description.namesrv, group: 'stream-pull-consumer', pollTimeoutMs: 25_000 });
    await consumer.assign(await consumer.queuesOf(TOPIC));
    await waitFor('the consumer\'s 2 pulls parked', async () => (await parked()) === 2);
    // Well within the 25 s poll timeout: the pulls are cancelled, not waited out.
    const stopping = consumer.shutdown();
    await waitFor('no parked pulls after shutdown', async () => (await parked()) === 0, 5_000);
    await stopping;

    // A stream with a parked pull stays open while the broker stops: SIGTERM must still end it
    // cleanly (the process logs its last line) rather than wait for the client.
    const node = cluster.nodes[0];
    const streams = new PullStreams(client, node.broker);
    try {
      const pending = failureOf(streams.pull(pullRequest(0, await headOf(0)), 120_000));
      await waitFor('a parked pull', async () => (await parked()) === 1);
      await cluster.stopNode(node.id, 'SIGTERM');
      const failure = await pending;
      expect(failure).to.be.instanceOf(LedgerError);
      expect((failure as LedgerError).retriable).to.equal(true);
      expect(readFileSync(node.logFile, 'utf8')).to.match(/"msg":"broker node stopped"/);
    } finally {
      streams.close();
      await cluster.startNode(node.id);
    }
  });
});
