/**
 * The report as a reader sees it, in headless Chromium. Run by `make jepsen` only (the file name
 * does not end in `.test.ts`, so the default suite skips it); needs Debian's `chromium` package.
 * Screenshots are kept in a temporary directory whose path is printed.
 */
import { expect } from 'chai';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkReportInBrowser, DEFAULT_CHROMIUM_PATH, type BrowserReportCheck } from './check-report-in-browser.js';
import { renderHtmlReport } from './html-report.js';
import { buildSyntheticRunSummary } from './synthetic-run-summary.js';

/** A 120-bucket line over 880 px, 2 px wide, leaves well over this many pixels of its own colour. */
const MIN_SEND_OK_PIXELS = 800;
const MIN_SERIES_PIXELS = 150;
/** Three fault bands over two 256 px tall plots cover tens of thousands of pixels. */
const MIN_BAND_PIXELS = 20_000;
/** With no data nothing of a series colour is drawn; a few stray antialiased pixels at most. */
const MAX_BLANK_SERIES_PIXELS = 10;

function printFigures(label: string, check: BrowserReportCheck): void {
  console.log(`      ${label}: series pixels ${JSON.stringify(check.seriesPixels)}, band pixels ${check.bandPixels}`);
  console.log(`      ${label}: series points ${JSON.stringify(check.seriesPoints)}`);
  console.log(`      ${label}: screenshots ${[check.screenshot, ...Object.values(check.chartScreenshots)].join(' ')}`);
}

describe('jepsen-like-tests/report in headless Chromium', function () {
  this.timeout(120_000);
  let dir = '';

  before(() => {
    if (!existsSync(DEFAULT_CHROMIUM_PATH)) throw new Error(`no browser at ${DEFAULT_CHROMIUM_PATH}: apt-get install -y chromium`);
    dir = mkdtempSync(join(tmpdir(), 'ledgermq-report-'));
    console.log(`      report files and screenshots kept in ${dir}`);
  });

  it('draws the synthetic report: no errors, charts laid out, series and fault bands visible', async () => {
    const file = join(dir, 'synthetic.html');
    writeFileSync(file, renderHtmlReport(buildSyntheticRunSummary()));
    const check = await checkReportInBrowser(file);
    printFigures('synthetic', check);

    expect(check.errors).to.deep.equal([]);
    for (const key of ['sendOk', 'sendFail', 'sendInfo', 'received']) expect(check.seriesPoints[key], key).to.equal(120);
    for (const key of ['latencyP50', 'latencyP99', 'latencyMax']) expect(check.seriesPoints[key], key).to.equal(114);
    expect(check.seriesPixels.sendOk).to.be.above(MIN_SEND_OK_PIXELS);
    for (const [key, pixels] of Object.entries(check.seriesPixels)) expect(pixels, key).to.be.above(MIN_SERIES_PIXELS);
    expect(check.bandPixels).to.be.above(MIN_BAND_PIXELS);
    for (const png of [check.screenshot, ...Object.values(check.chartScreenshots)]) expect(existsSync(png), png).to.equal(true);
  });

  it('finds no series pixels in a report with no buckets, but still the fault bands (so the pixel check can fail)', async () => {
    const file = join(dir, 'no-buckets.html');
    writeFileSync(file, renderHtmlReport(buildSyntheticRunSummary({ bucketCount: 0 })));
    const check = await checkReportInBrowser(file);
    printFigures('no buckets', check);

    expect(check.errors).to.deep.equal([]);
    expect(check.seriesPoints).to.deep.equal({});
    expect(Object.keys(check.seriesPixels)).to.have.length(7);
    for (const [key, pixels] of Object.entries(check.seriesPixels)) expect(pixels, key).to.be.at.most(MAX_BLANK_SERIES_PIXELS);
    expect(check.bandPixels).to.be.above(MIN_BAND_PIXELS);
  });

  it('reports script errors, console errors, outside requests and missing charts', async () => {
    const file = join(dir, 'broken.html');
    // The image points at a closed loopback port; the check aborts the request before it is sent.
    writeFileSync(
      file,
      `<!doctype html><html><head><meta charset="utf-8"><title>broken</title></head><body>
<img src="http://127.0.0.1:9/outside.png" alt="">
<script>console.error('logged failure'); throw new Error('boom');</script>
</body></html>`,
    );
    const check = await checkReportInBrowser(file);
    printFigures('broken', check);

    expect(check.errors.some((error) => error.startsWith('page error:') && error.includes('boom')), check.errors.join('\n')).to.equal(true);
    expect(check.errors.some((error) => error.startsWith('console error:') && error.includes('logged failure'))).to.equal(true);
    expect(check.errors.some((error) => error.startsWith('external request: http://127.0.0.1:9/outside.png'))).to.equal(true);
    expect(check.errors.filter((error) => /^chart #(throughput|latency)-chart: expected one <svg>, found 0$/.test(error))).to.have.length(2);
  });
});
