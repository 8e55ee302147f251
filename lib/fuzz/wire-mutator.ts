/**
 * Byte-level mutations of an encoded protobuf message, below what any generator can express:
 * flipped bits, truncation, zeroed or random ranges, appended fields with random numbers and wire
 * types (a field of the wrong type, an unknown field, a length prefix past the end), or garbage.
 */
import type { FuzzRandom } from './fuzz-random.js';

function varint(value: number): Buffer {
  const bytes: number[] = [];
  let rest = value;
  while (rest > 0x7f) {
    bytes.push((rest & 0x7f) | 0x80);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

/** A random field key and value, possibly of the wrong wire type or with a lying length. */
function randomField(random: FuzzRandom): Buffer {
  const fieldNumber = random.chance(0.7) ? random.int(1, 20) : random.pick([536870911, 19000, 0]);
  const wireType = random.pick([0, 1, 2, 5, 3, 4, 6, 7]);
  const key = varint(fieldNumber * 8 + wireType);
  switch (wireType) {
    case 0:
      return Buffer.concat([key, varint(random.pick([0, 1, 127, 2 ** 31, 2 ** 49])), ...(random.chance(0.2) ? [Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])] : [])]);
    case 1:
      return Buffer.concat([key, random.bytes(8).subarray(0, 8)]);
    case 2: {
      const body = random.bytes(48);
      const declared = random.chance(0.8) ? body.length : random.pick([body.length + 1, 2 ** 28, 2 ** 31 - 1]);
      return Buffer.concat([key, varint(declared), body]);
    }
    case 5:
      return Buffer.concat([key, Buffer.from([1, 2, 3, 4])]);
    default:
      return Buffer.concat([key, random.bytes(8)]);
  }
}

/** Returns a mutated copy of `encoded` (one to three mutations). */
export function mutateBytes(encoded: Buffer, random: FuzzRandom): Buffer {
  let bytes: Buffer = Buffer.from(encoded);
  for (let n = random.int(1, 3); n > 0; n -= 1) {
    switch (random.int(0, 6)) {
      case 0:
        if (bytes.length > 0) {
          const at = random.int(0, bytes.length - 1);
          bytes[at] ^= 1 << random.int(0, 7);
        }
        break;
      case 1:
        bytes = bytes.subarray(0, random.int(0, bytes.length));
        break;
      case 2:
        if (bytes.length > 0) {
          const start = random.int(0, bytes.length - 1);
          bytes.fill(random.chance(0.5) ? 0 : 0xff, start, Math.min(bytes.length, start + random.int(1, 16)));
        }
        break;
      case 3:
        bytes = Buffer.concat([bytes, randomField(random)]);
        break;
      case 4:
        bytes = Buffer.concat([randomField(random), bytes]);
        break;
      case 5:
        bytes = random.bytes(256);
        break;
      default:
        if (bytes.length > 0) bytes[random.int(0, bytes.length - 1)] = random.int(0, 255);
    }
  }
  return bytes;
}
