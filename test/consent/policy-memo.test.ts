// The Cedar answer memo is sound: memoized answers equal uncached ones, it stays bounded, and a reload
// (a newly compiled bundle) never serves answers of the old policies.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compilePolicyBundle } from '../../consent/cedar.ts';
import type { CedarRequest } from '../../consent/cedar.ts';
import { DEFAULT_POLICY_BUNDLE } from '../../consent/default-policy-bundle.ts';
import { createLruCache } from '../../consent/lru-cache.ts';

const principal = fc.oneof(
  fc.record({
    type: fc.constant('Partner'),
    id: fc.constantFrom('insurer-a', 'dealer-4s'),
    attrs: fc.record({ role: fc.constantFrom('insurer', 'dealer') }),
  }),
  fc.record({
    type: fc.constant('User'),
    id: fc.constantFrom('u1', 'u2'),
    attrs: fc.record(
      {
        role: fc.constantFrom('regional-director', 'data-steward', 'compliance-officer'),
        region: fc.constantFrom('east', 'west'),
      },
      { requiredKeys: ['role'] },
    ),
  }),
);
const request: fc.Arbitrary<CedarRequest> = fc.record({
  principal,
  action: fc.constantFrom('read', 'modify', 'join', 'aggregate', 'model', 'delete'),
  resource: fc.record({
    type: fc.constant('Dataset'),
    id: fc.constantFrom('ds1', 'ds2'),
    attrs: fc.record({
      owner: fc.constant('dealer-4s'),
      region: fc.constantFrom('east', 'west'),
      classification: fc.constantFrom('sales', 'hq-pricing', 'sensitive'),
    }),
  }),
  context: fc.record({
    purpose: fc.constant('p'),
    scene: fc.constantFrom('joint-modeling', 'compliance-review', 'reporting'),
  }),
});

describe('Cedar answer memo', () => {
  it('returns the same answers as the uncached engine, through hits and evictions', () => {
    const memoized = compilePolicyBundle(DEFAULT_POLICY_BUNDLE, { memoSize: 16 });
    const uncached = compilePolicyBundle(DEFAULT_POLICY_BUNDLE, { memoSize: 0 });
    fc.assert(
      fc.property(fc.array(request, { minLength: 1, maxLength: 30 }), (requests) => {
        for (const r of [...requests, ...requests]) expect(memoized.authorize(r)).toEqual(uncached.authorize(r));
      }),
      { numRuns: 60 },
    );
    const stats = memoized.memoStats();
    expect(stats.hits).toBeGreaterThan(0);
    expect(stats.size).toBeLessThanOrEqual(16);
    expect(uncached.memoStats()).toMatchObject({ hits: 0, size: 0 });
  });
  it('keys on attribute values, not only on ids', () => {
    const memoized = compilePolicyBundle(DEFAULT_POLICY_BUNDLE);
    const base: CedarRequest = {
      principal: { type: 'User', id: 'u1', attrs: { role: 'regional-director', region: 'east' } },
      action: 'read',
      resource: { type: 'Dataset', id: 'ds1', attrs: { owner: 'o', region: 'east', classification: 'sales' } },
      context: { purpose: 'p', scene: 's' },
    };
    expect(memoized.authorize(base).decision).toBe('allow');
    expect(
      memoized.authorize({
        ...base,
        resource: { ...base.resource, attrs: { owner: 'o', region: 'west', classification: 'sales' } },
      }).decision,
    ).toBe('deny');
    // Same content, attributes in a different order: one canonical key, so a hit.
    const before = memoized.memoStats().hits;
    memoized.authorize({
      ...base,
      principal: { ...base.principal, attrs: { region: 'east', role: 'regional-director' } },
    });
    expect(memoized.memoStats().hits).toBe(before + 1);
  });
  it('a reload with changed policies bumps the version and answers by the new policies', () => {
    const before = compilePolicyBundle(DEFAULT_POLICY_BUNDLE);
    const join: CedarRequest = {
      principal: { type: 'Partner', id: 'insurer-a', attrs: { role: 'insurer' } },
      action: 'join',
      resource: { type: 'Dataset', id: 'ds1', attrs: { owner: 'o', region: 'east', classification: 'sales' } },
      context: { purpose: 'p', scene: 'joint-modeling' },
    };
    expect(before.authorize(join).decision).toBe('allow');
    expect(before.authorize(join).decision).toBe('allow');
    const revoked =
      DEFAULT_POLICY_BUNDLE.policies +
      '\n@id("insurers-paused")\nforbid (principal is Partner, action, resource) when { principal.role == "insurer" };\n';
    const after = compilePolicyBundle({ ...DEFAULT_POLICY_BUNDLE, policies: revoked });
    expect(after.version).not.toBe(before.version);
    expect(after.authorize(join)).toEqual({ decision: 'deny', reasons: ['insurers-paused'], errors: [] });
    // The old authorizer keeps answering by its own version: it is discarded, not mutated, on reload.
    expect(before.authorize(join).decision).toBe('allow');
  });
});

describe('LRU cache', () => {
  it('evicts the least recently used entry beyond capacity', () => {
    const lru = createLruCache<number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    expect(lru.get('a')).toBe(1);
    lru.set('c', 3);
    expect(lru.get('b')).toBeUndefined();
    expect([lru.get('a'), lru.get('c'), lru.size]).toEqual([1, 3, 2]);
  });
  it('capacity 0 caches nothing and a negative capacity is refused', () => {
    const lru = createLruCache<number>(0);
    lru.set('a', 1);
    expect(lru.get('a')).toBeUndefined();
    expect(() => createLruCache(-1)).toThrow(RangeError);
  });
});
