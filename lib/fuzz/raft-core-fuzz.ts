/**
 * Fuzzes the pure Raft core (no network) with the messages a peer, or something claiming to be
 * one, could get past the wire decoder (lib/raft/driver/raft-wire.ts: non-negative safe integers,
 * any sender name): conflicting appends below the commit index, unknown senders, absurd terms and
 * indexes, answers to appends never sent. Raft assumes honest peers, so the core may follow a lying
 * member; what it must never do is throw, truncate an entry it knows committed, move its commit
 * index back or past its log, or send a number the wire would refuse.
 */
import { RaftCore } from '../raft/core/raft-core.js';
import type { TermRun } from '../raft/core/raft-log.js';
import { asIndex, asTerm } from '../raft/core/types.js';
import type { Entry, Message, NodeId, Ready } from '../raft/core/types.js';
import { FuzzRandom } from './fuzz-random.js';

/** One broken rule, with what it takes to replay it. */
export interface CoreFuzzFinding {
  seed: number;
  step: number;
  problem: string;
  /** The last message stepped before the problem showed (JSON-safe). */
  lastMessage: unknown;
}

/** What one seed did. */
export interface CoreFuzzResult {
  seed: number;
  messages: number;
  findings: CoreFuzzFinding[];
}

const SENDERS: readonly NodeId[] = ['n1', 'n2', 'n1', 'n2', 'n0', 'x9', ''];

/** Builds a core `n0` of a 3-voter group with a random stored log, and the model of that log. */
function bootCore(random: FuzzRandom): { core: RaftCore<string>; terms: number[] } {
  const lastIndex = random.int(0, 40);
  const terms: number[] = [];
  let term = 1;
  const runs: TermRun[] = [];
  for (let index = 1; index <= lastIndex; index += 1) {
    if (index === 1 || random.chance(0.15)) {
      term += index === 1 ? 0 : random.int(1, 3);
      runs.push({ start: asIndex(index), term: asTerm(term) });
    }
    terms.push(term);
  }
  const hardTerm = lastIndex === 0 ? random.int(0, 3) : terms[lastIndex - 1] + random.int(0, 2);
  const commit = random.int(0, lastIndex);
  const core = new RaftCore<string>(
    {
      id: 'n0', electionTicks: 10, heartbeatTicks: 1, preVote: random.chance(0.5), checkQuorum: random.chance(0.5),
      maxInflightAppends: random.int(1, 8), maxEntriesPerAppend: random.int(1, 16), installMinEntries: random.pick([0, 5, 4096]),
      random: () => random.float(),
    },
    {
      hardState: { term: asTerm(hardTerm), vote: null, commit: asIndex(commit) },
      membership: { voters: ['n0', 'n1', 'n2'], learners: [] },
      log: { lastIndex: asIndex(lastIndex), termRuns: runs },
      ...(random.chance(0.2) ? { catchUp: { untilIndex: random.chance(0.5) ? null : asIndex(random.int(0, 60)) } } : {}),
    },
  );
  return { core, terms };
}

/** A number near `around` (the usual case) or at a 53-bit edge, always one the wire accepts. */
function wireNumber(random: FuzzRandom, around: number): number {
  if (random.chance(0.85)) return Math.min(Number.MAX_SAFE_INTEGER, Math.max(0, around + random.int(-3, 3)));
  return random.pick([0, 1, 2 ** 31, 2 ** 32, 2 ** 48, 2 ** 53 - 2, 2 ** 53 - 1]);
}

function randomMessage(random: FuzzRandom, core: RaftCore<string>, terms: readonly number[]): Message<string> {
  const lastIndex = terms.length;
  const term = asTerm(wireNumber(random, core.currentTerm));
  const base = { from: random.pick(SENDERS), to: random.chance(0.95) ? 'n0' : 'n7', term };
  switch (random.int(0, 6)) {
    case 0:
      return { ...base, type: 'vote', preVote: random.chance(0.5), transfer: random.chance(0.2), lastIndex: asIndex(wireNumber(random, lastIndex)), lastTerm: asTerm(wireNumber(random, terms[lastIndex - 1] ?? 0)) };
    case 1:
      return { ...base, type: 'voteResponse', preVote: random.chance(0.5), granted: random.chance(0.7) };
    case 2: {
      const prevIndex = wireNumber(random, random.chance(0.5) ? core.commitIndex : lastIndex);
      const prevTerm = random.chance(0.7) && prevIndex <= lastIndex ? (terms[prevIndex - 1] ?? 0) : wireNumber(random, core.currentTerm);
      const count = random.int(0, 6);
      const entries: Array<Entry<string>> = [];
      let entryTerm = Math.min(prevTerm, term);
      for (let i = 0; i < count && prevIndex + i + 1 <= Number.MAX_SAFE_INTEGER; i += 1) {
        if (random.chance(0.3)) entryTerm = Math.min(term, entryTerm + 1);
        entries.push({ index: asIndex(prevIndex + i + 1), term: asTerm(entryTerm), kind: random.pick(['data', 'noop'] as const), data: `e${prevIndex + i + 1}` });
      }
      return { ...base, type: 'append', prevIndex: asIndex(prevIndex), prevTerm: asTerm(prevTerm), commit: asIndex(wireNumber(random, prevIndex + count)), count: entries.length, entries };
    }
    case 3:
      return {
        ...base, type: 'appendResponse', success: random.chance(0.6), matchIndex: asIndex(wireNumber(random, lastIndex)), rejectedPrevIndex: asIndex(wireNumber(random, lastIndex)),
        hintIndex: asIndex(wireNumber(random, lastIndex)), hintTerm: asTerm(wireNumber(random, core.currentTerm)), ...(random.chance(0.2) ? { catchingUp: true } : {}),
      };
    case 4:
      return { ...base, type: 'heartbeat', commit: asIndex(wireNumber(random, lastIndex)) };
    case 5:
      return { ...base, type: 'heartbeatResponse', ...(random.chance(0.3) ? { missingEntries: true } : {}) };
    default:
      return { ...base, type: 'timeoutNow' };
  }
}

/** Every number of an outgoing message must be one the peer's wire decoder accepts. */
function wireDefect(message: Message<string>): string | null {
  for (const [key, value] of Object.entries(message)) {
    if (typeof value === 'number' && (!Number.isSafeInteger(value) || value < 0)) return `sends ${message.type} with ${key} ${value}`;
  }
  return null;
}

/**
 * Runs one seed: `messages` random steps interleaved with ticks, proposals and Ready handling.
 * Returns the broken rules (empty when none); the first one ends the run.
 */
export function fuzzRaftCore(seed: number, messages = 400): CoreFuzzResult {
  const random = new FuzzRandom(seed);
  const { core, terms } = bootCore(random);
  let highestCommit = core.commitIndex;
  let lastMessage: unknown = null;
  const findings: CoreFuzzFinding[] = [];
  const fail = (step: number, problem: string): CoreFuzzResult => {
    findings.push({ seed, step, problem, lastMessage });
    return { seed, messages: step, findings };
  };
  const handleReady = (ready: Ready<string>): string | null => {
    if (ready.truncateAfter !== null) {
      if (ready.truncateAfter < highestCommit) return `truncates after ${ready.truncateAfter}, below commit index ${highestCommit}`;
      terms.length = Math.min(terms.length, ready.truncateAfter);
    }
    for (const entry of ready.entries) {
      if (entry.index !== terms.length + 1) return `stores entry ${entry.index} after last index ${terms.length}`;
      terms.push(entry.term);
    }
    if (ready.commitIndex < highestCommit) return `commit index moved back from ${highestCommit} to ${ready.commitIndex}`;
    if (ready.commitIndex > terms.length) return `commit index ${ready.commitIndex} past the stored log ${terms.length}`;
    highestCommit = ready.commitIndex;
    for (const [peer, progress] of core.peerProgress()) {
      if (progress.match > terms.length) return `leader takes ${peer} to match ${progress.match}, past its log ${terms.length}`;
    }
    for (const message of [...ready.messages, ...ready.messagesAfterPersist]) {
      if (message.type === 'install') continue;
      const defect = wireDefect(message);
      if (defect !== null) return defect;
    }
    return null;
  };
  for (let step = 0; step < messages; step += 1) {
    try {
      const action = random.int(0, 9);
      if (action <= 1) core.tick();
      else if (action === 2) core.propose([{ kind: 'data', data: `p${step}` }]);
      else {
        const message = randomMessage(random, core, terms);
        lastMessage = message;
        core.step(message);
      }
      const ready = core.ready();
      if (ready !== null) {
        const problem = handleReady(ready);
        if (problem !== null) return fail(step, problem);
        core.advance();
      }
    } catch (error) {
      return fail(step, `threw: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return { seed, messages, findings };
}
