import { expect } from 'chai';
import { evaluate, overall } from './check-command.js';
import type { RaftGroupStatus, RaftMemberStatus } from './raft-status.js';

const limits = { lagWarn: 10, lagCrit: 100, contactWarnMs: 1_000, contactCritMs: 5_000 };

function member(nodeId: string, fields: Partial<RaftMemberStatus> = {}): RaftMemberStatus {
  return { nodeId, role: 'follower', term: 3, commitIndex: 50, appliedIndex: 50, lastIndex: 50, matchIndex: 50, lag: 0, lastContactMsAgo: 40, membership: 'voter', ...fields };
}

function group(members: RaftMemberStatus[], leaderId: string | null = 'n0'): RaftGroupStatus {
  return { cluster: 'c', group: 'broker-a', leaderId, term: 3, commitIndex: 50, members };
}

describe('admin check: evaluate', () => {
  it('is OK for a group with a leader and every member close', () => {
    const findings = evaluate([group([member('n0', { role: 'leader', lastContactMsAgo: 0 }), member('n1'), member('n2', { lag: 10, lastContactMsAgo: 1_000 })])], limits);
    expect(overall(findings)).to.equal('OK');
    expect(findings.filter((f) => f.check === 'lag (entries)')).to.have.length(3);
  });

  it('warns on one unreachable member or a lag or silence over the warning threshold', () => {
    expect(overall(evaluate([group([member('n0', { role: 'leader' }), member('n1'), member('n2', { role: 'unreachable', lag: 5, lastContactMsAgo: 900 })])], limits))).to.equal('WARNING');
    expect(overall(evaluate([group([member('n0', { role: 'leader' }), member('n1', { lag: 11 }), member('n2')])], limits))).to.equal('WARNING');
    expect(overall(evaluate([group([member('n0', { role: 'leader' }), member('n1', { lastContactMsAgo: 1_001 }), member('n2')])], limits))).to.equal('WARNING');
  });

  it('is CRITICAL without a leader, without a majority answering, or past a critical threshold', () => {
    const noLeader = evaluate([group([member('n0'), member('n1'), member('n2')], null)], limits);
    expect(overall(noLeader)).to.equal('CRITICAL');
    expect(noLeader.find((f) => f.check === 'leader')).to.include({ level: 'CRITICAL', value: 'none' });
    const minority = evaluate([group([member('n0', { role: 'leader' }), member('n1', { role: 'unreachable' }), member('n2', { role: 'unreachable' })])], limits);
    expect(minority.find((f) => f.check === 'voters answering')).to.include({ level: 'CRITICAL', value: '1/3' });
    expect(overall(evaluate([group([member('n0', { role: 'leader' }), member('n1', { lag: 101 }), member('n2')])], limits))).to.equal('CRITICAL');
    expect(overall(evaluate([group([member('n0', { role: 'leader' }), member('n1', { lastContactMsAgo: 5_001 }), member('n2')])], limits))).to.equal('CRITICAL');
  });
});
