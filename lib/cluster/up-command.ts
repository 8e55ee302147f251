import { LocalCluster } from './local-cluster.js';
import type { TlsMode } from '../security/tls-config.js';

export interface UpOptions {
  dir: string;
  basePort: number;
  nodes: number;
  autoCreate: boolean;
  tls: TlsMode;
}

/**
 * `ledgermq up`: starts the local cluster, prints where clients connect, and stops every process it
 * started on SIGINT/SIGTERM.
 */
export async function runLocalCluster(options: UpOptions): Promise<void> {
  if (!Number.isSafeInteger(options.nodes) || options.nodes < 1 || options.nodes > 9) {
    console.error('ledgermq up: --nodes must be between 1 and 9 (3 is a normal Raft group; 1 runs without replication)');
    process.exitCode = 2;
    return;
  }
  const cluster = new LocalCluster({ dir: options.dir, basePort: options.basePort, nodes: options.nodes, autoCreate: options.autoCreate, tls: options.tls });
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    console.log('stopping...');
    cluster.stop().then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  try {
    await cluster.start();
  } catch (error) {
    console.error(`ledgermq up: ${error instanceof Error ? error.message : String(error)}`);
    await cluster.stop();
    process.exitCode = 1;
    return;
  }
  const d = cluster.description;
  console.log(`LedgerMQ is up (data in ${options.dir}, description in ${options.dir}/cluster.json)`);
  console.log(`  access point (official RocketMQ 5 clients): ${d.accessPoint}`);
  if (d.tls) {
    console.log(`  TLS ${d.tls.mode}: clients trust ${d.tls.caFile} (admin: --tls-ca ${d.tls.caFile}; official clients: sslEnabled with GRPC_DEFAULT_SSL_ROOTS_FILE_PATH=${d.tls.caFile})`);
  }
  console.log(`  NameServer: ${d.namesrv.join(', ')}   status: http://${d.namesrvProcess.http}/status`);
  for (const node of cluster.nodes) console.log(`  broker ${d.groups[0].name}/${node.id}: ${node.broker}   status: http://${node.http}/status`);
  console.log('Press Ctrl-C to stop.');
}
