const FNV_OFFSET_BASIS_64 = 0xcbf29ce484222325n;
const FNV_PRIME_64 = 0x100000001b3n;
const textEncoder = new TextEncoder();

/** Tag hash stored in ConsumeQueue units for messages without a tag. */
export const NO_TAG_HASH = 0n;

/**
 * Deterministic 64-bit hash of a message tag, stored in every ConsumeQueue unit so that tag filtering
 * needs no CommitLog read. FNV-1a 64 over the tag's UTF-8 bytes (offset basis 0xcbf29ce484222325,
 * prime 0x100000001b3), as an unsigned bigint. The empty tag ("no tag") hashes to {@link NO_TAG_HASH}
 * (0); a non-empty tag whose FNV-1a value is 0 maps to 1 so that 0 keeps meaning "no tag". Part of the
 * on-disk format: never change it. Equal hashes do not prove equal tags (filters re-check the tag).
 */
export function tagHash(tag: string): bigint {
  if (tag.length === 0) return NO_TAG_HASH;
  let hash = FNV_OFFSET_BASIS_64;
  for (const byte of textEncoder.encode(tag)) {
    hash = BigInt.asUintN(64, (hash ^ BigInt(byte)) * FNV_PRIME_64);
  }
  return hash === 0n ? 1n : hash;
}
