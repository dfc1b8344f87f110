// The "automotive behaviour" data package of the README's valuation section: three dimensions (purchase intent, NEV
// acceptance, financing preference), priced for a battery maker that plans capacity (newsvendor) and a bank that
// underwrites car loans (cost-loss). The errors of every subset of dimensions are given, as a lift certificate
// measures them for up to 4 dimensions.
import type { ValuationRequest } from '../../valuation/valuation-input.ts';

const subsets = (errors: Record<string, number>) =>
  Object.entries(errors).map(([ids, e1]) => ({ dimensions: ids.split('+'), e1 }));

export function automotivePackage(overrides: Partial<ValuationRequest> = {}): ValuationRequest {
  return {
    version: 1,
    package: {
      packageId: 'automotive-behaviour',
      name: 'Automotive behaviour',
      dimensions: [
        { id: 'purchase-intent', label: 'Purchase intent', columns: ['dealer.visits_90d', 'dealer.test_drives'] },
        { id: 'nev-acceptance', label: 'NEV acceptance', columns: ['charging.sessions_90d', 'charging.home_share'] },
        { id: 'financing', label: 'Financing preference', columns: ['insurer.premium_band', 'dealer.loan_offer'] },
      ],
      coverage: { subjects: 2_170_000, description: 'active users shared by the three partners' },
      refreshCadence: 'monthly',
      consentBasis: { root: `0x${'ab'.repeat(32)}`, records: 2_170_000, subjects: 2_170_000 },
    },
    segments: [
      {
        id: 'battery-maker',
        label: 'Battery maker: monthly capacity plan per region',
        decisionsPerPeriod: 40,
        priceCap: { kind: 'triangular', min: 3_000, mode: 5_000, max: 8_000 },
        captureShare: { kind: 'beta', alpha: 4, beta: 6 },
        mapping: { name: 'newsvendor', underageCost: 120, overageCost: 40 },
        errors: {
          e0: { kind: 'normal', mean: 500, sd: 25 },
          e1: { kind: 'normal', mean: 380, sd: 30 },
          source: { kind: 'manual', enteredBy: 'valuation desk', note: 'backtest of 2025 regional demand' },
        },
        subsetErrors: subsets({
          'purchase-intent': 430,
          'nev-acceptance': 450,
          'financing': 495,
          'purchase-intent+nev-acceptance': 385,
          'purchase-intent+financing': 425,
          'nev-acceptance+financing': 445,
        }),
      },
      {
        id: 'car-loan-bank',
        label: 'Bank: car-loan underwriting',
        decisionsPerPeriod: { kind: 'uniform', min: 1_500, max: 2_500 },
        priceCap: 12,
        captureShare: 0.3,
        mapping: { name: 'cost-loss', baseRate: 0.04, falsePositiveCost: 600, falseNegativeCost: 9_000 },
        errors: {
          e0: 0.46,
          e1: { kind: 'triangular', min: 0.38, mode: 0.41, max: 0.44 },
          source: { kind: 'manual', enteredBy: 'valuation desk', note: 'normalized expected cost at the bank cut-off' },
        },
        subsetErrors: subsets({
          'purchase-intent': 0.45,
          'nev-acceptance': 0.455,
          'financing': 0.42,
          'purchase-intent+nev-acceptance': 0.445,
          'purchase-intent+financing': 0.415,
          'nev-acceptance+financing': 0.418,
        }),
      },
    ],
    horizon: { periods: 36, periodsPerYear: 12 },
    decayPerPeriod: { kind: 'uniform', min: 0.01, max: 0.03 },
    costPerPeriod: 40_000,
    discountRate: {
      riskFree: 0.025,
      premia: {
        management: 0.02,
        circulation: { kind: 'uniform', min: 0.01, max: 0.03 },
        security: 0.015,
        regulatory: 0.02,
      },
    },
    monteCarlo: { draws: 10_000, seed: 20_261_206 },
    collateral: {
      haircut: {
        reasons: [
          { reason: 'consent basis may shrink through withdrawals', share: 0.1 },
          { reason: 'no secondary market for the package', share: 0.25 },
        ],
      },
      covenant: {
        errors: [
          0.021, -0.018, 0.025, 0.012, -0.03, 0.008, 0.015, -0.022, 0.019, 0.004, -0.011, 0.027, 0.016, -0.009, 0.02,
          -0.026, 0.013, 0.006, -0.017, 0.024, 0.01, -0.014, 0.018, -0.005, 0.022, 0.011, -0.02, 0.015, 0.007, -0.012,
          0.023, -0.016, 0.009, 0.014, -0.021, 0.017,
        ],
        bound: 0.037,
      },
    },
    crossChecks: {
      cost: { collection: 900_000, storage: 150_000, processing: 300_000, compliance: 200_000, obsolescence: 0.2 },
      market: {
        comparables: [
          {
            label: 'regional mobility panel',
            price: 1_800_000,
            adjustments: [{ factor: 'coverage', multiplier: 0.9 }],
          },
          {
            label: 'auto-finance intent feed',
            price: 2_600_000,
            adjustments: [{ factor: 'recency', multiplier: 0.8 }],
          },
        ],
      },
    },
    ...overrides,
  };
}
