/**
 * The fuzz suite's seeded random source: every choice a fuzz run makes comes from one of these, so
 * a run replays exactly with its seed (`SEED=`). Built on the simulator's mulberry32.
 */
import { seededRandom } from '../raft/sim/seeded-random.js';

/** Unicode, control characters and separators that names and properties must survive. */
const ODD_TEXT = ['', ' ', '\u0000', '\n', '\r\n', '\t', '%', '%RETRY%', '%DLQ%', '..', '/', '\\', '\u00e9', '\u4e2d\u6587', '\u{1f600}', '\ud800', '\uffff', '\u202e', '"', "'", '{', '}', '|', ';', '=', '*', '||', ' || '];

/** Integers at the edges: signs, 32/53/64-bit limits, zero. */
const EDGE_INTEGERS = [0, 1, -1, 2, 255, 256, 65535, 2 ** 31 - 1, -(2 ** 31), 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, -(2 ** 53 - 1), 2 ** 48];

/** A seeded source of the values fuzz generators need. Not cryptographic. */
export class FuzzRandom {
  private readonly next: () => number;

  constructor(readonly seed: number) {
    this.next = seededRandom(seed);
  }

  /** A number in [0, 1). */
  float(): number {
    return this.next();
  }

  /** An integer in [low, high]. */
  int(low: number, high: number): number {
    return low + Math.floor(this.next() * (high - low + 1));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(0, items.length - 1)];
  }

  /** An integer at a 32/53/64-bit edge, or a plain small one. */
  edgeInteger(): number {
    return this.chance(0.7) ? this.pick(EDGE_INTEGERS) : this.int(-1000, 1000);
  }

  /** Decimal text of an integer that may not fit in 64 bits (for int64 fields loaded as strings). */
  edgeLongText(): string {
    return this.pick(['0', '-1', '9223372036854775807', '-9223372036854775808', '18446744073709551615', '9007199254740993', String(this.edgeInteger())]);
  }

  /** Random bytes, mostly short, sometimes up to `maxBytes`. */
  bytes(maxBytes = 64): Buffer {
    const length = this.chance(0.9) ? this.int(0, 32) : this.int(0, maxBytes);
    const out = Buffer.alloc(length);
    for (let i = 0; i < length; i += 1) out[i] = this.int(0, 255);
    return out;
  }

  /** An odd string: empty, control characters, unicode, lone surrogates, or long. */
  oddText(): string {
    switch (this.int(0, 4)) {
      case 0:
        return this.pick(ODD_TEXT);
      case 1:
        return this.pick(ODD_TEXT).repeat(this.int(1, 300));
      case 2:
        return 'x'.repeat(this.pick([64, 127, 128, 255, 256, 1024, 20_000]));
      case 3:
        return Array.from({ length: this.int(1, 12) }, () => this.pick(ODD_TEXT)).join('');
      default:
        return Array.from({ length: this.int(1, 24) }, () => String.fromCharCode(this.int(0, 0xffff))).join('');
    }
  }
}

/** The seed of a run: `SEED` from the environment, else one drawn now (printed by the caller). */
export function seedFromEnvironment(): number {
  const fromEnv = process.env.SEED;
  if (fromEnv !== undefined && fromEnv !== '') {
    const seed = Number(fromEnv);
    if (!Number.isSafeInteger(seed)) throw new Error(`SEED must be an integer, got ${fromEnv}`);
    return seed;
  }
  return Math.floor(Math.random() * 2 ** 31);
}
