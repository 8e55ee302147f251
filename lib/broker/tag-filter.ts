import { LedgerError } from '../common/errors.js';
import { tagHash } from '../store/tag-hash.js';

/**
 * A RocketMQ tag expression: `*` (or empty) matches everything; `a || b` matches those tags.
 * The ConsumeQueue's tag hash filters cheaply; {@link matchesTag} confirms on the message itself.
 */
export class TagFilter {
  private constructor(
    private readonly tags: ReadonlySet<string> | null,
    private readonly hashes: ReadonlySet<bigint> | null,
  ) {}

  /** Parses `expression` of filter `type` (`TAG` or empty). Throws ILLEGAL_FILTER_EXPRESSION. */
  static parse(type: string, expression: string): TagFilter {
    if (type !== '' && type !== 'TAG' && type !== 'FILTER_TYPE_UNSPECIFIED') {
      throw new LedgerError('ILLEGAL_FILTER_EXPRESSION', `filter type ${type} is not supported; use TAG`);
    }
    const text = expression.trim();
    if (text === '' || text === '*') return new TagFilter(null, null);
    if (text.length > 4096) throw new LedgerError('ILLEGAL_FILTER_EXPRESSION', 'tag expression is too long');
    const tags = text.split('||').map((tag) => tag.trim());
    if (tags.some((tag) => tag.length === 0)) throw new LedgerError('ILLEGAL_FILTER_EXPRESSION', `illegal tag expression ${JSON.stringify(text)}`);
    return new TagFilter(new Set(tags), new Set(tags.map(tagHash)));
  }

  get matchesAll(): boolean {
    return this.tags === null;
  }

  /** Cheap pre-check on a ConsumeQueue unit's tag hash. */
  matchesHash(hash: bigint): boolean {
    return this.hashes === null || this.hashes.has(hash);
  }

  /** Exact check on the message's tag. */
  matchesTag(tag: string): boolean {
    return this.tags === null || this.tags.has(tag);
  }
}
