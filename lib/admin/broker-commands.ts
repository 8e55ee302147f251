/**
 * `ledgermq admin brokerStatus | getBrokerConfig | updateBrokerConfig`: per-node views and
 * changes (every member of a broker group, or the one named with `--node`), reached at the
 * addresses the nodes registered with the NameServers.
 */
import type { ClientContext } from '../client/client-context.js';
import { LedgerError } from '../common/errors.js';
import type { RegisteredBroker } from '../namesrv/registered-broker.js';
import type { ClusterCommandOptions } from './cluster-commands.js';
import { print, registrations, withContext } from './cluster-commands.js';

/** Deadline of one node's answer. */
const NODE_TIMEOUT_MS = 5_000;

export interface NodeCommandOptions extends ClusterCommandOptions {
  brokerGroup: string;
  /** One member only; empty: every member. */
  node: string;
}

async function members(context: ClientContext, options: NodeCommandOptions): Promise<RegisteredBroker[]> {
  const found = (await registrations(context)).filter((b) => b.group === options.brokerGroup && (options.node === '' || b.nodeId === options.node));
  if (found.length === 0) throw new LedgerError('NOT_FOUND', options.node ? `node ${options.node} of ${options.brokerGroup} is not registered` : `broker group ${options.brokerGroup} is not registered`);
  return found.sort((a, b) => a.nodeId.localeCompare(b.nodeId));
}

/** A status value as a table cell. */
function text(value: unknown): string {
  if (value === null || value === undefined) return '-';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** mqadmin's brokerStatus: role, indexes, storage, memory and load of each member, from its `/status`. */
export function runBrokerStatus(options: NodeCommandOptions): Promise<number> {
  return withContext(options, async (context) => {
    const nodes = await members(context, options);
    const statuses = await Promise.all(nodes.map(async (node) => {
      try {
        const response = await fetch(`http://${node.httpAddress}/status`, { signal: AbortSignal.timeout(NODE_TIMEOUT_MS) });
        if (!response.ok) throw new Error(`/status answered HTTP ${response.status}`);
        return { node: node.nodeId, status: (await response.json()) as Record<string, unknown> };
      } catch (error) {
        return { node: node.nodeId, error: error instanceof Error ? error.message : String(error) };
      }
    }));
    const rows: Array<[string, string, string]> = [];
    for (const entry of statuses) {
      if ('error' in entry) {
        rows.push([entry.node, 'error', String(entry.error)]);
        continue;
      }
      const { runtime, ...status } = entry.status as { runtime?: Record<string, unknown> } & Record<string, unknown>;
      for (const key of ['role', 'term', 'leader', 'commitIndex', 'appliedIndex', 'lastIndex', 'broker']) rows.push([entry.node, key, text(status[key])]);
      for (const [key, value] of Object.entries(runtime ?? {})) rows.push([entry.node, key, text(value)]);
    }
    print(options, statuses.map((s) => ('error' in s ? s : { node: s.node, ...s.status })), ['NODE', 'KEY', 'VALUE'], rows);
    if (statuses.some((s) => 'error' in s)) throw new LedgerError('HA_NOT_AVAILABLE', `no /status from ${statuses.filter((s) => 'error' in s).map((s) => s.node).join(', ')}`);
  });
}

/** Every config key of each member: running value, default, how a change applies, overridden or not. */
export function runGetBrokerConfig(options: NodeCommandOptions & { key: string }): Promise<number> {
  return withContext(options, async (context) => {
    const nodes = await members(context, options);
    const answers = await Promise.all(nodes.map(async (node) => ({
      node: node.nodeId,
      entries: (await context.gateway.getBrokerConfig(node.brokerAddress, NODE_TIMEOUT_MS)).entries
        .filter((e) => options.key === '' || e.key === options.key),
    })));
    if (options.key !== '' && answers.every((a) => a.entries.length === 0)) throw new LedgerError('BAD_REQUEST', `unknown broker config key "${options.key}"`);
    const json = answers.map((a) => ({
      node: a.node,
      config: Object.fromEntries(a.entries.map((e) => [e.key, { value: JSON.parse(e.valueJson) as unknown, default: JSON.parse(e.defaultJson) as unknown, applies: e.applies, overridden: e.overridden, pendingRestart: e.pendingRestart }])),
    }));
    print(options, json, ['NODE', 'KEY', 'VALUE', 'DEFAULT', 'APPLIES', 'SOURCE'], answers.flatMap((a) => a.entries.map((e) => [
      a.node, e.key, e.valueJson, e.applies === 'fixed' ? '-' : e.defaultJson, e.applies,
      e.pendingRestart ? 'override (at restart)' : e.overridden ? 'override' : e.valueJson === e.defaultJson ? 'default' : 'config file',
    ])));
  });
}

/** Sets one key on each member (persisted; live keys apply at once). Exit 1 when any member refused. */
export function runUpdateBrokerConfig(options: NodeCommandOptions & { key: string; value: string }): Promise<number> {
  return withContext(options, async (context) => {
    const nodes = await members(context, options);
    const failures: string[] = [];
    for (const node of nodes) {
      try {
        const { applies } = await context.gateway.updateBrokerConfig(node.brokerAddress, { key: options.key, valueJson: options.value }, NODE_TIMEOUT_MS);
        console.log(`${options.brokerGroup}/${node.nodeId}: ${options.key}=${options.value} ${applies === 'live' ? 'applied now' : 'applies at the next restart'}`);
      } catch (error) {
        const code = error instanceof LedgerError ? error.code : 'ERROR';
        failures.push(`${node.nodeId}: ${code}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    if (failures.length > 0) throw new LedgerError('BAD_REQUEST', failures.join('; '));
  });
}
