// A package's consent basis (exchange/consent-basis.ts): a Merkle root over the records' event hashes in record-id
// order, the same whatever order the records come in; each subject in it provable by an inclusion proof; and the
// share by which it shrank. The revaluation that follows a shrink stretches each quantity by the share that remains.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildMerkleTree, verifyMerkleProof } from '../../consent/merkle.ts';
import { basisShrink, consentBasisOf } from '../../exchange/consent-basis.ts';
import { revaluedInput, scaleQuantity } from '../../exchange/revaluation.ts';
import { medianOf } from '../../valuation/distributions.ts';
import { ValuationInput } from '../../valuation/valuation-input.ts';
import { automotivePackage } from '../valuation/automotive-package.ts';

const record = (i: number, subject = `sp_subject${String(i).padStart(13, '0')}`) => ({
  recordId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
  subject,
  eventHash: createHash('sha256').update(`event ${i}`).digest('hex'),
});

describe('the consent basis', () => {
  const records = Array.from({ length: 9 }, (_, i) => record(i));

  it('is one root whatever the order, each record once; a subject with two records counts once', () => {
    const basis = consentBasisOf(records);
    expect(consentBasisOf([...records].reverse())).toEqual(basis);
    expect(consentBasisOf([...records, ...records])).toEqual(basis);
    expect(basis).toMatchObject({ records: 9, subjects: 9 });
    expect(consentBasisOf([...records, record(9, records[0]!.subject)])).toMatchObject({ records: 10, subjects: 9 });
    // Any change to a record's event is a change of root.
    expect(consentBasisOf([{ ...records[0]!, eventHash: 'ff'.repeat(32) }, ...records.slice(1)]).root).not.toBe(
      basis.root,
    );
  });

  it("proves a subject's record is in it from the record's event hash alone", () => {
    const basis = consentBasisOf(records);
    const tree = buildMerkleTree(records.map((r) => Buffer.from(r.eventHash, 'hex')));
    const root = Buffer.from(basis.root.slice(2), 'hex');
    expect(Buffer.from(tree.root).equals(root)).toBe(true);
    expect(verifyMerkleProof(root, Buffer.from(records[4]!.eventHash, 'hex'), tree.proof(4))).toBe(true);
  });

  it('is the zero root when empty, and shrinks by the share of the listed subjects gone', () => {
    expect(consentBasisOf([])).toEqual({ root: `0x${'0'.repeat(64)}`, records: 0, subjects: 0 });
    expect(basisShrink({ subjects: 200 }, { subjects: 190 })).toBeCloseTo(0.05, 12);
    expect(basisShrink({ subjects: 200 }, { subjects: 210 })).toBe(0);
    expect(basisShrink({ subjects: 0 }, { subjects: 0 })).toBe(0);
  });
});

describe('the revaluation after a shrink', () => {
  it('stretches every kind of quantity by the factor, median included', () => {
    const quantities = [
      7,
      { kind: 'fixed', value: 7 },
      { kind: 'uniform', min: 2, max: 6 },
      { kind: 'triangular', min: 1, mode: 2, max: 5 },
      { kind: 'normal', mean: 10, sd: 2 },
      { kind: 'lognormal', mu: 1, sigma: 0.5 },
      { kind: 'beta', alpha: 2, beta: 3, min: 0, max: 10 },
    ] as const;
    for (const q of quantities) expect(medianOf(scaleQuantity(q, 0.8))).toBeCloseTo(0.8 * medianOf(q), 9);
  });

  it("carries the new basis and coverage, and scales each segment's decisions", () => {
    const input = ValuationInput.parse(automotivePackage());
    const basis = { root: `0x${'cd'.repeat(32)}`, records: 1_900_000, subjects: 1_900_000 };
    const revalued = revaluedInput(input, basis, 0.5);
    expect(revalued.package.consentBasis).toEqual(basis);
    expect(revalued.package.coverage.subjects).toBe(1_900_000);
    expect(revalued.segments[0]!.decisionsPerPeriod).toBe(20);
    expect(medianOf(revalued.segments[1]!.decisionsPerPeriod)).toBeCloseTo(1_000, 9);
    expect(revalued.segments[0]!.errors).toEqual(input.segments[0]!.errors);
  });
});
