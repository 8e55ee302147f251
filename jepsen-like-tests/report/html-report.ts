/**
 * The per-run HTML report: one self-contained file (inline CSS and server-side rendered SVG, no
 * script, no external resource) that a reader opens from the run's directory.
 */
import type { CheckerResult, FaultWindow, RunSummary, TimelineBucket, UnavailabilityWindow } from './run-summary.js';
import { escapeXml, FAULT_BAND_COLOUR, FAULT_BAND_OPACITY, renderLineChart, type ChartBand, type ChartSeries } from './svg-chart.js';

/** The `id`s of the two chart `<svg>` elements. */
export const CHART_IDS = { throughput: 'throughput-chart', latency: 'latency-chart' } as const;

/**
 * The colour of each series, by its `data-series` key. The colours are distinct from each other,
 * from the fault band and from the axes, so a pixel check can count each one.
 */
export const SERIES_COLOURS = {
  sendOk: '#1f77b4',
  sendFail: '#d62728',
  sendInfo: '#ff7f0e',
  received: '#2ca02c',
  latencyP50: '#9467bd',
  latencyP99: '#17becf',
  latencyMax: '#e377c2',
} as const;

/** A series key: a key of {@link SERIES_COLOURS}. */
export type SeriesKey = keyof typeof SERIES_COLOURS;

/** Which series each chart draws, bottom first. */
export const CHART_SERIES: Record<keyof typeof CHART_IDS, readonly SeriesKey[]> = {
  throughput: ['received', 'sendOk', 'sendInfo', 'sendFail'],
  latency: ['latencyP50', 'latencyP99', 'latencyMax'],
};

const SERIES_LABELS: Record<SeriesKey, string> = {
  sendOk: 'send ok',
  sendFail: 'send fail',
  sendInfo: 'send unknown (info)',
  received: 'received',
  latencyP50: 'send latency p50',
  latencyP99: 'send latency p99',
  latencyMax: 'send latency max',
};

/** Received is drawn wider and underneath: when it equals send ok, both stay visible. */
const STROKE_WIDTH_PX: Partial<Record<SeriesKey, number>> = { received: 4 };

/**
 * Renders the report of one run as a complete HTML document. Pure: same summary, same bytes.
 * Every string taken from the summary is escaped, so names, reasons and examples may hold any text.
 * A summary with no timeline buckets still renders both charts (axes, bands and "no data").
 */
export function renderHtmlReport(summary: RunSummary): string {
  const verdict = summary.valid ? 'VALID' : 'INVALID';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeXml(summary.name)}: ${verdict}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1 id="run-name">${escapeXml(summary.name)}</h1>
<div id="verdict" class="verdict ${summary.valid ? 'valid' : 'invalid'}">${verdict}</div>
<dl class="facts">
<dt>workload</dt><dd>${escapeXml(summary.workload)}</dd>
<dt>nemesis</dt><dd>${escapeXml(summary.nemesis)}</dd>
<dt>mode</dt><dd><span id="mode">${escapeXml(summary.mode)}</span>: ${escapeXml(summary.modeReason)}</dd>
<dt>seed</dt><dd id="seed">${summary.seed}</dd>
<dt>duration</dt><dd>${seconds(summary.durationMs)}</dd>
<dt>started at</dt><dd>${escapeXml(summary.startedAtIso)}</dd>
</dl>
<h2>Replay</h2>
<pre id="replay-command">${escapeXml(summary.replayCommand)}</pre>
${renderUnsupported(summary.unsupported)}</header>
<main>
<section id="checkers"><h2>Checkers</h2>
${renderCheckers(summary.checkers)}
</section>
<section id="counts"><h2>Counts</h2>
${renderCounts(summary.counts)}
</section>
<section id="charts"><h2>Timeline</h2>
${renderCharts(summary)}
</section>
<section id="fault-windows"><h2>Fault windows</h2>
${renderFaultWindows(summary.faults)}
</section>
<section id="unavailability-windows"><h2>Unavailability windows</h2>
${renderUnavailability(summary.unavailability)}
</section>
</main>
</body>
</html>
`;
}

function renderUnsupported(unsupported: string[]): string {
  if (unsupported.length === 0) return '';
  const items = unsupported.map((fault) => `<li>${escapeXml(fault)}</li>`).join('');
  return `<section id="unsupported"><h2>Faults not injected on this machine</h2><ul>${items}</ul></section>\n`;
}

function renderCheckers(checkers: CheckerResult[]): string {
  const rows = checkers.map((checker) => {
    const figures = Object.entries(checker.figures)
      .map(([name, value]) => `<li><span class="figure-name">${escapeXml(name)}</span> ${escapeXml(String(value))}</li>`)
      .join('');
    const examples =
      checker.examples.length === 0
        ? ''
        : `<details><summary>${checker.examples.length} example${checker.examples.length === 1 ? '' : 's'}</summary><ul>${checker.examples
            .map((example) => `<li><code>${escapeXml(example)}</code></li>`)
            .join('')}</ul></details>`;
    return `<tr class="checker ${checker.valid ? 'valid' : 'invalid'}" data-checker="${escapeXml(checker.name)}">
<td>${escapeXml(checker.name)}</td><td class="mark">${checker.valid ? '✓' : '✗'}</td><td>${escapeXml(checker.summary)}</td>
<td class="number">${checker.count}</td><td><ul class="figures">${figures}</ul></td><td>${examples}</td></tr>`;
  });
  return table(['checker', 'valid', 'summary', 'count', 'figures', 'examples'], rows, 'checker-table');
}

function renderCounts(counts: RunSummary['counts']): string {
  const rows = Object.entries(counts).map(([name, value]) => `<tr><td>${escapeXml(name)}</td><td class="number">${value}</td></tr>`);
  return table(['count', 'value'], rows, 'counts-table');
}

function renderCharts(summary: RunSummary): string {
  const { bucketMs, buckets } = summary.timeline;
  const lastBucketEndMs = buckets.length === 0 ? 0 : buckets[buckets.length - 1].startMs + bucketMs;
  const xEndMs = Math.max(summary.durationMs, lastBucketEndMs);
  const faultBands = summary.faults.map((window): ChartBand => {
    const endMs = window.endMs ?? xEndMs;
    const targets = window.targets.length > 0 ? ` on ${window.targets.join(', ')}` : '';
    return {
      startMs: window.startMs,
      endMs,
      label: window.endMs === null ? `${window.fault} (never stopped)` : window.fault,
      tooltip: `${window.fault}${targets}: ${seconds(window.startMs)} to ${window.endMs === null ? 'end (never stopped)' : seconds(window.endMs)}`,
    };
  });
  const unavailableBands = summary.unavailability.map(
    (window): ChartBand => ({
      startMs: window.startMs,
      endMs: window.endMs,
      label: 'unavailable',
      tooltip: `no successful send or receive: ${seconds(window.startMs)} to ${seconds(window.endMs)} (fault: ${window.fault})`,
    }),
  );
  const perSecond = 1000 / Math.max(1, bucketMs);
  const series = (keys: readonly SeriesKey[], value: (bucket: TimelineBucket, key: SeriesKey) => number | null): ChartSeries[] =>
    keys.map((key) => ({
      key,
      label: SERIES_LABELS[key],
      colour: SERIES_COLOURS[key],
      strokeWidthPx: STROKE_WIDTH_PX[key] ?? 2,
      // Each bucket is plotted at its middle.
      points: buckets.map((bucket) => ({ xMs: bucket.startMs + bucketMs / 2, y: value(bucket, key) })),
    }));
  const throughput = renderLineChart({
    id: CHART_IDS.throughput,
    title: 'Throughput over time',
    yAxisLabel: `operations per second (${bucketMs} ms buckets)`,
    yScale: 'linear',
    xEndMs,
    series: series(CHART_SERIES.throughput, (bucket, key) => throughputCount(bucket, key) * perSecond),
    faultBands,
    unavailableBands,
  });
  const latency = renderLineChart({
    id: CHART_IDS.latency,
    title: 'Send latency over time',
    yAxisLabel: 'send latency, ms (log scale)',
    yScale: 'log',
    xEndMs,
    series: series(CHART_SERIES.latency, latencyMs),
    faultBands,
    unavailableBands,
  });
  return `${figure('throughput', 'Throughput: operations per second in each bucket', throughput, CHART_SERIES.throughput)}
${figure('latency', 'Latency of successful sends in each bucket (log scale; gaps are buckets without a successful send)', latency, CHART_SERIES.latency)}`;
}

function throughputCount(bucket: TimelineBucket, key: SeriesKey): number {
  switch (key) {
    case 'sendOk':
      return bucket.sendOk;
    case 'sendFail':
      return bucket.sendFail;
    case 'sendInfo':
      return bucket.sendInfo;
    case 'received':
      return bucket.received;
    default:
      throw new Error(`not a throughput series: ${key}`);
  }
}

function latencyMs(bucket: TimelineBucket, key: SeriesKey): number | null {
  switch (key) {
    case 'latencyP50':
      return bucket.sendLatencyP50Ms;
    case 'latencyP99':
      return bucket.sendLatencyP99Ms;
    case 'latencyMax':
      return bucket.sendLatencyMaxMs;
    default:
      throw new Error(`not a latency series: ${key}`);
  }
}

/** The legend is HTML beside the SVG, so a screenshot of the SVG alone holds only drawn data. */
function figure(name: string, caption: string, svg: string, keys: readonly SeriesKey[]): string {
  const legend = keys
    .map((key) => `<li><span class="swatch" style="background:${SERIES_COLOURS[key]}"></span>${escapeXml(SERIES_LABELS[key])}</li>`)
    .join('');
  return `<figure id="${name}-figure" class="chart-figure">
<figcaption>${escapeXml(caption)}</figcaption>
<ul class="legend">${legend}<li><span class="swatch fault-swatch" style="background:${FAULT_BAND_COLOUR};opacity:${FAULT_BAND_OPACITY}"></span>fault window</li><li><span class="swatch unavailable-swatch"></span>unavailable</li></ul>
${svg}
</figure>`;
}

function renderFaultWindows(faults: FaultWindow[]): string {
  const rows = faults.map((window) => {
    const end = window.endMs === null ? '<span class="warning">never stopped</span>' : seconds(window.endMs);
    const duration = window.endMs === null ? '' : seconds(window.endMs - window.startMs);
    return `<tr class="fault-window"><td>${escapeXml(window.fault)}</td><td>${escapeXml(window.detail ?? '')}</td><td>${escapeXml(window.targets.join(', '))}</td><td class="number">${seconds(window.startMs)}</td><td class="number">${end}</td><td class="number">${duration}</td></tr>`;
  });
  return table(['fault', 'what it did', 'targets', 'start', 'end', 'duration'], rows, 'fault-table');
}

function renderUnavailability(windows: UnavailabilityWindow[]): string {
  const rows = windows.map(
    (window) =>
      `<tr class="unavailability-window"><td class="number">${seconds(window.startMs)}</td><td class="number">${seconds(window.endMs)}</td><td class="number">${seconds(window.endMs - window.startMs)}</td><td>${escapeXml(window.fault)}</td></tr>`,
  );
  return table(['start', 'end', 'duration', 'faults during the window'], rows, 'unavailability-table');
}

function table(headers: string[], rows: string[], id: string): string {
  const body = rows.length > 0 ? rows.join('\n') : `<tr class="empty"><td colspan="${headers.length}">none</td></tr>`;
  return `<table id="${id}"><thead><tr>${headers.map((header) => `<th>${header}</th>`).join('')}</tr></thead>
<tbody>
${body}
</tbody></table>`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

const STYLE = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328; margin: 24px auto; max-width: 1040px; padding: 0 16px; background: #ffffff; }
h1 { font-size: 26px; margin: 0 0 8px; word-break: break-all; }
h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
.verdict { display: inline-block; font-size: 40px; font-weight: 800; letter-spacing: 2px; padding: 4px 20px; border-radius: 8px; color: #ffffff; }
.verdict.valid { background: #1a7f37; }
.verdict.invalid { background: #cf222e; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 16px 0; }
.facts dt { color: #59636e; }
.facts dd { margin: 0; }
pre#replay-command { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px; padding: 10px; white-space: pre-wrap; word-break: break-all; user-select: all; }
#unsupported { background: #fff8c5; border: 1px solid #d4a72c; border-radius: 6px; padding: 4px 12px; }
table { border-collapse: collapse; width: 100%; margin: 8px 0; }
th, td { border: 1px solid #d0d7de; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td.number { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.checker.invalid { background: #ffebe9; }
td.mark { font-size: 18px; text-align: center; }
tr.checker.valid td.mark { color: #1a7f37; }
tr.checker.invalid td.mark { color: #cf222e; }
ul.figures { list-style: none; margin: 0; padding: 0; }
.figure-name { color: #59636e; }
details ul { margin: 4px 0; padding-left: 18px; }
.warning { color: #cf222e; font-weight: 600; }
figure.chart-figure { margin: 16px 0; }
figure.chart-figure svg { max-width: 100%; height: auto; display: block; }
ul.legend { list-style: none; display: flex; flex-wrap: wrap; gap: 4px 16px; margin: 4px 0; padding: 0; }
.swatch { display: inline-block; width: 18px; height: 4px; margin-right: 6px; vertical-align: middle; }
.fault-swatch { height: 12px; }
.unavailable-swatch { height: 12px; background: repeating-linear-gradient(45deg, #9a9a9a 0 2px, #ffffff 2px 5px); }
svg.chart text { font: 11px system-ui, sans-serif; fill: #333333; }
svg.chart text.band-label { fill: #333333; }
svg.chart text.unavailable-label { fill: #333333; }
svg.chart text.no-data { font-size: 16px; fill: #8c959f; }
svg.chart text.axis-label { font-size: 12px; }
`;
