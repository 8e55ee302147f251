import { expect } from 'chai';
import { LedgerError } from '../common/errors.js';
import { CorruptMessageError, decodeMessageBatch, decodeStoredMessage, encodeMessageBatch } from './message-codec.js';
import type { StoredMessage } from './message-codec.js';
import { NO_TAG_HASH, tagHash } from './tag-hash.js';

function message(overrides: Partial<StoredMessage> = {}): StoredMessage {
  return {
    topic: 'orders',
    queueId: 3,
    body: Buffer.from('hello world'),
    tag: 'TagA',
    keys: ['k1', 'ключ'],
    properties: { a: '1', __proto__: 'not a prototype', empty: '' },
    messageId: '01ABCDEF',
    bornTimestampMs: 1_700_000_000_123,
    bornHost: '10.0.0.1:5555',
    messageGroup: 'group-1',
    deliveryTimestampMs: 0,
    messageType: 2,
    ...overrides,
  };
}

/** Deterministic pseudo-random bytes (xorshift32) so failures replay. */
function noise(seed: number, length: number): Buffer {
  let state = seed >>> 0 || 1;
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i += 1) {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    bytes[i] = state & 0xff;
  }
  return bytes;
}

describe('message codec', () => {
  it('round-trips a batch with offsets and sizes', () => {
    const properties: Record<string, string> = Object.fromEntries([['a', '1'], ['__proto__', 'not a prototype'], ['empty', '']]);
    const messages = [message({ properties }), message({ body: Buffer.alloc(0), tag: '', keys: [], properties: {}, deliveryTimestampMs: 1_800_000_000_000 }), message({ topic: '%RETRY%g', queueId: 0xffffffff })];
    const { body, messages: placed } = encodeMessageBatch(messages);
    expect(placed[0].offset).to.equal(2);
    expect(placed[1].offset).to.equal(2 + placed[0].size);
    expect(body.length).to.equal(2 + placed.reduce((sum, p) => sum + p.size, 0));
    const decoded = decodeMessageBatch(body);
    expect(decoded.map((d) => ({ offset: d.offset, size: d.size }))).to.deep.equal(placed);
    expect(decoded.map((d) => d.message)).to.deep.equal(messages);
    expect(Object.getPrototypeOf(decoded[0].message.properties)).to.equal(Object.prototype);
    expect(Object.keys(decoded[0].message.properties)).to.deep.equal(['a', '__proto__', 'empty']);
    const single = decodeStoredMessage(body.subarray(placed[2].offset, placed[2].offset + placed[2].size));
    expect(single).to.deep.equal(messages[2]);
  });

  it('detects a flipped byte anywhere in a message', () => {
    const { body, messages: placed } = encodeMessageBatch([message()]);
    const { offset, size } = placed[0];
    for (let i = 0; i < size; i += 1) {
      const copy = Buffer.from(body.subarray(offset, offset + size));
      copy[i] ^= 0x40;
      expect(() => decodeStoredMessage(copy), `byte ${i}`).to.throw(CorruptMessageError);
    }
  });

  it('throws only CorruptMessageError on garbage, truncations and bad counts', () => {
    const { body } = encodeMessageBatch([message(), message({ keys: [] })]);
    const inputs: Buffer[] = [Buffer.alloc(0), Buffer.alloc(1), Buffer.from([0, 5]), Buffer.concat([body, Buffer.from([1])])];
    for (let cut = 0; cut < body.length; cut += 7) inputs.push(body.subarray(0, cut));
    for (let seed = 1; seed <= 300; seed += 1) {
      const garbage = noise(seed, seed % 120);
      inputs.push(garbage);
      // A valid-looking size prefix makes the decoder go deeper before the CRC stops it.
      const framed = Buffer.concat([Buffer.from([0, 1]), garbage]);
      if (framed.length >= 6) framed.writeUInt32BE(framed.length - 2, 2);
      inputs.push(framed);
    }
    for (const input of inputs) {
      for (const decode of [decodeMessageBatch, decodeStoredMessage]) {
        try {
          decode(input);
          expect.fail(`decoded garbage of ${input.length} bytes`);
        } catch (error) {
          expect(error, `input ${input.toString('hex')}`).to.be.instanceOf(CorruptMessageError);
          expect((error as CorruptMessageError).code).to.equal('MESSAGE_CORRUPTED');
        }
      }
    }
  });

  it('refuses fields that do not fit the format', () => {
    expect(() => encodeMessageBatch([message({ topic: 't'.repeat(256) })])).to.throw(LedgerError).with.property('code', 'ILLEGAL_TOPIC');
    expect(() => encodeMessageBatch([message({ queueId: -1 })])).to.throw(LedgerError).with.property('code', 'BAD_REQUEST');
    expect(() => encodeMessageBatch([message({ bornTimestampMs: 1.5 })])).to.throw(LedgerError);
  });
});

describe('tagHash', () => {
  it('is FNV-1a 64 with 0 reserved for no tag', () => {
    expect(tagHash('')).to.equal(NO_TAG_HASH);
    // Reference values of FNV-1a 64.
    expect(tagHash('a')).to.equal(0xaf63dc4c8601ec8cn);
    expect(tagHash('foobar')).to.equal(0x85944171f73967e8n);
    expect(tagHash('TagA')).to.equal(tagHash('TagA'));
    expect(tagHash('TagA')).to.not.equal(tagHash('TagB'));
  });
});
