// The demo's story (docs/demo.md, "What runs"), step by step against the three gateways' APIs: consents and
// delegations, PSI, joint statistics and a vertical CLV model beside a dealer-only one. Each step reports as it goes,
// with a progress bar on the long ones, and leaves its figures for the summary.
import { setTimeout as sleep } from 'node:timers/promises';
import type { JobView } from '../../mpc/jobs/view.ts';
import { renderProgress } from '../cli/job-watch.ts';
import type { DemoSite } from './demo-setup.ts';
import { CLV_PURPOSE, DEMO_VIEWS, EXCHANGE_PURPOSE, MODEL_COLUMNS, VALUATION_PURPOSE } from './demo-setup.ts';
import { DEMO_PARTIES, expectedClvRmse, type DemoParty, type Population } from './population.ts';

export type DemoIo = {
  /** A line of the story. */
  line(text: string): void;
  /** A progress line: redrawn in place on a terminal, printed now and then otherwise. */
  progress(text: string): void;
};

export type Sites = Record<DemoParty, DemoSite>;

const CONSENT_CONCURRENCY = 32;
const POLL_MS = 250;

/** Runs `work` over `items`, `concurrency` at a time, calling `onDone` with the count finished so far. */
async function pool<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
  onDone: (done: number) => void,
): Promise<void> {
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
      onDone(++done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

const bar = (done: number, total: number, label: string): string => {
  const width = 30;
  const filled = total === 0 ? width : Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.floor((done / Math.max(total, 1)) * 100)).padStart(3)}%  ${label} ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')}`;
};

/** A consent grant as a consent app sends it: the purpose, who may receive, which fields, and how it was given. */
function grantOf(
  subjectId: string,
  purposes: readonly string[],
  recipients: readonly string[],
  fields: readonly string[],
) {
  return {
    subjectId,
    jurisdiction: 'CN',
    recipients: recipients.map((id) => ({ id, role: id === 'battery-maker' ? 'third-party' : 'joint-controller' })),
    purposes: purposes.map((purpose) => ({ purpose, legalBasis: 'dpv:Consent' })),
    dataCategories: [{ category: 'dpv:Vehicle', sensitive: false }],
    minimization: { fieldAllowlist: [...fields], precision: {}, localOnly: false, crossBorder: false },
    notice: { url: 'https://demo.sealgate.example/privacy', hash: '0'.repeat(64), version: 'demo' },
    indication: { method: 'app', by: 'subject', at: '2026-11-01T09:00:00.000Z' },
    separateConsent: { sharing: true, sensitive: false, crossBorder: false },
    expiresAt: '2099-01-01T00:00:00.000Z',
  };
}

export type ConsentFigures = Record<DemoParty, { customers: number; granted: number; refused: number }>;

/** Step 1: every customer who does not refuse consents at their partner; the partners delegate to each other. */
export async function collectConsents(sites: Sites, population: Population, io: DemoIo) {
  const figures = {} as ConsentFigures;
  /** Dealer customer id → the record of their consent to the exchange purpose. */
  const exchangeRecords = new Map<string, string>();
  for (const party of DEMO_PARTIES) {
    const site = sites[party];
    const rows =
      party === 'dealer-4s' ? population.dealer : party === 'insurer-a' ? population.insurer : population.charging;
    const others = DEMO_PARTIES.filter((p) => p !== party);
    const fields = ['phone', ...Object.keys(DEMO_VIEWS[party].columns)];
    const grants = rows
      .filter((r) => !population.refusing[party].has(r.id))
      .flatMap((r) => [
        grantOf(r.id, [CLV_PURPOSE, VALUATION_PURPOSE], others, fields),
        ...(party === 'dealer-4s' && population.exchangeConsent.has(r.id)
          ? [grantOf(r.id, [EXCHANGE_PURPOSE], ['battery-maker'], fields)]
          : []),
      ]);
    await pool(
      grants,
      CONSENT_CONCURRENCY,
      async (grant) => {
        const answer = await site.api<{ record: { recordId: string } }>(
          'POST',
          '/v1/consents',
          site.tokens.collector,
          grant,
        );
        if (grant.purposes[0]?.purpose === EXCHANGE_PURPOSE)
          exchangeRecords.set(grant.subjectId, answer.record.recordId);
      },
      (done) => io.progress(bar(done, grants.length, `${party} consents`)),
    );
    figures[party] = { customers: rows.length, granted: grants.length, refused: population.refusing[party].size };
    io.line(
      `  ${party}: ${grants.length.toLocaleString('en-US')} consents recorded, ${population.refusing[party].size} customers refused`,
    );
  }
  for (const from of DEMO_PARTIES)
    for (const to of DEMO_PARTIES.filter((p) => p !== from)) {
      const site = sites[from];
      await site.api('POST', '/v1/delegations', site.tokens.steward, {
        partner: to,
        purposes: [CLV_PURPOSE, VALUATION_PURPOSE],
        fieldAllowlist: ['phone', ...Object.keys(DEMO_VIEWS[from].columns)],
        expiresAt: '2099-01-01T00:00:00.000Z',
      });
    }
  io.line(
    '  delegations: each partner delegates the CLV and package-valuation purposes to the other two, for its own columns',
  );
  return { figures, exchangeRecords };
}

/** Submits a job at `site` (its guest) and follows it with a progress bar until it ends; throws unless it completed. */
export async function runJob(site: DemoSite, request: Record<string, unknown>, io: DemoIo, deadlineMs: number) {
  const submitted = await site.api<JobView>('POST', '/v1/jobs', site.tokens.steward, request);
  const until = Date.now() + deadlineMs;
  for (;;) {
    const view = await site.api<JobView>('GET', `/v1/jobs/${submitted.id}`, site.tokens.steward);
    io.progress(`${renderProgress(view)}  ${String(request.protocol)}`);
    if (view.status === 'completed') return view;
    if (view.status === 'failed' || view.status === 'cancelled')
      throw new Error(`${String(request.protocol)} job ${view.id} ${view.status}: ${view.failure?.message ?? ''}`);
    if (Date.now() > until)
      throw new Error(`${String(request.protocol)} job ${view.id} did not end in ${deadlineMs} ms`);
    await sleep(POLL_MS);
  }
}

const partyOf = (party: DemoParty, role: 'guest' | 'host', columns: readonly string[] = []) => ({
  id: party,
  role,
  view: DEMO_VIEWS[party].view,
  idColumn: 'phone',
  columns: [...columns],
});

/** The dealer's customers that all three partners hold and that consented at all three: what PSI must find. */
export function expectedIntersection(population: Population): number {
  const phonesOf = (rows: readonly { id: string; phone: string }[], party: DemoParty) =>
    new Set(rows.filter((r) => !population.refusing[party].has(r.id)).map((r) => r.phone));
  const insurer = phonesOf(population.insurer, 'insurer-a');
  const charging = phonesOf(population.charging, 'charging-net');
  return [...phonesOf(population.dealer, 'dealer-4s')].filter((p) => insurer.has(p) && charging.has(p)).length;
}

/** Step 2: PSI on the phone number across the three; each learns the intersection of consenting customers. */
export async function alignCustomers(sites: Sites, io: DemoIo) {
  const view = await runJob(
    sites['dealer-4s'],
    {
      protocol: 'psi',
      purpose: CLV_PURPOSE,
      params: { mode: 'intersection' },
      receivers: [...DEMO_PARTIES],
      parties: [partyOf('dealer-4s', 'guest'), partyOf('insurer-a', 'host'), partyOf('charging-net', 'host')],
      deadlines: { acceptMs: 30_000, stepMs: 300_000 },
    },
    io,
    600_000,
  );
  const count = view.output?.count ?? 0;
  io.line(
    `  ${count.toLocaleString('en-US')} customers in common at all three, consented at all three (job ${view.id})`,
  );
  return { psiJob: view.id, intersection: count };
}

type StatsOutput = {
  result: {
    rows: number;
    k: number;
    groups: { segment: string; size: number | null; suppressed: boolean }[];
    hosts: Record<string, Record<string, { informationValue: { iv: number } | null }>>;
  };
};

/** Step 3: the partners' columns described by the dealer's regions, and their information value against high CLV. */
export async function screenFeatures(sites: Sites, psiJob: string, io: DemoIo) {
  const view = await runJob(
    sites['dealer-4s'],
    {
      protocol: 'joint-stats',
      purpose: CLV_PURPOSE,
      params: { psiJob, segment: 'region_code', label: 'high_value', bins: 5 },
      receivers: ['dealer-4s'],
      parties: [
        partyOf('dealer-4s', 'guest', ['region_code', 'high_value']),
        partyOf('insurer-a', 'host', MODEL_COLUMNS['insurer-a']),
        partyOf('charging-net', 'host', MODEL_COLUMNS['charging-net']),
      ],
      deadlines: { acceptMs: 30_000, stepMs: 300_000 },
    },
    io,
    600_000,
  );
  const dealer = sites['dealer-4s'];
  const output = await dealer.api<StatsOutput>('GET', `/v1/jobs/${view.id}/output`, dealer.tokens.steward);
  const iv: Record<string, number> = {};
  for (const [host, columns] of Object.entries(output.result.hosts))
    for (const [column, stats] of Object.entries(columns))
      if (stats.informationValue !== null) iv[`${host}.${column}`] = stats.informationValue.iv;
  const ranked = Object.entries(iv).sort(([, a], [, b]) => b - a);
  io.line(
    `  ${output.result.rows.toLocaleString('en-US')} customers described in ${output.result.groups.length} regions (k = ${output.result.k})`,
  );
  io.line(`  information value against high CLV: ${ranked.map(([c, v]) => `${c} ${v.toFixed(3)}`).join(', ')}`);
  return { statsJob: view.id, informationValue: iv };
}

type Interval = { value: number; low: number | null; high: number | null };
type VflOutput = {
  result: {
    lift: {
      error: string;
      reduction: number;
      low: number | null;
      high: number | null;
      model: Interval;
      baseline: Interval;
    };
    heldOut: number;
    train: number;
  };
};

export type ModelFigures = {
  jobId: string;
  train: number;
  heldOut: number;
  /** RMSE of the dealer-only model and of the joint model on the held-out customers, with 95 % intervals. */
  baseline: Interval;
  joint: Interval;
  reduction: { value: number; low: number | null; high: number | null };
  expected: { baseline: number; joint: number };
};

/** Step 4: a vertical linear model of CLV across the three, measured beside a dealer-only model on the same split. */
export async function trainClvModel(
  sites: Sites,
  psiJob: string,
  training: { epochs: number; bootstrap: number },
  io: DemoIo,
): Promise<ModelFigures> {
  const view = await runJob(
    sites['dealer-4s'],
    {
      protocol: 'vfl-linear',
      purpose: CLV_PURPOSE,
      params: {
        psiJob,
        label: 'clv',
        epochs: training.epochs,
        batchSize: 256,
        learningRate: 0.2,
        bootstrap: training.bootstrap,
        model: 'clv',
      },
      receivers: ['dealer-4s'],
      parties: [
        partyOf('dealer-4s', 'guest', ['clv', ...MODEL_COLUMNS['dealer-4s']]),
        partyOf('insurer-a', 'host', MODEL_COLUMNS['insurer-a']),
        partyOf('charging-net', 'host', MODEL_COLUMNS['charging-net']),
      ],
      deadlines: { acceptMs: 30_000, stepMs: 600_000 },
    },
    io,
    1_200_000,
  );
  const dealer = sites['dealer-4s'];
  const { result } = await dealer.api<VflOutput>('GET', `/v1/jobs/${view.id}/output`, dealer.tokens.steward);
  const figures: ModelFigures = {
    jobId: view.id,
    train: result.train,
    heldOut: result.heldOut,
    baseline: result.lift.baseline,
    joint: result.lift.model,
    reduction: { value: result.lift.reduction, low: result.lift.low, high: result.lift.high },
    expected: { baseline: expectedClvRmse(['dealer-4s']), joint: expectedClvRmse([...DEMO_PARTIES]) },
  };
  const money = (x: number) => Math.round(x).toLocaleString('en-US');
  const ci = (i: Interval) => (i.low === null || i.high === null ? '' : ` [${money(i.low)}, ${money(i.high)}]`);
  io.line(
    `  trained on ${result.train.toLocaleString('en-US')} customers, measured on ${result.heldOut.toLocaleString('en-US')} held out`,
  );
  io.line(
    `  dealer-only RMSE ${money(figures.baseline.value)}${ci(figures.baseline)} (the generator's: ${money(figures.expected.baseline)})`,
  );
  io.line(
    `  joint RMSE       ${money(figures.joint.value)}${ci(figures.joint)} (the generator's: ${money(figures.expected.joint)})`,
  );
  const pct = (x: number | null) => (x === null ? '?' : `${(x * 100).toFixed(1)} %`);
  io.line(
    `  lift: ${pct(figures.reduction.value)} lower error, 95 % interval [${pct(figures.reduction.low)}, ${pct(figures.reduction.high)}]`,
  );
  return figures;
}
