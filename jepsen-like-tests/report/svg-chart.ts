/**
 * Server-side rendered SVG line charts for the run report: plain markup, no script and no
 * external resource, so the report opens anywhere and a screenshot shows exactly what was written.
 *
 * Times on the x axis are milliseconds since the run started, labelled in seconds. Fault windows
 * are drawn as semi-transparent bands of one known colour ({@link FAULT_BAND_COLOUR} at
 * {@link FAULT_BAND_OPACITY}) so a pixel check can find them; unavailability windows as hatched bands.
 */

/** Width and height of every chart, in CSS pixels (the SVG also scales down with the page). */
export const CHART_WIDTH_PX = 960;
export const CHART_HEIGHT_PX = 320;

/** Fill of fault bands; over the white plot the band shows the blend of the two. */
export const FAULT_BAND_COLOUR = '#f2c500';
export const FAULT_BAND_OPACITY = 0.3;

const MARGIN = { left: 64, right: 20, top: 12, bottom: 44 } as const;
const PLOT_WIDTH_PX = CHART_WIDTH_PX - MARGIN.left - MARGIN.right;
const PLOT_HEIGHT_PX = CHART_HEIGHT_PX - MARGIN.top - MARGIN.bottom;
const AXIS_COLOUR = '#444444';
const GRID_COLOUR = '#e4e4e4';
/** Seconds between x ticks: the first that gives at most this many ticks wins. */
const MAX_X_TICKS = 12;
const X_TICK_STEPS_S = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14_400, 43_200, 86_400];

/** One value of a series; `y: null` breaks the line (no data in that bucket). */
export interface ChartPoint {
  xMs: number;
  y: number | null;
}

/** A line of the chart. `key` is stable and machine-readable (it becomes `data-series`). */
export interface ChartSeries {
  key: string;
  label: string;
  colour: string;
  strokeWidthPx: number;
  points: ChartPoint[];
}

/** A shaded time range: `label` is written on the chart, `tooltip` shown on hover. */
export interface ChartBand {
  startMs: number;
  endMs: number;
  label: string;
  tooltip: string;
}

/** Everything one chart shows. Series are drawn in order, so the last one is on top. */
export interface LineChartSpec {
  /** The `id` of the `<svg>`; also prefixes the ids of its patterns and clip paths. */
  id: string;
  title: string;
  yAxisLabel: string;
  yScale: 'linear' | 'log';
  /** The x axis runs from 0 to this many milliseconds (at least 1). */
  xEndMs: number;
  series: ChartSeries[];
  faultBands: ChartBand[];
  unavailableBands: ChartBand[];
}

/** Escapes text for HTML and SVG, in element content and in quoted attribute values alike. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => XML_ESCAPES[char] ?? char);
}

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * Renders one chart as an `<svg id=spec.id class="chart">`. Each series with at least one value
 * is one `<path class="series" data-series=key data-points=N>` whose `d` holds one M or L command
 * per value; a chart with no values says "no data". Fault bands are `rect.fault-band`,
 * unavailability bands `rect.unavailable-band`. All text from the spec is escaped.
 */
export function renderLineChart(spec: LineChartSpec): string {
  const xEndMs = Math.max(1, spec.xEndMs);
  const xPx = (ms: number): number => MARGIN.left + (clamp(ms, 0, xEndMs) / xEndMs) * PLOT_WIDTH_PX;
  const values = spec.series.flatMap((series) => series.points.map((point) => point.y)).filter((y): y is number => y !== null);
  const yAxis = spec.yScale === 'log' ? logAxis(values) : linearAxis(values);
  const clipId = `${spec.id}-plot-clip`;
  const hatchId = `${spec.id}-unavailable-hatch`;
  const plotBottom = MARGIN.top + PLOT_HEIGHT_PX;
  const parts: string[] = [];

  parts.push(
    `<svg id="${escapeXml(spec.id)}" class="chart" role="img" width="${CHART_WIDTH_PX}" height="${CHART_HEIGHT_PX}" viewBox="0 0 ${CHART_WIDTH_PX} ${CHART_HEIGHT_PX}">`,
    `<title>${escapeXml(spec.title)}</title>`,
    `<defs><clipPath id="${escapeXml(clipId)}"><rect x="${MARGIN.left}" y="${MARGIN.top}" width="${PLOT_WIDTH_PX}" height="${PLOT_HEIGHT_PX}"/></clipPath>`,
    `<pattern id="${escapeXml(hatchId)}" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="6" stroke="#555555" stroke-width="2"/></pattern></defs>`,
    `<rect class="plot-area" x="${MARGIN.left}" y="${MARGIN.top}" width="${PLOT_WIDTH_PX}" height="${PLOT_HEIGHT_PX}" fill="#ffffff"/>`,
  );

  for (const tick of yAxis.ticks) {
    const y = yAxis.toPx(tick).toFixed(1);
    parts.push(
      `<line class="grid" x1="${MARGIN.left}" x2="${MARGIN.left + PLOT_WIDTH_PX}" y1="${y}" y2="${y}" stroke="${GRID_COLOUR}"/>`,
      `<text class="tick y-tick" x="${MARGIN.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${formatNumber(tick)}</text>`,
    );
  }
  const xStepS = X_TICK_STEPS_S.find((step) => xEndMs / 1000 / step <= MAX_X_TICKS) ?? Math.ceil(xEndMs / 1000 / MAX_X_TICKS);
  for (let seconds = 0; seconds * 1000 <= xEndMs; seconds += xStepS) {
    const x = xPx(seconds * 1000).toFixed(1);
    parts.push(
      `<line class="x-tick-mark" x1="${x}" x2="${x}" y1="${plotBottom}" y2="${plotBottom + 5}" stroke="${AXIS_COLOUR}"/>`,
      `<text class="tick x-tick" x="${x}" y="${plotBottom + 18}" text-anchor="middle">${seconds} s</text>`,
    );
  }

  const labelRows = new LabelRows();
  for (const band of spec.faultBands) {
    const x = xPx(band.startMs);
    const width = Math.max(1, xPx(band.endMs) - x);
    const row = labelRows.place(x, band.label);
    parts.push(
      `<g class="fault"><rect class="fault-band" x="${x.toFixed(1)}" y="${MARGIN.top}" width="${width.toFixed(1)}" height="${PLOT_HEIGHT_PX}" fill="${FAULT_BAND_COLOUR}" fill-opacity="${FAULT_BAND_OPACITY}"><title>${escapeXml(band.tooltip)}</title></rect>`,
      `<text class="band-label fault-label" x="${(x + 3).toFixed(1)}" y="${MARGIN.top + 12 + row * 13}">${escapeXml(band.label)}</text></g>`,
    );
  }
  for (const band of spec.unavailableBands) {
    const x = xPx(band.startMs);
    const width = Math.max(2, xPx(band.endMs) - x);
    parts.push(
      `<g class="unavailable"><rect class="unavailable-band" x="${x.toFixed(1)}" y="${MARGIN.top}" width="${width.toFixed(1)}" height="${PLOT_HEIGHT_PX}" fill="url(#${escapeXml(hatchId)})" fill-opacity="0.35" stroke="#555555" stroke-dasharray="4 3"><title>${escapeXml(band.tooltip)}</title></rect>`,
      `<text class="band-label unavailable-label" x="${(x + 3).toFixed(1)}" y="${plotBottom - 6}">${escapeXml(band.label)}</text></g>`,
    );
  }

  let drawnSeries = 0;
  for (const series of spec.series) {
    const path = seriesPath(series.points, xPx, yAxis.toPx);
    if (path.pointCount === 0) continue;
    drawnSeries += 1;
    parts.push(
      `<path class="series" data-series="${escapeXml(series.key)}" data-points="${path.pointCount}" d="${path.d}" fill="none" stroke="${escapeXml(series.colour)}" stroke-width="${series.strokeWidthPx}" stroke-linejoin="round" stroke-linecap="round" clip-path="url(#${escapeXml(clipId)})"><title>${escapeXml(series.label)}</title></path>`,
    );
  }
  if (drawnSeries === 0) {
    parts.push(`<text class="no-data" x="${MARGIN.left + PLOT_WIDTH_PX / 2}" y="${MARGIN.top + PLOT_HEIGHT_PX / 2}" text-anchor="middle">no data</text>`);
  }

  parts.push(
    `<path class="axis" d="M${MARGIN.left} ${MARGIN.top}V${plotBottom}H${MARGIN.left + PLOT_WIDTH_PX}" fill="none" stroke="${AXIS_COLOUR}"/>`,
    `<text class="axis-label x-axis-label" x="${MARGIN.left + PLOT_WIDTH_PX / 2}" y="${CHART_HEIGHT_PX - 6}" text-anchor="middle">time since start, s</text>`,
    `<text class="axis-label y-axis-label" transform="translate(14 ${MARGIN.top + PLOT_HEIGHT_PX / 2}) rotate(-90)" text-anchor="middle">${escapeXml(spec.yAxisLabel)}</text>`,
    '</svg>',
  );
  return parts.join('\n');
}

interface YAxis {
  ticks: number[];
  toPx: (value: number) => number;
}

function linearAxis(values: number[]): YAxis {
  const max = Math.max(0, ...values);
  const step = niceStep(max > 0 ? max / 5 : 1);
  const top = Math.max(step, Math.ceil(max / step) * step);
  const ticks: number[] = [];
  for (let tick = 0; tick <= top + step / 2; tick += step) ticks.push(Number(tick.toPrecision(12)));
  return { ticks, toPx: (value) => MARGIN.top + PLOT_HEIGHT_PX * (1 - clamp(value, 0, top) / top) };
}

/** Whole decades; values at or below 0 are drawn on the bottom edge. */
function logAxis(values: number[]): YAxis {
  const positive = values.filter((value) => value > 0);
  let low = positive.length > 0 ? Math.floor(Math.log10(Math.min(...positive))) : 0;
  let high = positive.length > 0 ? Math.ceil(Math.log10(Math.max(...positive))) : 3;
  if (high <= low) high = low + 1;
  low = Math.max(low, -3);
  const ticks: number[] = [];
  for (let exponent = low; exponent <= high; exponent += 1) ticks.push(Number((10 ** exponent).toPrecision(12)));
  const toPx = (value: number): number => {
    const exponent = value > 0 ? clamp(Math.log10(value), low, high) : low;
    return MARGIN.top + PLOT_HEIGHT_PX * (1 - (exponent - low) / (high - low));
  };
  return { ticks, toPx };
}

/** 1, 2 or 5 times a power of ten, at least `rough`. */
function niceStep(rough: number): number {
  const power = 10 ** Math.floor(Math.log10(rough));
  const multiple = [1, 2, 5, 10].find((candidate) => candidate * power >= rough) ?? 10;
  return multiple * power;
}

function seriesPath(points: ChartPoint[], xPx: (ms: number) => number, yPx: (value: number) => number): { d: string; pointCount: number } {
  const commands: string[] = [];
  let pointCount = 0;
  let segmentLength = 0;
  for (const point of points) {
    if (point.y === null || !Number.isFinite(point.y)) {
      // A lone point has no line to show it: a tiny stroke with round caps draws a dot.
      if (segmentLength === 1) commands.push('h0.01');
      segmentLength = 0;
      continue;
    }
    commands.push(`${segmentLength === 0 ? 'M' : 'L'}${xPx(point.xMs).toFixed(1)} ${yPx(point.y).toFixed(1)}`);
    segmentLength += 1;
    pointCount += 1;
  }
  if (segmentLength === 1) commands.push('h0.01');
  return { d: commands.join(''), pointCount };
}

/** Stacks band labels in up to three rows so neighbouring labels do not overwrite each other. */
class LabelRows {
  private readonly rowEndsPx = [-Infinity, -Infinity, -Infinity];

  place(xPx: number, label: string): number {
    const widthPx = label.length * 6.5 + 8;
    let row = this.rowEndsPx.findIndex((endPx) => endPx < xPx);
    if (row < 0) row = 0;
    this.rowEndsPx[row] = xPx + widthPx;
    return row;
  }
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}

function formatNumber(value: number): string {
  if (Math.abs(value) >= 10_000) return `${Number((value / 1000).toPrecision(4))}k`;
  return String(Number(value.toPrecision(4)));
}
