/**
 * The term runs of a stored log: for each term present, the index of its first entry. The Raft
 * core describes the stored log with them instead of holding every entry's term (see
 * lib/raft/core/raft-log.ts). Found with one binary search per term, because terms never decrease
 * along a Raft log: O(terms x log entries) header reads, not a scan.
 */

/** From `start` up to the next run's start, every entry has `term`. */
export interface StoredTermRun {
  start: number;
  term: number;
}

/** What the search reads: a log's bounds and the term at an index. */
export interface TermSource {
  readonly firstIndex: number;
  readonly lastIndex: number;
  termAt(index: number): Promise<number>;
}

/**
 * The term runs of `log`, ascending. Throws if a read it makes shows a decreasing term (a Raft log
 * never has one; the search does not read every entry, so it is a sanity check, not a proof), and
 * passes on the source's read errors.
 */
export async function findTermRuns(log: TermSource): Promise<StoredTermRun[]> {
  const runs: StoredTermRun[] = [];
  const last = log.lastIndex;
  let start = log.firstIndex;
  while (start <= last) {
    const term = await log.termAt(start);
    if (runs.length > 0 && term <= runs[runs.length - 1].term) {
      throw new Error(`log terms decrease: index ${start} has term ${term} after term ${runs[runs.length - 1].term}`);
    }
    runs.push({ start, term });
    // The last index with `term`: the largest i in [start, last] with termAt(i) === term.
    let low = start;
    let high = last;
    while (low < high) {
      const middle = Math.ceil((low + high) / 2);
      const middleTerm = await log.termAt(middle);
      if (middleTerm < term) throw new Error(`log terms decrease: index ${middle} has term ${middleTerm} after term ${term} at ${start}`);
      if (middleTerm === term) low = middle;
      else high = middle - 1;
    }
    start = low + 1;
  }
  return runs;
}
