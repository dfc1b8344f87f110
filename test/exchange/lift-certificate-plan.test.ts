// The pure parts of a lift certificate: which subsets it measures, which job measures each, the output check, and
// the cost-loss metric, which must be the valuation's normalized expected cost.
import { describe, expect, it } from 'vitest';
import {
  costLossErrorMetric,
  LiftCertificateRequest,
  planSubsets,
  subsetJobRequest,
} from '../../exchange/lift-certificate-request.ts';
import { refusedOutput } from '../../exchange/output-check.ts';
import { errorFunction, weightedErrorRate } from '../../mpc/vfl/error-metrics.ts';
import { normalizedExpectedCost } from '../../valuation/money-mappings.ts';

const dims = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    id: `d${i}`,
    party: i % 2 === 0 ? 'insurer' : 'charging',
    columns: [`c${i}`],
  }));
const request = (n: number, extra: Record<string, unknown> = {}) =>
  LiftCertificateRequest.parse({
    packageId: 'pkg-1',
    consentBasis: { root: `0x${'00'.repeat(32)}`, records: 1, subjects: 1 },
    dimensions: dims(n),
    psiJob: '00000000-0000-4000-8000-000000000001',
    target: { label: 'y', features: ['x0'], model: 'logistic' },
    ...extra,
  });

describe('the plan of a lift certificate', () => {
  it('measures the whole package first, then every other subset up to 4 dimensions, and only it above', () => {
    expect(planSubsets(request(2)).map((s) => s.dimensions)).toEqual([['d0', 'd1'], ['d0'], ['d1']]);
    expect(planSubsets(request(4))).toHaveLength(15);
    expect(planSubsets(request(5)).map((s) => s.dimensions)).toEqual([['d0', 'd1', 'd2', 'd3', 'd4']]);
    const given = request(5, {
      subsets: [
        ['d4', 'd1'],
        ['d1', 'd4'],
        ['d0', 'd1', 'd2', 'd3', 'd4'],
      ],
    });
    expect(planSubsets(given).map((s) => s.dimensions)).toEqual([
      ['d0', 'd1', 'd2', 'd3', 'd4'],
      ['d1', 'd4'],
    ]);
  });

  it('gives each job the guest with its label and features, and only the hosts that hold a dimension of it', () => {
    const psi = {
      purpose: 'joint-modeling',
      parties: [
        { id: 'dealer', role: 'guest' as const, view: 'customers', idColumn: 'vin', columns: [] },
        { id: 'insurer', role: 'host' as const, view: 'policies', idColumn: 'vin', columns: [] },
        { id: 'charging', role: 'host' as const, view: 'sessions', idColumn: 'vin', columns: [] },
      ],
    };
    const job = subsetJobRequest(request(3), psi, { dimensions: ['d0', 'd2'] });
    expect(job.parties).toEqual([
      { id: 'dealer', role: 'guest', view: 'customers', idColumn: 'vin', columns: ['y', 'x0'] },
      { id: 'insurer', role: 'host', view: 'policies', idColumn: 'vin', columns: ['c0', 'c2'] },
    ]);
    expect(job).toMatchObject({ protocol: 'vfl-logistic', purpose: 'joint-modeling', receivers: ['dealer'] });
  });

  it('refuses a request whose parts do not fit together', () => {
    const bad = (extra: Record<string, unknown>) => () => request(2, extra);
    expect(bad({ dimensions: [...dims(2), { id: 'd0', party: 'x', columns: ['z'] }] })).toThrow(/distinct/);
    expect(bad({ dimensions: [...dims(2), { id: 'd9', party: 'insurer', columns: ['c0'] }] })).toThrow(/one dimension/);
    expect(bad({ subsets: [['d7']] })).toThrow(/unknown dimensions d7/);
    expect(bad({ target: { label: 'y', features: ['y'], model: 'logistic' } })).toThrow(/not a feature/);
    expect(bad({ target: { label: 'y', model: 'linear', errorMetric: { name: 'logLoss' } } })).toThrow(/logistic/);
  });
});

describe('the output check', () => {
  it('allows what the kind lists, refuses rows, scores and features with their rule, and unknown names', () => {
    const allowed = ['error-metrics', 'row-counts'] as const;
    expect(refusedOutput(['error-metrics', 'row-counts'], allowed)).toBeNull();
    for (const output of ['rows', 'scores', 'features'])
      expect(refusedOutput(['error-metrics', output], allowed)).toMatchObject({
        output,
        rule: expect.stringContaining('never'),
      });
    expect(refusedOutput(['model-weights'], allowed)?.rule).toContain('not an output of this kind');
    expect(refusedOutput(['everything'], allowed)?.rule).toContain('not a known output');
  });
});

describe('the cost-loss metric', () => {
  it("is the valuation's normalized expected cost of the same decisions", () => {
    const mapping = { name: 'cost-loss' as const, baseRate: 0.3, falsePositiveCost: 500, falseNegativeCost: 4_000 };
    const metric = costLossErrorMetric(mapping);
    // Logits around the threshold (p = 1/9): 6 positives, 4 negatives; 2 missed positives, 1 false alarm.
    const logit = (p: number) => Math.log(p / (1 - p));
    const pairs = [
      ...[0.5, 0.4, 0.3, 0.2, 0.05, 0.02].map((p) => ({ score: logit(p), label: 1 })),
      ...[0.6, 0.1, 0.05, 0.01].map((p) => ({ score: logit(p), label: 0 })),
    ];
    const expected = normalizedExpectedCost(mapping, { fnr: 2 / 6, fpr: 1 / 4 });
    expect(errorFunction(metric)(pairs)).toBeCloseTo(expected, 12);
    expect(weightedErrorRate([], 0.5, 0.5)).toBe(0);
    expect(() => costLossErrorMetric({ ...mapping, falsePositiveCost: 0 })).toThrow(/both costs/);
  });
});
