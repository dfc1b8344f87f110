// A complete listing of the "automotive behaviour" package, for the exchange's tests.
import type { ListingContent } from '../../exchange/listing.ts';

type Input = Omit<ListingContent, 'coverage'> & {
  coverage: Omit<ListingContent['coverage'], 'regions'> & { regions?: string[] };
};

const quality = (score: number, method: string) => ({ score, method });

export function automotiveListing(overrides: Partial<Input> = {}): Input {
  return {
    packageId: 'automotive-behaviour',
    title: 'Automotive behaviour: purchase intent, NEV acceptance, financing preference',
    summary: 'Monthly behavioural signals of active car owners, for demand and credit forecasts, by compute-to-data.',
    description: {
      businessNeeds: ['Regional charging demand planning', 'Car-loan underwriting'],
      usageExamples: ['Train a demand model per region on the package and receive its weights'],
    },
    dimensions: [
      { id: 'purchase-intent', label: 'Purchase intent' },
      { id: 'nev-acceptance', label: 'NEV acceptance' },
      { id: 'financing', label: 'Financing preference' },
    ],
    dataDictionary: [
      { name: 'visits_90d', type: 'integer', description: 'Showroom visits in 90 days', dimension: 'purchase-intent' },
      { name: 'home_share', type: 'number', description: 'Share of charging at home', dimension: 'nev-acceptance' },
      { name: 'loan_offer', type: 'category', description: 'Loan offer accepted', dimension: 'financing' },
    ],
    preview: {
      kind: 'aggregates',
      k: 50,
      rows: [
        { region: 'north', subjects: 812_000, mean_visits_90d: 1.4 },
        { region: 'south', subjects: 640_000, mean_visits_90d: 1.1 },
      ],
    },
    coverage: { subjects: 2_170_000, records: 2_170_000, regions: ['north', 'south', 'east'] },
    updateFrequency: 'monthly',
    provenance: { sources: ['dealer CRM', 'charging sessions'], legalBasis: 'consent' },
    consentBasis: {
      root: `0x${'ab'.repeat(32)}`,
      records: 2_170_000,
      subjects: 2_170_000,
      purposes: ['demand-forecast', 'credit-risk'],
    },
    quality: {
      accuracy: quality(0.97, 'sampled 1,000 records against the source systems, 2026-11'),
      consistency: quality(0.99, 'cross-field rules on every record'),
      completeness: quality(0.93, 'non-null share over every field'),
      conformity: quality(0.98, 'types and ranges of the data dictionary'),
      timeliness: quality(0.9, 'share of records refreshed within the month'),
      accessibility: quality(0.95, 'compute-to-data jobs completed within their deadline'),
    },
    delivery: { modes: ['compute-to-data'], algorithms: ['segment-aggregates', 'train-model', 'lift-certificate'] },
    licence: {
      exclusivity: 'non-exclusive',
      territory: ['CN'],
      permittedUses: ['demand forecasting', 'credit decisions'],
      endDate: '2027-12-31',
    },
    indicativePrice: { amount: 1_200_000, currency: 'CNY' },
    ...overrides,
  };
}
