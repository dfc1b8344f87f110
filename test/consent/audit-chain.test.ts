// The audit hash chain: entries link by SHA-256 over RFC 8785 JSON, and verification names the first broken entry.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AuditInput,
  checkedUnsealed,
  sealAuditEntry,
  UnsealedAuditEntry,
  verifyAuditChain,
  type AuditEntry,
} from '../../consent/audit.ts';
import { GENESIS_HASH, canonicalHash } from '../../consent/canonical.ts';
import { mutate, prng } from '../fixtures/json-mutations.ts';

const input = (i: number): AuditInput => ({
  kind: 'decision',
  actor: 'tok_9',
  action: 'read',
  outcome: i % 2 === 0 ? 'permit' : 'deny',
  refs: [randomUUID()],
  detail: { purpose: 'joint-modeling', reasons: [`r${i}`] },
});

function chain(n: number): AuditEntry[] {
  const out: AuditEntry[] = [];
  let prev = GENESIS_HASH;
  for (let i = 0; i < n; i++) {
    const e = sealAuditEntry(
      { ...input(i), entryId: randomUUID(), at: new Date(Date.UTC(2025, 0, 1, 0, 0, i)).toISOString() },
      prev,
      i + 1,
    );
    out.push(e);
    prev = e.hash;
  }
  return out;
}

describe('audit chain', () => {
  it('hashes the entry without its hash, starting from the genesis hash', () => {
    const [first] = chain(1);
    const { hash, ...body } = first!;
    expect(first!.prevHash).toBe(GENESIS_HASH);
    expect(hash).toBe(canonicalHash(body));
    expect(verifyAuditChain(chain(5))).toEqual({ ok: true, count: 5 });
  });

  it('names an edited entry, a removed entry and a relinked entry', () => {
    const entries = chain(5);
    const edited = entries.map((e) =>
      e.seq === 4 ? { ...e, outcome: 'permit' as const, detail: { purpose: 'marketing' } } : e,
    );
    expect(verifyAuditChain(edited)).toEqual({
      ok: false,
      seq: 4,
      entryId: entries[3]!.entryId,
      reason: 'hash-mismatch',
    });
    expect(verifyAuditChain(entries.filter((e) => e.seq !== 2))).toMatchObject({
      ok: false,
      seq: 3,
      reason: 'seq-gap',
    });
    const relinked = entries.map((e) => (e.seq === 3 ? { ...e, prevHash: entries[0]!.hash } : e));
    expect(verifyAuditChain(relinked)).toMatchObject({ ok: false, seq: 3, reason: 'broken-link' });
  });

  it('rejects oversized detail and unknown fields before sealing', () => {
    expect(AuditInput.safeParse({ ...input(0), detail: { blob: 'x'.repeat(5000) } }).success).toBe(false);
    expect(AuditInput.safeParse({ ...input(0), subjectId: 'raw' }).success).toBe(false);
    expect(() => sealAuditEntry({ ...input(0), entryId: randomUUID(), at: 'yesterday' }, GENESIS_HASH, 1)).toThrow();
  });

  it('takes only plain JSON as detail, up to 4096 characters of it', () => {
    const accepts = (detail: Record<string, unknown>) => AuditInput.safeParse({ ...input(0), detail }).success;
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    for (const bad of [
      { a: undefined },
      { a: Number.NaN },
      { a: [1, Infinity] },
      { a: () => 1 },
      { a: 1n },
      { a: new Date() },
      cycle,
      { a: { b: [Symbol('s')] } },
    ]) {
      expect(accepts(bad)).toBe(false);
    }
    expect(accepts({ a: null, b: [1, 'x', true, { c: -0.5 }], d: Object.create(null) as object })).toBe(true);
    // The limit counts the JSON text, escapes included: 4,085 characters of value plus the 11 of {"blob":""} make
    // 4,096.
    expect(accepts({ blob: 'x'.repeat(4085) })).toBe(true);
    expect(accepts({ blob: 'x'.repeat(4086) })).toBe(false);
    expect(accepts({ blob: '"'.repeat(2042) })).toBe(true);
    expect(accepts({ blob: '"'.repeat(2043) })).toBe(false);
  });

  it('detects a change to any entry at that entry (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }),
        fc.nat(),
        fc.constantFrom('actor', 'action', 'refs', 'at'),
        (n, pick, field) => {
          const entries = chain(n);
          const i = pick % n;
          const value = field === 'refs' ? [] : field === 'at' ? '2000-01-01T00:00:00.000Z' : 'changed';
          entries[i] = { ...entries[i]!, [field]: value };
          expect(verifyAuditChain(entries)).toMatchObject({ ok: false, seq: i + 1, reason: 'hash-mismatch' });
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe('checking an entry as it is sealed', () => {
  const valid = { ...input(0), entryId: randomUUID(), at: '2025-01-01T00:00:00.000Z' };
  const accepts = (candidate: unknown) => {
    try {
      checkedUnsealed(candidate as UnsealedAuditEntry);
      return true;
    } catch {
      return false;
    }
  };

  it('passes a valid entry through the compiled validator, and agrees with zod on 5,000 seeded mutations', () => {
    // The same object back: zod would have returned a copy, so the compiled path is the one taken.
    expect(checkedUnsealed(valid)).toBe(valid);
    const rand = prng(27560);
    let accepted = 0;
    for (let i = 0; i < 5_000; i++) {
      let candidate: unknown = valid;
      for (let k = 1 + Math.floor(rand() * 2); k > 0; k--) candidate = mutate(candidate, rand);
      const expected = UnsealedAuditEntry.safeParse(candidate).success;
      if (expected) accepted++;
      expect(accepts(candidate), JSON.stringify(candidate).slice(0, 200)).toBe(expected);
    }
    expect(accepted).toBeGreaterThan(100);
  });

  it('keeps the detail to plain JSON of at most 4,096 characters', () => {
    expect(accepts({ ...valid, detail: { note: 'x'.repeat(4_000) } })).toBe(true);
    expect(accepts({ ...valid, detail: { note: 'x'.repeat(4_100) } })).toBe(false);
    expect(accepts({ ...valid, detail: { at: new Date(0) } })).toBe(false);
    expect(accepts({ ...valid, detail: { n: Number.NaN } })).toBe(false);
    expect(accepts({ ...valid, detail: { missing: undefined } })).toBe(false);
  });
});
