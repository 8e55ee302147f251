/**
 * Builds requests for any fuzzed method from its protobuf type: valid-shaped ones (plausible
 * topics, groups, ids, small numbers, one member per oneof) and mutated ones (fields dropped or
 * set to edge integers, odd strings, random bytes, values of the wrong JS type), then encodes them.
 * Byte-level mutations of an encoded request (bit flips, truncation, random tags, garbage) are in
 * lib/fuzz/wire-mutator.ts. Everything comes from the caller's {@link FuzzRandom}.
 */
import protobuf from 'protobufjs';
import type { FuzzRandom } from './fuzz-random.js';

/** Names a generated request may use. Never the names the checker's data lives under. */
export interface NamePools {
  topics: readonly string[];
  groups: readonly string[];
  /** Addresses for fields that name a host:port. */
  addresses: readonly string[];
}

const MAX_DEPTH = 4;

/** A value for a string field, chosen by its name where the name says what it holds. */
function stringFor(field: protobuf.Field, parentName: string, random: FuzzRandom, pools: NamePools): string {
  if (random.chance(0.1)) return random.oddText();
  const name = field.name.toLowerCase();
  const owner = parentName.toLowerCase();
  if (name === 'topic' || (name === 'name' && owner.includes('topic'))) return random.pick(pools.topics);
  if (name.includes('group') && !name.includes('message')) return random.pick(pools.groups);
  if (name === 'name') return random.pick([...pools.topics, ...pools.groups]);
  if (name.includes('address') || name === 'host' || name === 'endpoint') return random.pick(pools.addresses);
  if (name.includes('clientid')) return `fuzz-client-${random.int(0, 9)}`;
  if (name.includes('messageid') || name === 'id') return random.bytes(16).toString('hex').toUpperCase();
  if (name.includes('receipthandle')) return random.chance(0.5) ? random.bytes(40).toString('base64') : random.bytes(24).toString('hex');
  if (name === 'tag' || name === 'expression' || name.includes('filter')) return random.pick(['*', 'a', 'a || b', '', 'TAGS is not null']);
  if (name.includes('transactionid')) return random.bytes(12).toString('hex');
  return `f${random.int(0, 99)}`;
}

/** A plausible number for a numeric field (`long` fields accept decimal strings too). */
function numberFor(field: protobuf.Field, random: FuzzRandom): number | string {
  const name = field.name.toLowerCase();
  if (random.chance(0.1)) return field.long && random.chance(0.5) ? random.edgeLongText() : random.edgeInteger();
  if (name.includes('queueid')) return random.int(-1, 8);
  if (name.includes('timestamp') || name.endsWith('ms') && name.includes('time')) return Date.now() + random.int(-60_000, 60_000);
  if (name.includes('seconds')) return random.int(0, 30);
  if (name.includes('nanos')) return random.int(0, 999_999_999);
  if (name.includes('offset') || name.includes('index') || name === 'term' || name === 'commit') return random.int(0, 64);
  if (name.includes('timeout') || name.includes('invisible') || name.includes('duration')) return random.int(0, 20_000);
  return random.int(0, 16);
}

function scalarFor(field: protobuf.Field, parentName: string, random: FuzzRandom, pools: NamePools): unknown {
  if (field.resolvedType instanceof protobuf.Enum) {
    const values = Object.keys(field.resolvedType.values);
    return random.chance(0.9) ? random.pick(values) : random.edgeInteger();
  }
  if (field.resolvedType instanceof protobuf.Type) return generateMessage(field.resolvedType, random, pools, 1);
  switch (field.type) {
    case 'string':
      return stringFor(field, parentName, random, pools);
    case 'bytes':
      return random.chance(0.7) ? Buffer.from(`fuzz-body-${random.int(0, 1e6)}`) : random.bytes(256);
    case 'bool':
      return random.chance(0.5);
    case 'double':
    case 'float':
      return random.chance(0.9) ? random.float() * 100 : random.pick([NaN, Infinity, -Infinity, -0, 1e308]);
    default:
      return numberFor(field, random);
  }
}

function valueFor(field: protobuf.Field, parentName: string, random: FuzzRandom, pools: NamePools, depth: number): unknown {
  if (field.resolvedType instanceof protobuf.Type) {
    if (depth >= MAX_DEPTH) return {};
    return generateMessage(field.resolvedType, random, pools, depth + 1);
  }
  return scalarFor(field, parentName, random, pools);
}

/**
 * A valid-shaped plain object for `type` (the form protobufjs' `fromObject` takes): most fields
 * set, one member of each oneof, zero to three repeated values and map entries.
 */
export function generateMessage(type: protobuf.Type, random: FuzzRandom, pools: NamePools, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const chosenOneofMembers = new Set<string>();
  for (const oneof of type.oneofsArray) {
    // Synthetic oneofs of proto3 `optional` fields hold one field: set it half the time.
    if (oneof.fieldsArray.length === 1 && oneof.name.startsWith('_')) {
      if (random.chance(0.5)) chosenOneofMembers.add(oneof.fieldsArray[0].name);
    } else chosenOneofMembers.add(random.pick(oneof.fieldsArray).name);
  }
  for (const field of type.fieldsArray) {
    if (field.partOf && !chosenOneofMembers.has(field.name)) continue;
    if (!field.partOf && random.chance(0.1)) continue;
    if (field.map) {
      const entries: Record<string, unknown> = {};
      for (let i = random.int(0, 3); i > 0; i -= 1) entries[`k${random.int(0, 99)}`] = scalarFor(field, type.name, random, pools);
      out[field.name] = entries;
    } else if (field.repeated) {
      out[field.name] = Array.from({ length: random.int(0, 3) }, () => valueFor(field, type.name, random, pools, depth));
    } else {
      out[field.name] = valueFor(field, type.name, random, pools, depth);
    }
  }
  return out;
}

/** A wrong-typed or extreme value for any field. */
function hostileValue(random: FuzzRandom): unknown {
  switch (random.int(0, 8)) {
    case 0:
      return random.oddText();
    case 1:
      return random.edgeInteger();
    case 2:
      return random.edgeLongText();
    case 3:
      return random.bytes(512);
    case 4:
      return null;
    case 5:
      return random.chance(0.5);
    case 6:
      return [random.oddText(), random.edgeInteger()];
    case 7:
      return { [random.oddText()]: random.oddText() };
    default:
      return Buffer.alloc(random.pick([0, 1, 4 * 1024 * 1024 + 1]), 0x61);
  }
}

/**
 * Mutates a generated object in place, at random depth: drops fields, sets them to hostile
 * values, duplicates repeated entries. Returns it.
 */
export function mutateMessage(message: Record<string, unknown>, random: FuzzRandom): Record<string, unknown> {
  const keys = Object.keys(message);
  for (let n = random.int(1, 3); n > 0 && keys.length > 0; n -= 1) {
    const key = random.pick(keys);
    const value = message[key];
    const roll = random.int(0, 9);
    if (roll <= 1) delete message[key];
    else if (roll <= 3 && value !== null && typeof value === 'object' && !Buffer.isBuffer(value) && !Array.isArray(value)) mutateMessage(value as Record<string, unknown>, random);
    else if (roll === 4 && Array.isArray(value)) message[key] = Array.from({ length: random.pick([0, 1, 64, 1000]) }, () => (value as unknown[])[0] ?? hostileValue(random));
    else message[key] = hostileValue(random);
  }
  return message;
}

/**
 * Encodes `message` as `type`. protobufjs coerces what it can; a value it cannot take (a hostile
 * mutation) throws, and then the caller falls back to a fresh valid-shaped request.
 */
export function encodeMessage(type: protobuf.Type, message: Record<string, unknown>): Buffer {
  return Buffer.from(type.encode(type.fromObject(message)).finish());
}
