/** Reads the broker series the benchmarks need from a node's Prometheus text at `/metrics`. */

/** Messages a node served to pull consumers, by the role it had when serving. */
export interface ServedByRole {
  leader: number;
  follower: number;
}

/** The sum of each labelled sample of `metric` in Prometheus text, keyed by the value of `label`. */
export function sumByLabel(text: string, metric: string, label: string): Map<string, number> {
  const sums = new Map<string, number>();
  const sample = new RegExp(`^${metric}\\{([^}]*)\\} (\\S+)$`, 'gm');
  const labelValue = new RegExp(`(?:^|,)${label}="([^"]*)"`);
  for (const match of text.matchAll(sample)) {
    const value = labelValue.exec(match[1])?.[1] ?? '';
    sums.set(value, (sums.get(value) ?? 0) + Number(match[2]));
  }
  return sums;
}

/** The value of an unlabelled-or-default-labelled gauge `metric` (first sample), or null. */
export function firstSample(text: string, metric: string): number | null {
  const match = new RegExp(`^${metric}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return match ? Number(match[1]) : null;
}

/** GETs `http://<httpAddress>/metrics`. */
export async function fetchMetrics(httpAddress: string): Promise<string> {
  const response = await fetch(`http://${httpAddress}/metrics`);
  if (!response.ok) throw new Error(`GET /metrics on ${httpAddress}: HTTP ${response.status}`);
  return response.text();
}

/** `ledgermq_pull_messages_served_total` of one node, by role (0 for a role never counted). */
export async function pullServed(httpAddress: string): Promise<ServedByRole> {
  const sums = sumByLabel(await fetchMetrics(httpAddress), 'ledgermq_pull_messages_served_total', 'role');
  return { leader: sums.get('leader') ?? 0, follower: sums.get('follower') ?? 0 };
}

/**
 * `ledgermq_broker_parked_polls` of one node. The broker refreshes that gauge only while it builds
 * its `/status` document, so `/status` is fetched first.
 */
export async function parkedPolls(httpAddress: string): Promise<number | null> {
  await (await fetch(`http://${httpAddress}/status`)).arrayBuffer();
  return firstSample(await fetchMetrics(httpAddress), 'ledgermq_broker_parked_polls');
}

/** Seconds spent in, and calls of, one broker RPC so far (every answered status), from `rocketmq_rpc_latency_seconds`. */
export interface RpcTime {
  seconds: number;
  calls: number;
}

/** {@link RpcTime} of `operation` (a BrokerService method name) on one node. */
export async function rpcTime(httpAddress: string, operation: string): Promise<RpcTime> {
  const text = await fetchMetrics(httpAddress);
  const ofOperation = (metric: string): number => {
    let total = 0;
    const sample = new RegExp(`^${metric}\\{([^}]*)\\} (\\S+)$`, 'gm');
    for (const match of text.matchAll(sample)) if (match[1].split(',').includes(`operation="${operation}"`)) total += Number(match[2]);
    return total;
  };
  return { seconds: ofOperation('rocketmq_rpc_latency_seconds_sum'), calls: ofOperation('rocketmq_rpc_latency_seconds_count') };
}
