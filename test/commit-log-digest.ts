/** SHA-256 of a stopped node's committed log, to compare replicas byte for byte. */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { silentLogger } from '../lib/common/logger.js';
import { CommitLog } from '../lib/store/commit-log.js';

/** SHA-256 over the records 1..`upTo` of the CommitLog in `dataDir` (opened after the node stopped). */
export async function committedDigest(dataDir: string, upTo: number): Promise<string> {
  const log = await CommitLog.open({ dir: join(dataDir, 'commitlog'), logger: silentLogger() });
  try {
    const hash = createHash('sha256');
    for (let index = 1; index <= upTo;) {
      const entries = await log.readRange(index, 4 * 1024 * 1024, upTo);
      for (const entry of entries) hash.update(entry.record);
      index += entries.length;
    }
    return hash.digest('hex');
  } finally {
    await log.close();
  }
}
