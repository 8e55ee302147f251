import { expect } from 'chai';
import { LatencyHistogram } from './latency-histogram.js';

describe('LatencyHistogram', () => {
  it('reports percentiles within 2% of the exact ones, and the exact max', () => {
    const histogram = new LatencyHistogram();
    const samples = Array.from({ length: 10_000 }, (_, i) => 0.05 + i * 0.37);
    for (const sample of samples) histogram.record(sample);
    const sorted = [...samples].sort((a, b) => a - b);
    for (const p of [50, 90, 99, 99.9]) {
      const exact = sorted[Math.ceil((p / 100) * sorted.length) - 1];
      expect(histogram.percentile(p)).to.be.within(exact, exact * 1.02);
    }
    expect(histogram.percentile(100)).to.equal(sorted.at(-1));
    expect(histogram.count).to.equal(10_000);
  });

  it('merges, and answers NaN when empty', () => {
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    expect(Number.isNaN(a.percentile(50))).to.equal(true);
    a.record(1);
    b.record(100);
    a.merge(b);
    expect(a.count).to.equal(2);
    expect(a.percentile(100)).to.equal(100);
    expect(a.percentile(50)).to.be.within(1, 1.02);
  });
});
