// The demo's second half (docs/demo.md, "What runs", steps 5 to 8): the dealer's automotive behaviour package is
// measured by the charging network's lift certificate and valued on it; listed, ordered by a battery maker and
// delivered by compute-to-data; a customer withdraws, which flags and revalues the listing and leaves them out of the
// next delivery; and a compliance officer verifies that customer's whole chain against the chain, offline.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runVerifyCli } from '../../contracts/verify-cli.ts';
import { segmentErrorsFromCertificate, type LiftCertificateBody } from '../../exchange/lift-certificate.ts';
import type { DemoSite } from './demo-setup.ts';
import { DEMO_VIEWS, EXCHANGE_PURPOSE, VALUATION_PURPOSE } from './demo-setup.ts';
import type { DemoIo, Sites } from './demo-story.ts';
import { runJob } from './demo-story.ts';
import { REGIONS, type Population } from './population.ts';

export const PACKAGE_ID = 'automotive-behaviour';
export const PACKAGE_FIELDS = ['region_code', 'purchase_intent', 'nev_acceptance', 'financing_preference'];
const DIMENSIONS = [
  { id: 'purchase-intent', label: 'Purchase intent', column: 'purchase_intent' },
  { id: 'nev-acceptance', label: 'NEV acceptance', column: 'nev_acceptance' },
  { id: 'financing', label: 'Financing preference', column: 'financing_preference' },
];
const POLL_MS = 250;

/** Polls `read` until `isDone` holds, or fails after `ms` naming `what`. */
async function until<T>(what: string, ms: number, read: () => Promise<T>, isDone: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (isDone(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not done within ${ms} ms`);
    await sleep(POLL_MS);
  }
}

type Basis = { root: string; records: number; subjects: number };

export type CertificateFigures = {
  certificateId: string;
  statementHash: string;
  baseline: number;
  full: number;
  jobs: number;
};

/** Step 5: the dealer's package, the charging network's certificate of it, and the dealer's valuation citing it. */
export async function certifyAndValue(
  sites: Sites,
  training: { epochs: number; bootstrap: number },
  io: DemoIo,
): Promise<{
  basis: Basis;
  certificate: CertificateFigures;
  valuationId: string;
  npv: { p5: number; p50: number; p95: number };
}> {
  const dealer = sites['dealer-4s'];
  const charging = sites['charging-net'];
  await dealer.api('PUT', `/v1/packages/${PACKAGE_ID}/source`, dealer.tokens.steward, {
    view: DEMO_VIEWS['dealer-4s'].view,
    fields: PACKAGE_FIELDS,
    // Any withdrawal flags the listing: the demo shows one.
    shrinkThreshold: 0,
  });
  const computed = await dealer.api<Basis>(
    'GET',
    `/v1/packages/${PACKAGE_ID}/consent-basis?purpose=${EXCHANGE_PURPOSE}`,
    dealer.tokens.steward,
  );
  const basis: Basis = { root: computed.root, records: computed.records, subjects: computed.subjects };
  io.line(
    `  the package: ${DIMENSIONS.map((d) => d.label).join(', ')}; consent basis ${basis.subjects.toLocaleString('en-US')} customers, root ${basis.root.slice(0, 18)}…`,
  );

  // The charging network aligns its users with the dealer's customers, then measures what the package adds to its
  // forecast of each user's monthly charging energy: every subset of the three dimensions, against its own columns.
  const psi = await runJob(
    charging,
    {
      protocol: 'psi',
      purpose: VALUATION_PURPOSE,
      params: { mode: 'intersection' },
      receivers: ['charging-net', 'dealer-4s'],
      parties: [
        { id: 'charging-net', role: 'guest', view: DEMO_VIEWS['charging-net'].view, idColumn: 'phone' },
        { id: 'dealer-4s', role: 'host', view: DEMO_VIEWS['dealer-4s'].view, idColumn: 'phone' },
      ],
      deadlines: { acceptMs: 30_000, stepMs: 300_000 },
    },
    io,
    600_000,
  );
  const requested = await charging.api<{ certificateId: string }>(
    'POST',
    '/v1/lift-certificates',
    charging.tokens.steward,
    {
      packageId: PACKAGE_ID,
      consentBasis: basis,
      dimensions: DIMENSIONS.map((d) => ({ id: d.id, party: 'dealer-4s', columns: [d.column] })),
      psiJob: psi.id,
      purpose: VALUATION_PURPOSE,
      target: {
        label: 'charging_kwh_month',
        features: ['sessions_month', 'home_share'],
        model: 'linear',
        errorMetric: { name: 'rmse' },
      },
      training: { epochs: training.epochs, batchSize: 256, learningRate: 0.2, bootstrap: training.bootstrap },
    },
  );
  const issued = await until(
    'the lift certificate',
    1_200_000,
    () =>
      charging.api<{ status: string; jobs: { status: string | null }[]; failure: { message: string } | null }>(
        'GET',
        `/v1/lift-certificates/${requested.certificateId}`,
        charging.tokens.steward,
      ),
    (c) => {
      const done = c.jobs.filter((j) => j.status === 'completed').length;
      io.progress(`certificate jobs ${done}/${c.jobs.length}  ${c.status}`);
      return c.status !== 'running';
    },
  );
  if (issued.status !== 'issued') throw new Error(`the lift certificate failed: ${issued.failure?.message ?? ''}`);
  // The proof is final once the audit entry recording the certificate is anchored.
  const proof = await until(
    'the certificate proof',
    60_000,
    () =>
      charging.api<{ statement: { body: LiftCertificateBody }; receipt: { status: string } }>(
        'GET',
        `/v1/lift-certificates/${requested.certificateId}/proof`,
        charging.tokens.officer,
      ),
    (p) => p.receipt.status === 'anchored',
  );
  const body = proof.statement.body;
  const { statementHash } = await charging.api<{ statementHash: string }>(
    'GET',
    `/v1/lift-certificates/${requested.certificateId}`,
    charging.tokens.steward,
  );
  const [full] = body.measurements;
  const certificate: CertificateFigures = {
    certificateId: requested.certificateId,
    statementHash,
    baseline: body.baseline.value,
    full: full?.error.value ?? Number.NaN,
    jobs: body.measurements.length,
  };
  io.line(
    `  charging-net's lift certificate ${certificate.certificateId.slice(0, 8)}…: ${certificate.jobs} jobs; kWh forecast RMSE ${certificate.baseline.toFixed(1)} without the package, ${certificate.full.toFixed(1)} with it`,
  );

  // The dealer values the package for battery makers planning charging capacity, citing the certificate with its
  // proof: the dealer's gateway verifies the proof against the shared chain before it accepts the errors.
  const errors = segmentErrorsFromCertificate(body, statementHash);
  const valuation = await dealer.api<{
    valuationId: string;
    report: { monteCarlo: { npv: { p5: number; p50: number; p95: number } } };
  }>('POST', '/v1/valuations', dealer.tokens.steward, {
    version: 1,
    package: {
      packageId: PACKAGE_ID,
      name: 'Automotive behaviour',
      dimensions: DIMENSIONS.map((d) => ({ id: d.id, label: d.label, columns: [`customers.${d.column}`] })),
      coverage: { subjects: basis.subjects },
      refreshCadence: 'monthly',
      consentBasis: basis,
    },
    segments: [
      {
        id: 'battery-maker',
        label: 'Battery maker: monthly charging capacity per customer cohort',
        decisionsPerPeriod: basis.subjects,
        priceCap: { kind: 'triangular', min: 5, mode: 10, max: 20 },
        captureShare: { kind: 'beta', alpha: 4, beta: 6 },
        // Per kWh of monthly charging capacity: short costs lost sessions, surplus idle chargers.
        mapping: { name: 'newsvendor', underageCost: 3, overageCost: 1 },
        errors: { ...errors.errors, source: { ...errors.errors.source, proof } },
        subsetErrors: errors.subsetErrors,
      },
    ],
    horizon: { periods: 24, periodsPerYear: 12 },
    decayPerPeriod: { kind: 'uniform', min: 0.01, max: 0.03 },
    costPerPeriod: 800,
    discountRate: {
      riskFree: 0.025,
      premia: { management: 0.02, circulation: 0.02, security: 0.015, regulatory: 0.02 },
    },
    monteCarlo: { draws: 5_000, seed: 2026 },
  });
  const npv = valuation.report.monteCarlo.npv;
  const money = (x: number) => `${Math.round(x).toLocaleString('en-US')} CNY`;
  io.line(
    `  the dealer's valuation ${valuation.valuationId.slice(0, 8)}…, citing the certificate with its proof: NPV P50 ${money(npv.p50)} (P5 ${money(npv.p5)}, P95 ${money(npv.p95)})`,
  );
  return { basis, certificate, valuationId: valuation.valuationId, npv };
}

/** A listing of the package as the dealer writes it: its preview is aggregates of its own rows over groups of ≥ 50. */
function listingContent(population: Population, basis: Basis) {
  const consenting = population.dealer.filter((r) => population.exchangeConsent.has(r.id));
  const preview = REGIONS.map((region) => {
    const rows = consenting.filter((r) => r.region_code === region);
    const mean = rows.reduce((a, r) => a + r.nev_acceptance, 0) / Math.max(rows.length, 1);
    return { region, subjects: rows.length, mean_nev_acceptance: Math.round(mean * 1000) / 1000 };
  }).filter((r) => r.subjects >= 50);
  const quality = (score: number, method: string) => ({ score, method });
  return {
    packageId: PACKAGE_ID,
    title: 'Automotive behaviour: purchase intent, NEV acceptance, financing preference',
    summary: "Behavioural signals of the dealer's consenting customers, by compute-to-data: usable, never visible.",
    description: {
      businessNeeds: ['Regional charging demand planning'],
      usageExamples: [
        'Aggregate NEV acceptance by region',
        'Train a demand model on the package and receive its weights',
      ],
    },
    dimensions: DIMENSIONS.map((d) => ({ id: d.id, label: d.label })),
    dataDictionary: [
      { name: 'region_code', type: 'category', description: 'Customer region' },
      {
        name: 'purchase_intent',
        type: 'integer',
        description: 'Intends to buy within a year (0/1)',
        dimension: 'purchase-intent',
      },
      {
        name: 'nev_acceptance',
        type: 'number',
        description: 'Acceptance of new-energy vehicles, 0 to 1',
        dimension: 'nev-acceptance',
      },
      {
        name: 'financing_preference',
        type: 'number',
        description: 'Preference for financing, 0 to 1',
        dimension: 'financing',
      },
    ],
    preview: {
      kind: 'aggregates',
      k: 50,
      rows: preview.length > 0 ? preview : [{ region: 'all', subjects: consenting.length }],
    },
    coverage: { subjects: basis.subjects, records: basis.records, regions: [...REGIONS] },
    updateFrequency: 'monthly',
    provenance: { sources: ['dealer CRM', 'showroom survey'], legalBasis: 'consent' },
    consentBasis: { ...basis, purposes: [EXCHANGE_PURPOSE] },
    quality: {
      accuracy: quality(0.97, 'synthetic: exact by construction'),
      consistency: quality(0.99, 'cross-field rules on every record'),
      completeness: quality(1, 'no field is missing'),
      conformity: quality(1, 'types and ranges of the data dictionary'),
      timeliness: quality(0.9, 'refreshed monthly'),
      accessibility: quality(0.95, 'compute-to-data jobs completed within their deadline'),
    },
    delivery: {
      modes: ['compute-to-data'],
      algorithms: ['segment-aggregates', 'train-model', 'score-own-subjects', 'lift-certificate'],
    },
    licence: {
      exclusivity: 'non-exclusive',
      territory: ['CN'],
      permittedUses: ['charging demand planning'],
      endDate: '2099-12-31',
    },
    indicativePrice: { amount: 200_000, currency: 'CNY' },
  };
}

type Delivery = {
  deliveryId: string;
  state: string;
  subjectsTouched: number | null;
  result: unknown;
  failure: unknown;
};

/** Starts a delivery as the buyer and waits for it to end. */
async function deliver(site: DemoSite, buyer: string, orderId: string, request: unknown): Promise<Delivery> {
  const started = await site.api<Delivery>('POST', `/v1/orders/${orderId}/deliveries`, buyer, request);
  const done = await until(
    'the delivery',
    120_000,
    () => site.api<Delivery>('GET', `/v1/deliveries/${started.deliveryId}`, buyer),
    (d) => d.state !== 'running',
  );
  if (done.state !== 'completed')
    throw new Error(`delivery ${done.deliveryId} ${done.state}: ${JSON.stringify(done.failure)}`);
  return done;
}

const AGGREGATES_REQUEST = {
  algorithm: 'segment-aggregates',
  segment: 'region_code',
  measures: ['nev_acceptance', 'financing_preference'],
};

export type ExchangeFigures = {
  listingId: string;
  orderId: string;
  firstDelivery: { deliveryId: string; subjects: number; groups: number };
};

/** Step 6: the listing, the exchange's approval, the battery maker's order and its first compute-to-data job. */
export async function listAndDeliver(sites: Sites, population: Population, basis: Basis, io: DemoIo) {
  const dealer = sites['dealer-4s'];
  const exchange = (await dealer.gw.ctx.tokens.createToken('exchange', 'demo data exchange')).token;
  const buyer = (await dealer.gw.ctx.tokens.createToken('buyer', 'battery-maker')).token;
  const listing = await dealer.api<{ listingId: string; registrationNo: string }>(
    'POST',
    '/v1/listings',
    dealer.tokens.steward,
    listingContent(population, basis),
  );
  await dealer.api('POST', `/v1/listings/${listing.listingId}/submit`, dealer.tokens.steward, {});
  const approved = await dealer.api<{ state: string; anchorError: string | null }>(
    'POST',
    `/v1/listings/${listing.listingId}/approve`,
    exchange,
    { reason: 'reviewed by the demo exchange' },
  );
  io.line(
    `  listing ${listing.registrationNo}: ${approved.state}${approved.anchorError === null ? ', anchored in the package registry' : ` (no anchor: ${approved.anchorError})`}`,
  );
  const offer = await dealer.api<{ offerId: string }>(
    'POST',
    `/v1/listings/${listing.listingId}/offers`,
    dealer.tokens.steward,
    {
      terms: {
        kind: 'fixed',
        price: { amount: 200_000, currency: 'CNY' },
        quota: { jobs: 10, subjectsTouched: 1_000_000 },
      },
      validUntil: '2099-01-01T00:00:00.000Z',
    },
  );
  await dealer.api('POST', '/v1/delegations', dealer.tokens.steward, {
    partner: 'battery-maker',
    purposes: [EXCHANGE_PURPOSE],
    fieldAllowlist: PACKAGE_FIELDS,
    expiresAt: '2099-01-01T00:00:00.000Z',
  });
  const read = await dealer.api<{ contentHash: string }>('GET', `/v1/listings/${listing.listingId}`, buyer);
  const offers = await dealer.api<{ offers: { offerId: string; termsHash: string }[] }>(
    'GET',
    `/v1/listings/${listing.listingId}/offers`,
    buyer,
  );
  const terms = offers.offers.find((o) => o.offerId === offer.offerId);
  const order = await dealer.api<{ orderId: string; price: { amount: number; currency: string } }>(
    'POST',
    '/v1/orders',
    buyer,
    {
      offerId: offer.offerId,
      purpose: EXCHANGE_PURPOSE,
      accepted: { listingHash: read.contentHash, termsHash: terms?.termsHash },
    },
  );
  io.line(
    `  battery-maker ordered it for ${EXCHANGE_PURPOSE} (${order.price.amount.toLocaleString('en-US')} ${order.price.currency}, 10 jobs)`,
  );
  const first = await deliver(dealer, buyer, order.orderId, AGGREGATES_REQUEST);
  const groups = (
    first.result as {
      aggregates: {
        groups: { segment: string; subjects: number; measures: Record<string, { mean: number } | null> }[];
      };
    }
  ).aggregates.groups;
  io.line(
    `  compute-to-data: NEV acceptance by region over ${first.subjectsTouched} consenting customers; only groups of at least k leave:`,
  );
  for (const g of groups)
    io.line(
      `    ${g.segment}  ${String(g.subjects).padStart(5)} customers  NEV acceptance ${g.measures.nev_acceptance?.mean.toFixed(3) ?? 'withheld'}`,
    );
  return {
    buyer,
    figures: {
      listingId: listing.listingId,
      orderId: order.orderId,
      firstDelivery: { deliveryId: first.deliveryId, subjects: first.subjectsTouched ?? 0, groups: groups.length },
    } satisfies ExchangeFigures,
  };
}

/** Step 7: a customer withdraws; the listing is flagged and revalued; the next delivery leaves them out. */
export async function withdrawOne(
  sites: Sites,
  sale: { exchangeRecords: ReadonlyMap<string, string>; figures: ExchangeFigures; buyer: string },
  io: DemoIo,
) {
  const { exchangeRecords, figures, buyer } = sale;
  const dealer = sites['dealer-4s'];
  const [customer, recordId] = [...exchangeRecords.entries()][0] as [string, string];
  await dealer.api('POST', `/v1/consents/${recordId}/withdraw`, dealer.tokens.collector, { reason: 'changed my mind' });
  io.line(`  customer ${customer} withdraws consent to ${EXCHANGE_PURPOSE}`);
  const check = await dealer.api<{ flagged: boolean; shrink: number; basis: Basis; valuationId: string | null }>(
    'POST',
    `/v1/listings/${figures.listingId}/consent-basis`,
    dealer.tokens.officer,
  );
  io.line(
    `  the listing's consent basis: ${check.basis.subjects.toLocaleString('en-US')} customers (${(check.shrink * 100).toFixed(2)} % fewer); ${check.flagged ? 'flagged' : 'not flagged'}${check.valuationId === null ? '' : `, revalued (${check.valuationId.slice(0, 8)}…)`}`,
  );
  const order = await dealer.api<{ listingFlag: unknown }>('GET', `/v1/orders/${figures.orderId}`, buyer);
  io.line(`  the battery maker sees the flag on its order: ${order.listingFlag === null ? 'no' : 'yes'}`);
  const next = await deliver(dealer, buyer, figures.orderId, AGGREGATES_REQUEST);
  const used = await dealer.api<{ records: { recordId: string }[] }>(
    'GET',
    `/v1/deliveries/${next.deliveryId}/consents?limit=1000`,
    dealer.tokens.officer,
  );
  const isLeftOut = !used.records.some((r) => r.recordId === recordId);
  io.line(
    `  the next delivery read ${next.subjectsTouched} customers; the one who withdrew ${isLeftOut ? 'is left out' : 'WAS READ'}`,
  );
  return {
    recordId,
    flagged: check.flagged,
    revaluationId: check.valuationId,
    nextSubjects: next.subjectsTouched ?? 0,
    isLeftOut,
  };
}

/** Step 8: the compliance officer reads the customer's authorization chain and verifies every link offline. */
export async function verifyChainOffline(
  sites: Sites,
  target: { recordId: string; rpcUrl: string; dir: string },
  io: DemoIo,
): Promise<{ subject: string; links: number; verified: number }> {
  const { recordId, rpcUrl, dir } = target;
  const dealer = sites['dealer-4s'];
  const { record } = await dealer.api<{ record: { subject: string } }>(
    'GET',
    `/v1/consents/${recordId}`,
    dealer.tokens.officer,
  );
  type Chain = {
    links: { type: string; kind: string; receipt: unknown }[];
    summary: { links: number; pending: number };
  };
  const chain = await until(
    "the customer's chain anchored",
    60_000,
    () => dealer.api<Chain>('GET', `/v1/subjects/${record.subject}/chain`, dealer.tokens.officer),
    (c) => c.summary.pending === 0,
  );
  const proofs = join(dir, 'proofs');
  mkdirSync(proofs, { recursive: true });
  let verified = 0;
  for (const [i, link] of chain.links.entries()) {
    const file = join(proofs, `link-${i}-${link.type}.json`);
    writeFileSync(file, JSON.stringify(link.receipt, null, 2));
    const out: string[] = [];
    const code = await runVerifyCli([file, '--rpc', rpcUrl], { out: (l) => out.push(l), err: (l) => out.push(l) });
    if (code === 0) verified++;
    else io.line(`    ${link.kind} ${link.type}: ${out.join(' ')}`);
  }
  io.line(
    `  ${record.subject.slice(0, 14)}…: ${chain.links.length} links (${chain.links.map((l) => l.type).join(', ')}); ${verified} of ${chain.links.length} verify offline against the chain (npm run verify, files in ${proofs})`,
  );
  return { subject: record.subject, links: chain.links.length, verified };
}
