/**
 * How the metrics test reads series: through a real Prometheus server (Debian's `prometheus`,
 * which `.ci/run` installs) scraping every process every second, or, on a machine without it,
 * by fetching each target's `/metrics` directly and parsing the text format. Both answer "which
 * series of this name, with these labels, are current, with what value".
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stopChild } from '../lib/process/child-processes.js';

export interface Series {
  labels: Record<string, string>;
  value: number;
}

export interface MetricsScraper {
  /** What reads the series, for the test's output. */
  readonly kind: string;
  /** Seconds between scrapes (0: each question scrapes). */
  readonly intervalSeconds: number;
  /** Every current series named `name` whose labels include `matchers`. */
  series(name: string, matchers?: Record<string, string>): Promise<Series[]>;
  /** Targets answering their last scrape, by address. */
  targetsUp(): Promise<Map<string, boolean>>;
  stop(): Promise<void>;
}

export const PROMETHEUS_BINARY = '/usr/bin/prometheus';

/** A real Prometheus scraping `targets` every `intervalSeconds`, listening on 127.0.0.1:`port`. */
export async function startPrometheus(dir: string, port: number, targets: string[], intervalSeconds: number): Promise<MetricsScraper> {
  mkdirSync(join(dir, 'tsdb'), { recursive: true });
  const config = join(dir, 'prometheus.yml');
  writeFileSync(config, [
    'global:',
    `  scrape_interval: ${intervalSeconds}s`,
    `  scrape_timeout: ${intervalSeconds}s`,
    'scrape_configs:',
    '  - job_name: ledgermq',
    '    static_configs:',
    `      - targets: [${targets.map((t) => `'${t}'`).join(', ')}]`,
    '',
  ].join('\n'));
  const child: ChildProcess = spawn(PROMETHEUS_BINARY, [
    `--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`prometheus exited: ${stderr}`);
    try {
      if ((await fetch(`${base}/-/ready`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`prometheus not ready within 30 s: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const api = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${base}${path}`);
    const body = (await response.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`prometheus ${path}: ${body.error ?? response.status}`);
    return body.data;
  };
  return {
    kind: 'Prometheus (real server, /usr/bin/prometheus)',
    intervalSeconds,
    async series(name, matchers = {}) {
      const selector = `${name}{${Object.entries(matchers).map(([k, v]) => `${k}="${v}"`).join(',')}}`;
      const data = await api<{ result: Array<{ metric: Record<string, string>; value: [number, string] }> }>(`/api/v1/query?query=${encodeURIComponent(selector)}`);
      return data.result.map((r) => ({ labels: r.metric, value: Number(r.value[1]) }));
    },
    async targetsUp() {
      const data = await api<{ activeTargets: Array<{ labels: { instance: string }; health: string }> }>('/api/v1/targets');
      return new Map(data.activeTargets.map((t) => [t.labels.instance, t.health === 'up']));
    },
    stop: () => stopChild(child, 'SIGTERM'),
  };
}

/** Reads each target's `/metrics` at every question (no server). */
export function directScraper(targets: string[]): MetricsScraper {
  const scrape = async (target: string): Promise<Series[] & { names?: string[] }> => {
    const text = await (await fetch(`http://${target}/metrics`, { signal: AbortSignal.timeout(2_000) })).text();
    return parseExposition(text);
  };
  return {
    kind: 'direct /metrics reads (prometheus is not installed here)',
    intervalSeconds: 0,
    async series(name, matchers = {}) {
      const found: Series[] = [];
      for (const target of targets) {
        let all: Series[];
        try {
          all = await scrape(target);
        } catch {
          continue;
        }
        for (const s of all) {
          if (s.labels.__name__ !== name) continue;
          if (Object.entries(matchers).every(([k, v]) => s.labels[k] === v)) found.push({ labels: { ...s.labels, instance: target }, value: s.value });
        }
      }
      return found;
    },
    async targetsUp() {
      return new Map(await Promise.all(targets.map(async (t) => [t, await scrape(t).then(() => true, () => false)] as [string, boolean])));
    },
    stop: () => Promise.resolve(),
  };
}

/** Parses Prometheus text exposition lines `name{a="b",...} value` (the subset prom-client writes). */
export function parseExposition(text: string): Series[] {
  const series: Series[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = { __name__: match[1] };
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]] = pair[2];
    series.push({ labels, value: Number(match[3]) });
  }
  return series;
}

/** Whether a real Prometheus can be started here. */
export function prometheusInstalled(): boolean {
  return existsSync(PROMETHEUS_BINARY);
}
