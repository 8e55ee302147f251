/**
 * How every `ledgermq admin` command ends: 0 when its work finished, 1 with `CODE: message` on
 * stderr when it threw; the client it used is closed either way.
 */
import { LedgerError } from '../common/errors.js';

/** Runs `work` with `client`, closes the client, and returns the process exit code. */
export async function runToExitCode<C extends { close(): void }>(client: C, work: (client: C) => Promise<void>): Promise<number> {
  try {
    await work(client);
    return 0;
  } catch (error) {
    const code = error instanceof LedgerError ? error.code : 'ERROR';
    console.error(`${code}: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    client.close();
  }
}
