import { expect } from 'chai';
import type { Operation, ReceiveValue, SendValue } from '../history/operation.js';
import { checkAvailability, faultWindows, timeline } from './availability-checker.js';
import { checkDeliveries } from './delivery-checker.js';
import { checkOrder } from './order-checker.js';

/** Builds histories by hand: times are explicit so the checks are exact. */
class Script {
  readonly ops: Operation[] = [];
  private add(op: Omit<Operation, 'index'>): void {
    this.ops.push({ index: this.ops.length, ...op });
  }
  send(timeMs: number, value: SendValue, outcome: 'ok' | 'fail' | 'info', queueOffset?: number): this {
    this.add({ timeMs, process: 'p', kind: 'send', type: 'invoke', value });
    this.add({ timeMs: timeMs + 5, process: 'p', kind: 'send', type: outcome, value: { ...value, queueOffset }, latencyMs: 5 });
    return this;
  }
  receive(timeMs: number, id: string, queueId?: number, queueOffset?: number): this {
    const value: ReceiveValue = { id, messageId: `m-${id}`, queueId, queueOffset };
    this.add({ timeMs, process: 'c', kind: 'receive', type: 'ok', value });
    return this;
  }
  fault(timeMs: number, phase: 'start' | 'stop'): this {
    this.add({ timeMs, process: 'nemesis', kind: 'nemesis', type: 'info', value: { fault: 'kill-leader', phase, targets: ['n0'] } });
    return this;
  }
}

describe('harness checkers', () => {
  describe('deliveries', () => {
    it('finds an acknowledged message that was never delivered, and nothing else', () => {
      const history = new Script().send(0, { id: 'a' }, 'ok').send(10, { id: 'b' }, 'ok').send(20, { id: 'c' }, 'info').receive(30, 'a').ops;
      const check = checkDeliveries(history);
      expect(check.lost.valid).to.equal(false);
      expect(check.lost.examples).to.deep.equal(['b']);
      expect(check.unexpected.valid).to.equal(true);
    });

    it('accepts unknown outcomes either way and counts duplicates without failing', () => {
      const history = new Script().send(0, { id: 'a' }, 'ok').send(10, { id: 'b' }, 'info').receive(20, 'a').receive(21, 'a').receive(22, 'b').ops;
      const check = checkDeliveries(history);
      expect(check.lost.valid).to.equal(true);
      expect(check.duplicated.valid).to.equal(true);
      expect(check.duplicated.figures.extraDeliveries).to.equal(1);
      expect(check.lost.figures.unknownOutcomeDelivered).to.equal(1);
    });

    it('reports deliveries of messages never sent, and of sends that failed for sure', () => {
      const history = new Script().send(0, { id: 'a' }, 'fail').receive(10, 'a').receive(11, 'ghost').ops;
      const check = checkDeliveries(history);
      expect(check.unexpected.valid).to.equal(false);
      expect(check.unexpected.figures).to.deep.equal({ neverSent: 1, failedButDelivered: 1 });
    });
  });

  describe('order', () => {
    const send = (s: Script, seq: number, offset: number): Script => s.send(seq * 10, { id: `p0-${seq}`, group: 'p0', seq }, 'ok', offset);

    it('accepts a group stored and delivered in sequence', () => {
      const s = new Script();
      for (let seq = 0; seq < 3; seq++) send(s, seq, seq);
      for (let seq = 0; seq < 3; seq++) s.receive(100 + seq, `p0-${seq}`, 0, seq);
      expect(checkOrder(s.ops).valid).to.equal(true);
    });

    it('finds acknowledged copies stored out of sequence within a queue', () => {
      const s = new Script();
      send(s, 0, 1);
      send(s, 1, 0);
      s.receive(100, 'p0-0', 0, 1).receive(101, 'p0-1', 0, 0);
      const result = checkOrder(s.ops);
      expect(result.valid).to.equal(false);
      expect(result.figures.reordered).to.equal(1);
    });

    it('treats a later copy from a client retry as a duplicate, not a reordering', () => {
      const s = new Script();
      send(s, 0, 0);
      send(s, 1, 1);
      s.receive(100, 'p0-0', 0, 0).receive(101, 'p0-1', 0, 1).receive(102, 'p0-0', 0, 2);
      expect(checkOrder(s.ops).valid).to.equal(true);
    });

    it('finds gaps, offset conflicts and acknowledgements delivered elsewhere', () => {
      const s = new Script();
      send(s, 0, 0);
      send(s, 1, 5);
      s.receive(100, 'p0-0', 0, 0).receive(101, 'p0-1', 0, 2).receive(102, 'other', 0, 0);
      const result = checkOrder(s.ops);
      expect(result.figures.conflict).to.equal(1);
      expect(result.figures.moved).to.equal(1);
      expect(result.figures.gap).to.equal(1); // offset 1 (5 was never delivered, so only 0..2 are known)
    });
  });

  describe('availability', () => {
    it('measures windows without a successful send and the recovery after a fault', () => {
      const s = new Script().send(0, { id: 'a' }, 'ok').fault(100, 'start');
      s.send(200, { id: 'b' }, 'info').send(2_000, { id: 'c' }, 'info').fault(2_500, 'stop').send(2_600, { id: 'd' }, 'ok');
      const { result, windows } = checkAvailability(s.ops, 3_000);
      expect(windows).to.have.length(1);
      expect(windows[0].fault).to.equal('kill-leader');
      expect(windows[0].endMs - windows[0].startMs).to.be.closeTo(2_600, 1);
      expect(result.figures.maxRecoveryMs).to.equal(105);
      expect(faultWindows(s.ops)).to.deep.equal([{ fault: 'kill-leader', targets: ['n0'], startMs: 100, endMs: 2_500 }]);
    });

    it('buckets sends and deliveries over time', () => {
      const s = new Script().send(0, { id: 'a' }, 'ok').send(1_500, { id: 'b' }, 'info').receive(1_600, 'a');
      const buckets = timeline(s.ops, 2_000, 1_000);
      expect(buckets.map((b) => [b.sendOk, b.sendInfo, b.received])).to.deep.equal([[1, 0, 0], [0, 1, 1]]);
      expect(buckets[0].sendLatencyP50Ms).to.equal(5);
    });
  });
});
