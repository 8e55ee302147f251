/**
 * Damage to one store file, as disks and crashes do it: a flipped bit, a cut tail, a zeroed range,
 * garbage appended. Used on CommitLog segments and ConsumeQueue files of stopped nodes and copies.
 */
import { appendFileSync, closeSync, openSync, readSync, statSync, truncateSync, writeSync } from 'node:fs';
import type { FuzzRandom } from '../../lib/fuzz/fuzz-random.js';

export type FileDamage = 'flip' | 'truncate' | 'zero' | 'garbage';

/** Applies one random damage to `file` (synchronous fs: the owner is stopped); returns its name, or 'none' for an empty file. */
export function damageFile(file: string, random: FuzzRandom): FileDamage | 'none' {
  const size = statSync(file).size;
  const kind = random.pick<FileDamage>(['flip', 'flip', 'truncate', 'zero', 'garbage']);
  if (size === 0 && kind !== 'garbage') return 'none';
  switch (kind) {
    case 'flip': {
      const fd = openSync(file, 'r+');
      try {
        const at = random.int(0, size - 1);
        const byte = Buffer.alloc(1);
        readSync(fd, byte, 0, 1, at);
        byte[0] ^= 1 << random.int(0, 7);
        writeSync(fd, byte, 0, 1, at);
      } finally {
        closeSync(fd);
      }
      return kind;
    }
    case 'truncate':
      truncateSync(file, random.int(0, size - 1));
      return kind;
    case 'zero': {
      const at = random.int(0, size - 1);
      const fd = openSync(file, 'r+');
      try {
        writeSync(fd, Buffer.alloc(Math.min(size - at, random.int(1, 200))), 0, undefined, at);
      } finally {
        closeSync(fd);
      }
      return kind;
    }
    case 'garbage':
      appendFileSync(file, random.bytes(300));
      return kind;
  }
}
