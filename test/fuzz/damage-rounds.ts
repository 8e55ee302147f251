/**
 * Recovery fuzz on a running group: a follower is stopped (SIGKILL or SIGTERM), its CommitLog
 * segments and ConsumeQueue files are damaged (lib/fuzz file damage), and it is started again. It
 * must either come up and catch up (cutting or repairing what is damaged from the group), or refuse
 * to start with an error in its log (then its data is wiped and it is started again to catch up
 * from the others); dying of an uncaught exception is a finding. Either way it is then made leader and every acknowledged check message is
 * read again from it with a new consumer group: every body exact, none missing.
 */
import { closeSync, openSync, readFileSync, readSync, readdirSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { runTransferLeader } from '../../lib/admin/cluster-commands.js';
import { nodeDirectories } from '../../lib/broker/broker-node.js';
import type { LocalCluster } from '../../lib/cluster/local-cluster.js';
import type { DataChecker } from '../../lib/fuzz/data-checker.js';
import type { FuzzRandom } from '../../lib/fuzz/fuzz-random.js';
import { damageFile } from './file-damage.js';

/** What one round did. */
export interface DamageRound {
  node: string;
  signal: string;
  damage: string[];
  /** 'recovered', or 'refused: <last error line>' (then wiped and restarted). */
  start: string;
}

/** Every regular file under `dir` (store folders are shallow). */
function filesUnder(dir: string): string[] {
  let out: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of names) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out = out.concat(filesUnder(path));
    else out.push(path);
  }
  return out;
}

async function raftOf(cluster: LocalCluster, id: string): Promise<{ role: string; commitIndex: number; lastIndex: number; catchingUp: boolean } | null> {
  return cluster.nodeStatus(id).then((status) => status.raft as { role: string; commitIndex: number; lastIndex: number; catchingUp: boolean }, () => null);
}

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The uncaught exception a node's process died of at startup (its stderr is in the log), or null. */
function uncaughtError(logFile: string): string | null {
  return readFileSync(logFile, 'utf8').split('\n').find((line) => /^[A-Z]\w*Error\b/.test(line)) ?? null;
}

/** The last error-level line of a node's log, for the report. */
function lastErrorLine(logFile: string): string {
  // Error-level records, or text the process wrote before its logger ran (a crash's stack).
  const lines = readFileSync(logFile, 'utf8').split('\n').filter((line) => line.includes('"level":50') || line.includes('"level":60') || (line.trim() !== '' && !line.startsWith('{')));
  return (lines.at(-1) ?? '(no error logged)').slice(0, 300);
}

/** A bit to flip in a unit of one of the check topic's queues (a corpus case, applied in round 0). */
export interface QueueBitFlip {
  queueId: number;
  unit: number;
  /** Byte within the 20-byte unit (0-7 position, 8-11 size, 12-19 tag hash). */
  byte: number;
  bit: number;
}

function flipQueueBit(dataDir: string, topic: string, flip: QueueBitFlip): string {
  const file = join(nodeDirectories(dataDir).consumeQueue, topic, String(flip.queueId), '0'.repeat(20));
  const fd = openSync(file, 'r+');
  try {
    const byte = Buffer.alloc(1);
    const at = flip.unit * 20 + flip.byte;
    readSync(fd, byte, 0, 1, at);
    byte[0] ^= 1 << flip.bit;
    writeSync(fd, byte, 0, 1, at);
  } finally {
    closeSync(fd);
  }
  return `flip bit ${flip.bit} of byte ${flip.byte} of unit ${flip.unit} in consumequeue/${topic}/${flip.queueId}`;
}

/**
 * Runs `rounds` damage rounds (round 0 applies `scripted` flips when given, instead of random
 * damage); returns what each did and the problems found.
 */
export async function runDamageRounds(cluster: LocalCluster, checker: DataChecker, random: FuzzRandom, rounds: number, log: (line: string) => void, scripted: readonly QueueBitFlip[] = []): Promise<{ rounds: DamageRound[]; findings: string[] }> {
  const done: DamageRound[] = [];
  const findings: string[] = [];
  for (let round = 0; round < rounds; round += 1) {
    const leader = await cluster.leaderId();
    const followers = cluster.nodes.filter((node) => node.id !== leader);
    const victim = random.pick(followers);
    const signal = random.pick(['SIGKILL', 'SIGTERM'] as const);
    await cluster.stopNode(victim.id, signal);
    const dirs = nodeDirectories(victim.dataDir);
    const segments = filesUnder(dirs.commitLog).filter((file) => /\d{20}$/.test(file));
    const queues = filesUnder(dirs.consumeQueue).filter((file) => /\d{20}$/.test(file));
    const damage: string[] = round === 0 ? scripted.map((flip) => flipQueueBit(victim.dataDir, checker.topic, flip)) : [];
    for (let n = damage.length > 0 ? 0 : random.int(1, 3); n > 0; n -= 1) {
      const pool = random.chance(0.5) && queues.length > 0 ? queues : segments;
      if (pool.length === 0) continue;
      const file = random.pick(pool);
      damage.push(`${damageFile(file, random)} ${file.slice(victim.dataDir.length + 1)}`);
    }
    let start = 'recovered';
    try {
      await cluster.startNode(victim.id, 60_000);
    } catch (error) {
      start = `refused: ${lastErrorLine(victim.logFile)}`;
      // Refusing with a clear error is allowed; dying of an uncaught exception is a crash.
      const crash = uncaughtError(victim.logFile);
      if (crash !== null) findings.push(`${victim.id} crashed at startup after ${damage.join(', ')}: ${crash}`);
      log(`fuzz: ${victim.id} did not start after ${damage.join(', ')} (${String(error)}); wiping it`);
      await cluster.stopNode(victim.id, 'SIGKILL');
      rmSync(victim.dataDir, { recursive: true, force: true });
      await cluster.startNode(victim.id, 60_000);
    }
    done.push({ node: victim.id, signal, damage, start });
    log(`fuzz: damage round ${round}: ${victim.id} ${signal}, ${damage.join(', ')}: ${start.slice(0, 160)}`);
    try {
      const target = (await raftOf(cluster, leader ?? ''))?.commitIndex ?? 0;
      await waitUntil(`${victim.id} to catch up to ${target}`, async () => {
        const status = await raftOf(cluster, victim.id);
        return status !== null && !status.catchingUp && status.commitIndex >= target && status.lastIndex >= target;
      }, 90_000);
      if ((await runTransferLeader({ namesrv: cluster.description.namesrv, brokerGroup: cluster.description.groups[0].name, to: victim.id, output: 'json' })) !== 0) throw new Error(`leadership did not move to ${victim.id}`);
      await waitUntil(`${victim.id} to lead`, async () => (await cluster.leaderId()) === victim.id && (await raftOf(cluster, victim.id))?.role === 'leader', 30_000);
      const reread = await checker.readAllAgain(`fuzz-reread-${round}-${random.int(0, 1e9)}`);
      if (reread.missing.length > 0) findings.push(`after damage round ${round} (${damage.join(', ')}), ${reread.missing.length} acknowledged messages were not read from ${victim.id}, e.g. ${reread.missing.slice(0, 5).join(', ')}`);
      if (reread.corrupt.length > 0) findings.push(`after damage round ${round} (${damage.join(', ')}), ${victim.id} served wrong bodies: ${reread.corrupt.slice(0, 3).join(' | ')}`);
    } catch (error) {
      findings.push(`damage round ${round} (${victim.id}, ${damage.join(', ')}, ${start.slice(0, 80)}): ${String(error)}`);
    }
  }
  return { rounds: done, findings };
}
