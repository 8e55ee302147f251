/** Parsers of CLI option values (commander calls them as `(value, previous)`); a bad value is an InvalidArgumentError. */
import { InvalidArgumentError } from 'commander';
import { parseTopicMessageType } from '../lib/broker/message-types.js';

/** A positive integer CLI value; commander calls it as `(value, previous)`. */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError(`expected a positive integer, got ${value}`);
  return n;
}

/** A `true` / `false` CLI value. */
export function booleanFlag(value: string): boolean {
  if (value === 'true' || value === 'false') return value === 'true';
  throw new InvalidArgumentError(`expected true or false, got ${value}`);
}

/** `-a +message.type=FIFO` as the broker's message types; an unknown attribute is refused. */
export function parseTopicAttributes(text: string): number[] {
  if (text.trim() === '') return [];
  let types: number[] = [];
  for (const item of text.split(/[,\s]+/).filter(Boolean)) {
    const match = /^\+?message\.type=(.+)$/.exec(item);
    if (!match) throw new InvalidArgumentError(`unknown topic attribute "${item}" (supported: +message.type=NORMAL|FIFO|DELAY|TRANSACTION|MIXED)`);
    try {
      types = parseTopicMessageType(match[1]);
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message);
    }
  }
  return types;
}

/** An integer CLI value in [low, high]. */
export function intInRange(value: string, low: number, high: number): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < low || n > high) throw new InvalidArgumentError(`expected an integer from ${low} to ${high}, got ${value}`);
  return n;
}

export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`expected a non-negative integer, got ${value}`);
  return n;
}
