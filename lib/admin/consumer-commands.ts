/**
 * `ledgermq admin consumerProgress | consumerConnection | resetOffsetByTime`: mqadmin-style views
 * and operations on a consumer group, over every broker group serving the topic. Output is a text
 * table, or JSON with `-o json`. Each returns the process exit code.
 */
import type { Credentials } from '../client/client-options.js';
import { ConsumerAdmin } from '../client/consumer-admin.js';
import { LedgerError } from '../common/errors.js';
import { renderTable } from '../common/text-table.js';
import { runToExitCode } from './admin-run.js';

export interface ConsumerCommandOptions {
  namesrv: string[];
  /** Signs every broker call (brokers with aclEnabled). */
  credentials?: Credentials;
  group: string;
  topic: string;
  output: 'table' | 'json';
}

function withAdmin(options: ConsumerCommandOptions, work: (admin: ConsumerAdmin) => Promise<void>): Promise<number> {
  return runToExitCode(new ConsumerAdmin({ nameServers: options.namesrv, credentials: options.credentials }), work);
}

/** Committed offset, bounds and lag of the group on every queue of the topic. */
export function runConsumerProgress(options: ConsumerCommandOptions): Promise<number> {
  return withAdmin(options, async (admin) => {
    const progress = await admin.progress(options.group, options.topic);
    if (options.output === 'json') return void console.log(JSON.stringify(progress, null, 2));
    console.log(renderTable(
      ['BROKER GROUP', 'QUEUE', 'CONSUMER OFFSET', 'MIN', 'MAX', 'LAG'],
      progress.map((p) => [p.brokerGroup, p.queueId, p.offset < 0 ? '-' : p.offset, p.minOffset, p.maxOffset, p.lag]),
    ));
    console.log(`total lag: ${progress.reduce((sum, p) => sum + p.lag, 0)}`);
  });
}

/** Live instances of the group and the queues each owns. */
export function runConsumerConnection(options: ConsumerCommandOptions): Promise<number> {
  return withAdmin(options, async (admin) => {
    const consumers = await admin.consumers(options.group, options.topic);
    if (options.output === 'json') return void console.log(JSON.stringify(consumers, null, 2));
    const now = Date.now();
    console.log(renderTable(
      ['BROKER GROUP', 'CLIENT ID', 'MODE', 'OWNED QUEUES', 'LAST HEARTBEAT'],
      consumers.map((c) => [c.brokerGroup, c.clientId, c.mode, c.owned.map((q) => `${q.topic}:${q.queueId}`).join(' ') || '-', `${now - c.lastHeartbeatMs} ms ago`]),
    ));
  });
}

/**
 * Parses a reset time: milliseconds since the epoch, or anything Date.parse reads (ISO 8601,
 * e.g. 2026-11-22T10:00:00Z). Throws BAD_REQUEST otherwise.
 */
export function parseResetTime(text: string): number {
  const value = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new LedgerError('BAD_REQUEST', `cannot read "${text}" as a time (ms since the epoch or ISO 8601)`);
  return value;
}

/** Resets the group's progress on every queue of the topic to the first message stored at or after a time. */
export function runResetOffsetByTime(options: ConsumerCommandOptions & { time: string }): Promise<number> {
  return withAdmin(options, async (admin) => {
    const progress = await admin.resetOffsets(options.group, options.topic, { timestampMs: parseResetTime(options.time) });
    if (options.output === 'json') return void console.log(JSON.stringify(progress, null, 2));
    console.log(renderTable(['BROKER GROUP', 'QUEUE', 'NEW OFFSET', 'MAX', 'TO CONSUME'], progress.map((p) => [p.brokerGroup, p.queueId, p.offset, p.maxOffset, p.lag])));
  });
}
