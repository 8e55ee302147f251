import { expect } from 'chai';
import { LedgerError } from '../common/errors.js';
import type { Message, SendResult } from './message.js';
import { SendBatcher } from './send-batcher.js';

/** A fake broker: records each batch, answers one result per message (offset = position in all sends). */
function fakeBroker(refuse: (message: Message) => boolean = () => false): { calls: Message[][]; send: (messages: Message[]) => Promise<SendResult[]> } {
  const calls: Message[][] = [];
  let offset = 0;
  return {
    calls,
    send: (messages) => {
      calls.push(messages);
      if (messages.some(refuse)) return Promise.reject(new LedgerError('MESSAGE_BODY_TOO_LARGE', 'too large'));
      return Promise.resolve(messages.map((m) => ({ messageId: String(m.body), brokerGroup: 'g', queueId: 0, queueOffset: offset++ })));
    },
  };
}

const msg = (body: string, extra: Partial<Message> = {}): Message => ({ topic: 'T', body, ...extra });

describe('SendBatcher', () => {
  it('sends issued in one event-loop turn go as one batch; each gets its own result', async () => {
    const broker = fakeBroker();
    const batcher = new SendBatcher(broker.send);
    const results = await Promise.all(['a', 'b', 'c'].map((body) => batcher.send(msg(body))));
    expect(broker.calls.map((c) => c.map((m) => m.body))).to.deep.equal([['a', 'b', 'c']]);
    expect(results.map((r) => r.messageId)).to.deep.equal(['a', 'b', 'c']);
  });

  it('splits by count and by bytes, and keeps topics, message groups and delayed messages apart', async () => {
    const broker = fakeBroker();
    const batcher = new SendBatcher(broker.send, { maxMessages: 2, maxBytes: 10 });
    await Promise.all([
      batcher.send(msg('1')), batcher.send(msg('2')), batcher.send(msg('3')),
      batcher.send(msg('xxxxxxxxxx')), // 10 bytes: does not fit after '3'
      batcher.send(msg('g1', { messageGroup: 'A' })), batcher.send(msg('g2', { messageGroup: 'B' })),
      batcher.send(msg('d', { delayLevel: 1 })), batcher.send(msg('u', { topic: 'U' })),
    ]);
    const batches = broker.calls.map((c) => c.map((m) => m.body).join(','));
    expect(batches).to.have.members(['1,2', '3', 'xxxxxxxxxx', 'g1', 'g2', 'd', 'u']);
  });

  it('a batch refused for one bad message is sent again message by message: only the bad one fails', async () => {
    const broker = fakeBroker((m) => m.body === 'bad');
    const batcher = new SendBatcher(broker.send);
    const outcomes = await Promise.all(['ok1', 'bad', 'ok2'].map((body) => batcher.send(msg(body)).then(() => 'ok', (e: LedgerError) => e.code)));
    expect(outcomes).to.deep.equal(['ok', 'MESSAGE_BODY_TOO_LARGE', 'ok']);
  });

  it('with a linger, sends a little apart still share a batch', async () => {
    const broker = fakeBroker();
    const batcher = new SendBatcher(broker.send, { lingerMs: 30 });
    const first = batcher.send(msg('a'));
    await new Promise((resolve) => setTimeout(resolve, 5));
    await Promise.all([first, batcher.send(msg('b'))]);
    expect(broker.calls).to.have.length(1);
  });
});
