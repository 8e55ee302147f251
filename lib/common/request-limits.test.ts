import { expect } from 'chai';
import * as grpc from '@grpc/grpc-js';
import { InflightBudget } from './inflight-budget.js';
import type { InflightBudgetLimits } from './inflight-budget.js';
import { requestLimitsInterceptor, sizedService } from './request-limits.js';
import type { RequestRefusal } from './request-limits.js';

const bytes = (b: Buffer): Buffer => b;
function method(path: string, responseStream: boolean): grpc.MethodDefinition<Buffer, Buffer> {
  return { path, requestStream: false, responseStream, requestSerialize: bytes, requestDeserialize: bytes, responseSerialize: bytes, responseDeserialize: bytes };
}
const service: grpc.ServiceDefinition = {
  Send: method('/t.T/Send', false),
  Small: method('/t.T/Small', false),
  Stream: method('/t.T/Stream', true),
};
const KiB = 1024;
const limits: InflightBudgetLimits = { maxInflightBytes: 1024 * KiB, maxInflightBytesPerClient: 1024 * KiB, maxReadingPerClient: 8, maxReadingPerConnection: 16, maxWaiting: 64, maxWaitingPerClient: 64 };

describe('requestLimitsInterceptor (a real grpc-js server on 127.0.0.1)', () => {
  let server: grpc.Server;
  let client: grpc.Client;
  let budget: InflightBudget;
  let slots: InflightBudget;
  const refusals: RequestRefusal[] = [];

  before(async () => {
    budget = new InflightBudget(() => limits);
    slots = new InflightBudget(() => ({ ...limits, maxInflightBytes: 4 }), (c) => budget.hasRoom(c));
    budget.onRoom(() => slots.wake());
    server = new grpc.Server({
      'grpc.max_receive_message_length': 256 * KiB,
      interceptors: [requestLimitsInterceptor({
        budget, readSlots: slots, requestGrantBytes: 256 * KiB, bodyMethods: new Set(['Send']),
        busyAnswer: () => null, onRefused: (reason) => refusals.push(reason), maxWaitMs: 300, readTimeoutMs: 300,
      })],
    });
    server.addService(sizedService(service), {
      Send: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => callback(null, Buffer.from(`got ${call.request.length}`)),
      Small: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => callback(null, Buffer.from('ok')),
      Stream: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
        for (let i = 0; i < 20; i++) call.write(Buffer.alloc(100 * KiB, i));
        call.end();
      },
    });
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  });

  after(() => {
    client.close();
    server.forceShutdown();
  });

  /** Polls until the budgets hold nothing (grants and holds are released on the next ticks). */
  async function drained(): Promise<void> {
    for (let i = 0; i < 100 && (budget.usedBytes !== 0 || slots.usedBytes !== 0); i++) await new Promise((r) => setTimeout(r, 10));
    expect([budget.usedBytes, slots.usedBytes, budget.waitingRequests, slots.waitingRequests]).to.deep.equal([0, 0, 0, 0]);
  }

  function unary(path: string, body: Buffer): Promise<string> {
    return new Promise((resolve) => client.makeUnaryRequest(path, bytes, bytes, body, (error, answer) => resolve(error ? `grpc:${grpc.status[error.code]}` : answer!.toString())));
  }

  it('serves sends and small calls, and gives every byte back', async () => {
    expect(await Promise.all([unary('/t.T/Send', Buffer.alloc(100 * KiB)), unary('/t.T/Small', Buffer.from('x'))])).to.deep.equal([`got ${100 * KiB}`, 'ok']);
    await drained();
  });

  it('a second request message in a unary call does not leak the first one\'s bytes', async () => {
    const outcome = await new Promise<string>((resolve) => {
      const call = client.makeClientStreamRequest('/t.T/Small', bytes, bytes, (error) => resolve(error ? `grpc:${grpc.status[error.code]}` : 'answered'));
      call.write(Buffer.alloc(50 * KiB, 1));
      call.write(Buffer.alloc(50 * KiB, 2));
      call.end();
    });
    expect(outcome).to.match(/^grpc:/);
    await drained();
  });

  it('a request whose end never comes is refused after the read timeout, and its bytes come back', async () => {
    const outcome = await new Promise<string>((resolve) => {
      const call = client.makeClientStreamRequest('/t.T/Small', bytes, bytes, (error) => resolve(error ? `grpc:${grpc.status[error.code]}` : 'answered'));
      call.write(Buffer.from('no half-close follows'));
    });
    expect(outcome).to.equal('grpc:RESOURCE_EXHAUSTED');
    expect(refusals).to.include('read_timeout');
    await drained();
  });

  it('a call cancelled while it waits is never read, and one that waits too long is refused unread', async () => {
    const full = budget.hold('someone', limits.maxInflightBytes);
    const waiting = client.makeUnaryRequest('/t.T/Send', bytes, bytes, Buffer.alloc(10 * KiB), () => undefined);
    await new Promise((r) => setTimeout(r, 50));
    expect(budget.waitingRequests).to.equal(1);
    waiting.cancel();
    await new Promise((r) => setTimeout(r, 50));
    expect(budget.waitingRequests).to.equal(0);
    expect(await unary('/t.T/Small', Buffer.from('x'))).to.equal('grpc:RESOURCE_EXHAUSTED');
    expect(refusals).to.include('read_wait_timeout');
    full.release();
    await drained();
  });

  it('holds a server stream\'s answers only until each is written, not until the stream ends', async () => {
    let mostHeld = 0;
    const received = await new Promise<number>((resolve) => {
      let total = 0;
      const call = client.makeServerStreamRequest('/t.T/Stream', bytes, bytes, Buffer.from('go'));
      call.on('data', (chunk: Buffer) => {
        total += chunk.length;
        mostHeld = Math.max(mostHeld, budget.usedBytes);
      });
      call.on('end', () => resolve(total));
      call.on('error', () => resolve(-1));
    });
    expect(received).to.equal(20 * 100 * KiB);
    // Held until the end, the answers would reach 2,000 KiB by the last ones.
    expect(mostHeld).to.be.greaterThan(0);
    expect(mostHeld).to.be.lessThan(1_000 * KiB);
    await drained();
  });
});
