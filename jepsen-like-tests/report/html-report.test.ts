import { expect } from 'chai';
import { renderHtmlReport, SERIES_COLOURS } from './html-report.js';
import type { RunSummary } from './run-summary.js';
import { buildSyntheticRunSummary, HOSTILE_TEXT } from './synthetic-run-summary.js';

/** The opening tag of the element with this id. */
function openingTag(html: string, id: string): string {
  const match = new RegExp(`<([a-z][a-z0-9]*)[^>]*\\bid="${id}"[^>]*>`).exec(html);
  if (match === null) throw new Error(`no element with id="${id}"`);
  return match[0];
}

/** The text between `<tag ... id=id ...>` and the matching `</tag>` (no nesting of the same tag). */
function elementBody(html: string, id: string): string {
  const tag = openingTag(html, id);
  const name = /^<([a-z][a-z0-9]*)/.exec(tag)![1];
  const start = html.indexOf(tag) + tag.length;
  return html.slice(start, html.indexOf(`</${name}>`, start));
}

function seriesPath(html: string, chartId: string, key: string): string | undefined {
  return elementBody(html, chartId).match(new RegExp(`<path class="series" data-series="${key}"[^>]*>`))?.[0];
}

function pathData(pathTag: string): string {
  return /\sd="([^"]*)"/.exec(pathTag)![1];
}

function pointCount(pathTag: string): number {
  return pathData(pathTag).match(/[ML]/g)?.length ?? 0;
}

describe('jepsen-like-tests/report renderHtmlReport', () => {
  const summary = buildSyntheticRunSummary();
  const html = renderHtmlReport(summary);

  it('is one complete HTML document with both charts as inline <svg>', () => {
    expect(html.startsWith('<!doctype html>')).to.equal(true);
    expect(html.trimEnd().endsWith('</html>')).to.equal(true);
    expect(html.match(/<svg id="throughput-chart"/g)).to.have.length(1);
    expect(html.match(/<svg id="latency-chart"/g)).to.have.length(1);
  });

  it('loads nothing from outside: no script, stylesheet link, source or absolute URL', () => {
    expect(html).not.to.match(/<script/i);
    expect(html).not.to.match(/<link|<iframe|<img|@import|\ssrc=/i);
    expect(html).not.to.match(/https?:|\/\/[a-z]/i);
    // SVG fills and clip paths refer only to elements of the same document.
    for (const reference of html.match(/url\([^)]*\)/g) ?? []) expect(reference).to.match(/^url\(#[\w-]+\)$/);
  });

  it('escapes every string from the summary', () => {
    expect(html).not.to.include('<script>alert');
    expect(html).not.to.include(HOSTILE_TEXT);
    const escaped = '&lt;script&gt;alert(&quot;pwned &amp; &#39;owned&#39;&quot;)&lt;/script&gt;';
    // name (h1 and <title>), mode reason, unsupported, replay, checker summary, example, figure key and value, fault target
    expect(html.split(escaped).length - 1).to.be.at.least(10);
    expect(elementBody(html, 'run-name')).to.equal(`queue-partition${escaped}`);
  });

  it('shows the exact replay command, escaped, in a <pre>', () => {
    expect(openingTag(html, 'replay-command')).to.match(/^<pre/);
    expect(elementBody(html, 'replay-command')).to.equal(
      `SEED=424242 make jepsen WORKLOAD=queue NEMESIS=&#39;partition,kill,pause&#39; NAME=&quot;&lt;script&gt;alert(&quot;pwned &amp; &#39;owned&#39;&quot;)&lt;/script&gt;&quot; &amp;&amp; echo done`,
    );
  });

  it('shows the verdict, coloured by class, and flips it with summary.valid', () => {
    expect(elementBody(html, 'verdict')).to.equal('INVALID');
    expect(openingTag(html, 'verdict')).to.include('class="verdict invalid"');
    const valid = renderHtmlReport({ ...summary, valid: true });
    expect(elementBody(valid, 'verdict')).to.equal('VALID');
    expect(openingTag(valid, 'verdict')).to.include('class="verdict valid"');
  });

  it('shows mode, seed and the unsupported faults; no unsupported section when there are none', () => {
    expect(elementBody(html, 'mode')).to.equal('proxy');
    expect(elementBody(html, 'seed')).to.equal('424242');
    expect(elementBody(html, 'unsupported')).to.include('clock-skew: needs CAP_SYS_TIME');
    expect(renderHtmlReport({ ...summary, unsupported: [] })).not.to.include('id="unsupported"');
  });

  it('has one checker row per checker, the failing one marked ✗ with its examples in <details>', () => {
    const rows = html.match(/<tr class="checker (valid|invalid)" data-checker="[a-z]+">[\s\S]*?<\/tr>/g) ?? [];
    expect(rows).to.have.length(summary.checkers.length);
    const lost = rows.find((row) => row.includes('data-checker="lost"'))!;
    expect(lost).to.include('class="checker invalid"').and.include('<td class="mark">✗</td>');
    expect(lost).to.match(/<details><summary>3 examples<\/summary><ul>(<li><code>[^<]*(&lt;[^<]*)*<\/code><\/li>){3}<\/ul><\/details>/);
    expect(rows.filter((row) => row.includes('<td class="mark">✓</td>'))).to.have.length(3);
  });

  it('draws each series with one point per bucket, in its own colour', () => {
    for (const key of ['sendOk', 'sendFail', 'sendInfo', 'received'] as const) {
      const path = seriesPath(html, 'throughput-chart', key);
      expect(path, key).to.include(`stroke="${SERIES_COLOURS[key]}"`);
      expect(pointCount(path!), key).to.equal(120);
    }
    // Latency has no value in the 6 buckets without a successful send: the line is broken there.
    const withLatency = summary.timeline.buckets.filter((bucket) => bucket.sendLatencyP99Ms !== null).length;
    expect(withLatency).to.equal(114);
    const p99 = seriesPath(html, 'latency-chart', 'latencyP99')!;
    expect(pointCount(p99)).to.equal(withLatency);
    expect(pathData(p99).match(/M/g)).to.have.length(2);
  });

  it('shades each fault window and marks each unavailability window on both charts', () => {
    for (const chartId of ['throughput-chart', 'latency-chart']) {
      const svg = elementBody(html, chartId);
      expect(svg.match(/<rect class="fault-band"/g), chartId).to.have.length(3);
      expect(svg.match(/<text class="band-label fault-label"[^>]*>(partition|kill|pause)<\/text>/g), chartId).to.have.length(3);
      expect(svg.match(/<rect class="unavailable-band"/g), chartId).to.have.length(1);
    }
  });

  it('labels time in seconds and says the latency axis is log scale', () => {
    const throughput = elementBody(html, 'throughput-chart');
    for (const label of ['0 s', '30 s', '60 s']) expect(throughput).to.include(`>${label}</text>`);
    expect(throughput).to.include('operations per second (500 ms buckets)');
    const latency = elementBody(html, 'latency-chart');
    expect(latency).to.include('send latency, ms (log scale)');
    for (const tick of ['1', '10', '100', '1000']) expect(latency).to.include(`>${tick}</text>`);
  });

  it('lists fault and unavailability windows, flagging a fault that was never stopped', () => {
    expect(elementBody(html, 'fault-table').match(/<tr class="fault-window">/g)).to.have.length(3);
    expect(elementBody(html, 'unavailability-table')).to.match(/<td class="number">28\.5 s<\/td><td class="number">31\.5 s<\/td><td class="number">3\.0 s<\/td><td>kill<\/td>/);
    const faults = [...summary.faults.slice(0, 2), { ...summary.faults[2], endMs: null }];
    const unstopped = renderHtmlReport({ ...summary, faults });
    expect(elementBody(unstopped, 'fault-table')).to.include('<span class="warning">never stopped</span>');
    expect(elementBody(unstopped, 'latency-chart')).to.include('>pause (never stopped)</text>');
  });

  it('renders a run with no buckets: both charts with axes and bands but no series', () => {
    const empty: RunSummary = buildSyntheticRunSummary({ bucketCount: 0 });
    const emptyHtml = renderHtmlReport(empty);
    for (const chartId of ['throughput-chart', 'latency-chart']) {
      const svg = elementBody(emptyHtml, chartId);
      expect(svg).not.to.include('class="series"');
      expect(svg).to.include('>no data</text>');
      expect(svg.match(/<rect class="fault-band"/g)).to.have.length(3);
    }
  });
});
