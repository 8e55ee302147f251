import { expect } from 'chai';
import { createRequire } from 'node:module';
import { ClusterAuth } from './cluster-auth.js';
import { checkDateTime, formatDateTime, parseAuthorization, parseDateTime, userHeaders, userSignature } from './request-signature.js';

const require = createRequire(import.meta.url);
/** The official Node client's own signing helpers (what it sends is what we must accept). */
const official = require('rocketmq-client-nodejs/dist/util/index.js') as { sign: (secret: string, dateTime: string) => string; getRequestDateTime: () => string };

describe('request signatures', () => {
  it('formats and parses the v2 date-time, and refuses out-of-range fields', () => {
    const at = Date.UTC(2026, 10, 22, 9, 8, 7);
    expect(formatDateTime(at)).to.equal('20261122T090807Z');
    expect(parseDateTime('20261122T090807Z')).to.equal(at);
    expect(parseDateTime('20261322T090807Z')).to.equal(null);
    expect(parseDateTime('20261122T250807Z')).to.equal(null);
    expect(parseDateTime('2026-11-22T09:08:07Z')).to.equal(null);
    expect(parseDateTime(official.getRequestDateTime())).to.be.a('number');
  });

  it('signs exactly as the official client does, and builds a header it would send', () => {
    const dateTime = official.getRequestDateTime();
    expect(userSignature('secret-key', dateTime)).to.equal(official.sign('secret-key', dateTime));
    const headers = userHeaders('AK1', 'secret-key', parseDateTime(dateTime)!);
    const parsed = parseAuthorization(headers.authorization);
    expect(parsed).to.deep.equal({ algorithm: 'MQv2-HMAC-SHA1', credential: 'AK1', signedHeaders: ['x-mq-date-time'], signature: official.sign('secret-key', dateTime) });
  });

  it('refuses malformed authorization headers', () => {
    expect(parseAuthorization('MQv2-HMAC-SHA1 Credential=AK1')).to.equal(null);
    expect(parseAuthorization('MQv2-HMAC-SHA1 Credential=AK1, SignedHeaders=x-mq-date-time, Signature=XYZ')).to.equal(null);
    expect(parseAuthorization(`MQv2-HMAC-SHA1 Credential=AK1, SignedHeaders=x, Signature=${'A'.repeat(2000)}`)).to.equal(null);
  });

  it('bounds the clock skew both ways', () => {
    const now = Date.UTC(2026, 10, 22, 12, 0, 0);
    expect(checkDateTime(formatDateTime(now - 59_000), now, 60_000)).to.equal(null);
    expect(checkDateTime(formatDateTime(now + 59_000), now, 60_000)).to.equal(null);
    expect(checkDateTime(formatDateTime(now - 61_000), now, 60_000)).to.equal('stale');
    expect(checkDateTime(formatDateTime(now + 61_000), now, 60_000)).to.equal('stale');
    expect(checkDateTime('yesterday', now, 60_000)).to.equal('malformed');
  });

  it('checks cluster signatures: secret, path, date and presence', () => {
    let now = Date.UTC(2026, 10, 22, 12, 0, 0);
    const auth = new ClusterAuth('0123456789abcdef0123', 60_000, () => now);
    const other = new ClusterAuth('fedcba9876543210fedc', 60_000, () => now);
    const reader = (headers: Record<string, string>) => (key: string): string => headers[key] ?? '';
    const path = '/ledgermq.raft.v1.RaftService/Stream';
    expect(auth.verify(reader(auth.headersFor('n1', path)), path)).to.deep.equal({ ok: true, memberId: 'n1' });
    expect(auth.verify(reader(other.headersFor('n1', path)), path)).to.include({ ok: false, reason: 'bad_signature' });
    expect(auth.verify(reader(auth.headersFor('n1', path)), '/ledgermq.raft.v1.RaftService/Install')).to.include({ ok: false, reason: 'bad_signature' });
    expect(auth.verify(reader({}), path)).to.include({ ok: false, reason: 'missing' });
    expect(auth.verify(reader(userHeaders('AK', 'secret', now)), path)).to.include({ ok: false, reason: 'malformed' });
    const signed = auth.headersFor('n1', path);
    now += 61_000;
    expect(auth.verify(reader(signed), path)).to.include({ ok: false, reason: 'stale' });
    expect(() => new ClusterAuth('short')).to.throw(/at least 16/);
  });
});
