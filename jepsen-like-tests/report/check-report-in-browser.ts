/**
 * Opens a run's HTML report in headless Chromium and checks that a reader would see it: no script
 * or console error, no request leaving the file, both charts laid out, and the charts really drawn
 * (pixels of the series colours and of the fault bands counted in screenshots).
 *
 * Uses the system's Chromium (Debian's `chromium` package) through playwright-core; nothing is
 * downloaded.
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Page } from 'playwright-core';
import { CHART_IDS, CHART_SERIES, SERIES_COLOURS } from './html-report.js';
import { FAULT_BAND_COLOUR, FAULT_BAND_OPACITY } from './svg-chart.js';

/** The flags every launch uses: headless, no sandbox (root in a container), no network chatter. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
] as const;

/** Where Debian's `chromium` package puts the browser. */
export const DEFAULT_CHROMIUM_PATH = '/usr/bin/chromium';

/** A series pixel matches when each channel is within this of the series colour (lines are antialiased). */
const SERIES_TOLERANCE = 32;
/** A band pixel matches when each channel is within this of the band blended over white. */
const BAND_TOLERANCE = 8;
const VIEWPORT = { width: 1200, height: 900 } as const;

/** What {@link checkReportInBrowser} saw. */
export interface BrowserReportCheck {
  /** Page errors, console errors, failed or external requests, missing or empty charts; empty when all is well. */
  errors: string[];
  /** Pixels of each series colour (key: `data-series`, e.g. `sendOk`) in its chart's screenshot. */
  seriesPixels: Record<string, number>;
  /** M and L commands (drawn values) in each series path, by `data-series`. */
  seriesPoints: Record<string, number>;
  /** Pixels of the fault-band colour, over both charts. */
  bandPixels: number;
  /** PNG of the whole page. */
  screenshot: string;
  /** PNG of each chart `<svg>` alone, by chart id. */
  chartScreenshots: Record<string, string>;
}

/** Where the browser is and where screenshots go (default: next to the report). */
export interface BrowserCheckOptions {
  executablePath?: string;
  outDir?: string;
}

/**
 * Loads `htmlFile` (a report written by `renderHtmlReport`) via file:// and inspects it. Screenshots
 * are written as `<report name>.page.png` and `<report name>.<chart id>.png` in `outDir`. Problems
 * with the page are returned in `errors`, not thrown; it throws only when the browser itself cannot
 * be launched or driven. Thresholds are the caller's: this reports counts.
 */
export async function checkReportInBrowser(htmlFile: string, options: BrowserCheckOptions = {}): Promise<BrowserReportCheck> {
  const outDir = options.outDir ?? dirname(htmlFile);
  const stem = basename(htmlFile).replace(/\.html?$/i, '');
  const browser = await chromium.launch({ executablePath: options.executablePath ?? DEFAULT_CHROMIUM_PATH, args: [...CHROMIUM_ARGS] });
  try {
    const context = await browser.newContext({ viewport: VIEWPORT, deviceScaleFactor: 1 });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(`console error: ${message.text()}`);
    });
    page.on('requestfailed', (request) => {
      if (!request.url().startsWith('data:')) errors.push(`request failed: ${request.url()} (${request.failure()?.errorText ?? 'unknown'})`);
    });
    // The report must be self-contained: anything but the file itself (and data: URLs) is refused.
    await page.route('**/*', async (route) => {
      const url = route.request().url();
      if (url.startsWith('file:') || url.startsWith('data:')) return route.continue();
      errors.push(`external request: ${url}`);
      return route.abort('blockedbyclient');
    });
    await page.goto(pathToFileURL(htmlFile).href, { waitUntil: 'load' });

    const seriesPixels: Record<string, number> = {};
    const seriesPoints: Record<string, number> = {};
    const chartScreenshots: Record<string, string> = {};
    let bandPixels = 0;
    const pixelPage = await context.newPage();
    for (const [chart, chartId] of Object.entries(CHART_IDS) as Array<[keyof typeof CHART_IDS, string]>) {
      const svg = page.locator(`svg#${chartId}`);
      if ((await svg.count()) !== 1) {
        errors.push(`chart #${chartId}: expected one <svg>, found ${await svg.count()}`);
        continue;
      }
      const box = await svg.boundingBox();
      if (box === null || box.width < 1 || box.height < 1) {
        errors.push(`chart #${chartId}: empty bounding box ${JSON.stringify(box)}`);
        continue;
      }
      for (const path of await svg.locator('path.series').all()) {
        const key = (await path.getAttribute('data-series')) ?? '(unnamed)';
        seriesPoints[key] = ((await path.getAttribute('d')) ?? '').match(/[ML]/g)?.length ?? 0;
      }
      const file = join(outDir, `${stem}.${chartId}.png`);
      await svg.screenshot({ path: file });
      chartScreenshots[chartId] = file;
      const counts = await countColours(pixelPage, file, [
        ...CHART_SERIES[chart].map((key) => ({ name: key, rgb: parseHexColour(SERIES_COLOURS[key]), tolerance: SERIES_TOLERANCE })),
        { name: '(fault band)', rgb: blendOverWhite(parseHexColour(FAULT_BAND_COLOUR), FAULT_BAND_OPACITY), tolerance: BAND_TOLERANCE },
      ]);
      for (const key of CHART_SERIES[chart]) seriesPixels[key] = counts[key] ?? 0;
      bandPixels += counts['(fault band)'] ?? 0;
    }
    const screenshot = join(outDir, `${stem}.page.png`);
    await page.screenshot({ path: screenshot, fullPage: true });
    return { errors, seriesPixels, seriesPoints, bandPixels, screenshot, chartScreenshots };
  } finally {
    await browser.close();
  }
}

type Rgb = [number, number, number];

interface ColourTarget {
  name: string;
  rgb: Rgb;
  tolerance: number;
}

/** Decodes the PNG in a blank page (a data-URL image drawn on a canvas) and counts matching pixels. */
async function countColours(page: Page, pngFile: string, targets: ColourTarget[]): Promise<Record<string, number>> {
  return page.evaluate(countColoursInPage, { pngBase64: readFileSync(pngFile).toString('base64'), targets });
}

/** The few DOM types the in-page function uses; the project compiles without the DOM library. */
interface PageGlobals {
  document: { createElement(tag: 'canvas'): Canvas };
  Image: new () => { src: string; naturalWidth: number; naturalHeight: number; decode(): Promise<void> };
}
interface Canvas {
  width: number;
  height: number;
  getContext(kind: '2d'): {
    drawImage(image: unknown, x: number, y: number): void;
    getImageData(x: number, y: number, width: number, height: number): { data: Uint8ClampedArray };
  } | null;
}

/** Runs inside the browser (Playwright sends its source), so it may use nothing from this module. */
async function countColoursInPage(request: { pngBase64: string; targets: ColourTarget[] }): Promise<Record<string, number>> {
  const globals = globalThis as unknown as PageGlobals;
  const image = new globals.Image();
  image.src = `data:image/png;base64,${request.pngBase64}`;
  await image.decode();
  const canvas = globals.document.createElement('canvas');
  canvas.width = image.naturalWidth;
  canvas.height = image.naturalHeight;
  const context = canvas.getContext('2d');
  if (context === null) throw new Error('no 2d canvas context');
  context.drawImage(image, 0, 0);
  const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
  const counts: Record<string, number> = {};
  for (const target of request.targets) counts[target.name] = 0;
  for (let offset = 0; offset < data.length; offset += 4) {
    if (data[offset + 3] !== 255) continue;
    for (const target of request.targets) {
      if (
        Math.abs(data[offset] - target.rgb[0]) <= target.tolerance &&
        Math.abs(data[offset + 1] - target.rgb[1]) <= target.tolerance &&
        Math.abs(data[offset + 2] - target.rgb[2]) <= target.tolerance
      ) {
        counts[target.name] += 1;
      }
    }
  }
  return counts;
}

function parseHexColour(hex: string): Rgb {
  const match = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (match === null) throw new Error(`not a #rrggbb colour: ${hex}`);
  return [parseInt(match[1], 16), parseInt(match[2], 16), parseInt(match[3], 16)];
}

/** The colour a fill of `rgb` at `opacity` shows over a white background. */
function blendOverWhite(rgb: Rgb, opacity: number): Rgb {
  return rgb.map((channel) => Math.round(255 * (1 - opacity) + channel * opacity)) as Rgb;
}
