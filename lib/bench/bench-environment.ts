/** One line about the machine a benchmark ran on, so noisy figures can be read as such. */
import { availableParallelism, cpus, getPriority, loadavg, totalmem } from 'node:os';

/** Facts about the host: cores, load, this process's nice value, memory, Node version. */
export interface BenchEnvironment {
  cores: number;
  cpuModel: string;
  loadAverage1m: number;
  nice: number;
  memoryGiB: number;
  node: string;
}

/** Reads the host facts now. */
export function benchEnvironment(): BenchEnvironment {
  return {
    cores: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    loadAverage1m: Number(loadavg()[0].toFixed(2)),
    nice: getPriority(),
    memoryGiB: Number((totalmem() / 2 ** 30).toFixed(1)),
    node: process.version,
  };
}

/** A human line about `env`, warning when the machine is small or busy. */
export function describeEnvironment(env: BenchEnvironment): string {
  const warnings: string[] = [];
  if (env.cores <= 2) warnings.push(`only ${env.cores} cores: the 3 brokers, the NameServer/Proxy and this client share them, so figures are noisy and below what separate machines give`);
  if (env.loadAverage1m >= env.cores / 2) warnings.push(`load average ${env.loadAverage1m} before the start: other work is running`);
  return `host: ${env.cores} cores (${env.cpuModel}), ${env.memoryGiB} GiB, node ${env.node}, nice ${env.nice}, load ${env.loadAverage1m}` +
    (warnings.length > 0 ? `\nnote: ${warnings.join('; ')}` : '');
}
