// A data package's consent basis (docs/exchange.md, "Consent basis"): the consent records in force of the package's
// subjects that consent to one of its purposes, summed up as a Merkle root and counts. Each record enters the tree by
// the hash of the signed event that put it in force (its grant or its renewal), so a subject holding that event's
// receipt can be shown to be in the basis with an inclusion proof (docs/merkle.md), and nothing else about them is
// in the root. Withdrawals and expiries take records out, and the basis shrinks. Pure.
import { z } from 'zod';
import { buildMerkleTree } from '../consent/merkle.ts';
import type { CoveringRecord } from '../consent/consent-store.ts';
import { ZERO_HASH } from './package-anchor.ts';

export const ConsentBasisSummary = z.strictObject({
  /** 0x-hex Merkle root over the records' event hashes, in record-id order; zero for an empty basis. */
  root: z.string().regex(/^0x[0-9a-f]{64}$/),
  records: z.int().min(0),
  subjects: z.int().min(0),
});
export type ConsentBasisSummary = z.infer<typeof ConsentBasisSummary>;

/** The basis of `records` (any order; a record counted once). */
export function consentBasisOf(records: readonly CoveringRecord[]): ConsentBasisSummary {
  const byId = new Map(records.map((r) => [r.recordId, r]));
  if (byId.size === 0) return { root: ZERO_HASH, records: 0, subjects: 0 };
  const ordered = [...byId.values()].sort((a, b) => (a.recordId < b.recordId ? -1 : a.recordId > b.recordId ? 1 : 0));
  const tree = buildMerkleTree(ordered.map((r) => Buffer.from(r.eventHash, 'hex')));
  return {
    root: `0x${Buffer.from(tree.root).toString('hex')}`,
    records: ordered.length,
    subjects: new Set(ordered.map((r) => r.subject)).size,
  };
}

/**
 * The share of the listed basis's subjects that are gone now, in [0, 1]: 0 when it held or grew, and 0 for a listed
 * basis of no subjects (nothing to lose).
 */
export function basisShrink(listed: Pick<ConsentBasisSummary, 'subjects'>, now: Pick<ConsentBasisSummary, 'subjects'>) {
  if (listed.subjects === 0) return 0;
  return Math.max(0, (listed.subjects - now.subjects) / listed.subjects);
}
