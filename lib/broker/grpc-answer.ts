/**
 * The one place broker request errors become wire statuses: {@link answer} runs a handler's work
 * and answers `{ status: OK, ...fields }`, or its error's status alone.
 */
import { toWireStatus } from '../common/errors.js';
import type { WireStatus } from '../common/errors.js';
import type { Logger } from '../common/logger.js';

export const OK: WireStatus = { code: 20000, message: 'OK' };

/**
 * Runs `work` and answers `{ status: OK, ...fields }`; a failure answers its status alone (every
 * other field of a response is optional on the wire). The one place errors become statuses.
 */
export function answer<R extends { status?: WireStatus | null }>(
  logger: Logger,
  callback: (error: null, response: R) => void,
  work: () => Promise<Omit<R, 'status'>>,
): void {
  // A synchronous throw in `work` becomes a status too.
  Promise.resolve().then(work).then(
    (fields) => callback(null, { ...fields, status: OK } as R),
    (error: unknown) => {
      const status = toWireStatus(error);
      if (status.code >= 50000 && status.code !== 59001) logger.error({ err: error }, 'broker request failed');
      callback(null, { status } as R);
    },
  );
}

