/**
 * `ledgermq admin check`: the cluster's Raft health against thresholds, for scripts and monitoring
 * (in the spirit of `nats server check`, with Nagios exit codes): 0 OK, 1 WARNING, 2 CRITICAL,
 * 3 UNKNOWN (the NameServers could not be asked). One line per finding, or JSON with `-o json`.
 *
 * Per broker group: no leader, or fewer than a majority of voters answering, is CRITICAL; a member
 * that does not answer is WARNING (the group still has its majority); each member's lag (entries
 * behind the leader's last one) and last contact (ms since the leader heard from it) are compared
 * with their warning and critical thresholds.
 */
import type { ClientTlsFiles } from '../security/tls-config.js';
import { ClientContext } from '../client/client-context.js';
import type { Credentials } from '../client/client-options.js';
import { LedgerError } from '../common/errors.js';
import { renderTable } from '../common/text-table.js';
import { registrations } from './cluster-commands.js';
import { gatherRaftStatus } from './raft-status.js';
import type { RaftGroupStatus } from './raft-status.js';

export type CheckLevel = 'OK' | 'WARNING' | 'CRITICAL' | 'UNKNOWN';

export interface CheckThresholds {
  lagWarn: number;
  lagCrit: number;
  contactWarnMs: number;
  contactCritMs: number;
}

export interface CheckFinding {
  level: CheckLevel;
  group: string;
  node: string;
  check: string;
  value: string;
  threshold: string;
}

const EXIT_CODE: Record<CheckLevel, number> = { OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3 };
const RANK: CheckLevel[] = ['OK', 'WARNING', 'CRITICAL', 'UNKNOWN'];

/** The findings for the groups' state; pure, so it is tested without a cluster. */
export function evaluate(groups: readonly RaftGroupStatus[], limits: CheckThresholds): CheckFinding[] {
  const findings: CheckFinding[] = [];
  const against = (value: number, warn: number, crit: number): CheckLevel => (value > crit ? 'CRITICAL' : value > warn ? 'WARNING' : 'OK');
  for (const group of groups) {
    findings.push({ level: group.leaderId === null ? 'CRITICAL' : 'OK', group: group.group, node: '-', check: 'leader', value: group.leaderId ?? 'none', threshold: 'one' });
    // Learners neither vote nor count towards commits: the majority is of the other members.
    const voters = group.members.filter((m) => m.membership !== 'learner');
    const answering = voters.filter((m) => m.role !== 'unreachable').length;
    const majority = Math.floor(voters.length / 2) + 1;
    findings.push({ level: answering < majority ? 'CRITICAL' : 'OK', group: group.group, node: '-', check: 'voters answering', value: `${answering}/${voters.length}`, threshold: `>= ${majority}` });
    for (const member of group.members) {
      if (member.role === 'unreachable') {
        findings.push({ level: 'WARNING', group: group.group, node: member.nodeId, check: 'reachable', value: member.error ?? 'no answer', threshold: 'answers /status' });
      }
      if (member.lag !== null) {
        findings.push({ level: against(member.lag, limits.lagWarn, limits.lagCrit), group: group.group, node: member.nodeId, check: 'lag (entries)', value: String(member.lag), threshold: `warn > ${limits.lagWarn}, crit > ${limits.lagCrit}` });
      }
      if (member.lastContactMsAgo !== null) {
        findings.push({ level: against(member.lastContactMsAgo, limits.contactWarnMs, limits.contactCritMs), group: group.group, node: member.nodeId, check: 'last contact (ms)', value: String(member.lastContactMsAgo), threshold: `warn > ${limits.contactWarnMs}, crit > ${limits.contactCritMs}` });
      }
    }
  }
  return findings;
}

/** The worst level among `findings` (OK for none). */
export function overall(findings: readonly CheckFinding[]): CheckLevel {
  return findings.reduce<CheckLevel>((worst, f) => (RANK.indexOf(f.level) > RANK.indexOf(worst) ? f.level : worst), 'OK');
}

/** Runs the check and prints it; resolves to the Nagios exit code. */
export async function runCheck(options: { namesrv: string[]; tls?: ClientTlsFiles; output: 'table' | 'json'; thresholds: CheckThresholds; credentials?: Credentials }): Promise<number> {
  const context = new ClientContext({ nameServers: options.namesrv, tls: options.tls, credentials: options.credentials });
  try {
    const findings = evaluate(await gatherRaftStatus(await registrations(context)), options.thresholds);
    const level = overall(findings);
    if (options.output === 'json') {
      console.log(JSON.stringify({ status: level, findings }, null, 2));
    } else {
      const shown = level === 'OK' ? findings : findings.filter((f) => f.level !== 'OK');
      console.log(renderTable(['STATUS', 'GROUP', 'NODE', 'CHECK', 'VALUE', 'THRESHOLD'], shown.map((f) => [f.level, f.group, f.node, f.check, f.value, f.threshold])));
      console.log(`${level}: ${findings.length} checks, ${findings.filter((f) => f.level !== 'OK').length} not OK`);
    }
    return EXIT_CODE[level];
  } catch (error) {
    const code = error instanceof LedgerError ? error.code : 'ERROR';
    const message = `${code}: ${error instanceof Error ? error.message : String(error)}`;
    if (options.output === 'json') console.log(JSON.stringify({ status: 'UNKNOWN', error: message }, null, 2));
    else console.log(`UNKNOWN: ${message}`);
    return EXIT_CODE.UNKNOWN;
  } finally {
    context.close();
  }
}
