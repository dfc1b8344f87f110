// `sealgate demo` as a function (docs/demo.md): starts the three gateways on one shared chain, sets them up, runs the
// story step by step and returns the summary. The gateways are stopped at the end unless `keep` is set, in which case
// the caller owns them.
import { mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { demoApi } from './demo-api.ts';
import { startDemoGateways, type DemoGateways } from './demo-gateways.ts';
import { addClvPurpose, importRows, issueTokens, meshPeers, type DemoSite } from './demo-setup.ts';
import {
  alignCustomers,
  collectConsents,
  expectedIntersection,
  screenFeatures,
  trainClvModel,
  type ConsentFigures,
  type DemoIo,
  type ModelFigures,
  type Sites,
} from './demo-story.ts';
import { DEMO_PARTIES, generatePopulation } from './population.ts';
import {
  certifyAndValue,
  listAndDeliver,
  verifyChainOffline,
  withdrawOne,
  type CertificateFigures,
  type ExchangeFigures,
} from './demo-exchange.ts';

export type DemoConfig = {
  customers: number;
  seed: number;
  epochs: number;
  bootstrap: number;
  /** Epochs of each lift certificate job (one per subset of the package's three dimensions). */
  certificateEpochs: number;
  /** Where the gateways keep their data; a new temporary directory when null. */
  dir: string | null;
  keep: boolean;
};

/** The full demo: a population the size a laptop runs in about two minutes. */
export const FULL_DEMO: Omit<DemoConfig, 'dir' | 'keep'> = {
  customers: 3_000,
  seed: 2026,
  epochs: 15,
  bootstrap: 200,
  certificateEpochs: 5,
};
/** The configuration `npm test` runs (`--small`). */
export const SMALL_DEMO: Omit<DemoConfig, 'dir' | 'keep'> = {
  customers: 500,
  seed: 7,
  epochs: 10,
  bootstrap: 60,
  certificateEpochs: 3,
};

export type DemoSummary = {
  dir: string;
  rpcUrl: string;
  urls: Record<string, string>;
  consents: ConsentFigures;
  intersection: { found: number; expected: number };
  informationValue: Record<string, number>;
  model: ModelFigures;
  certificate: CertificateFigures;
  valuation: { valuationId: string; npv: { p5: number; p50: number; p95: number } };
  exchange: ExchangeFigures;
  withdrawal: { flagged: boolean; revaluationId: string | null; nextSubjects: number; isLeftOut: boolean };
  verification: { subject: string; links: number; verified: number };
  /** Seconds per step. */
  timings: Record<string, number>;
};

/** With `keep`, the running gateways and the dealer's compliance-officer token for its console; null without. */
export type DemoResult = { summary: DemoSummary; gateways: DemoGateways | null; officerToken: string | null };

export async function runDemo(config: DemoConfig, io: DemoIo): Promise<DemoResult> {
  const dir = config.dir ?? mkdtempSync(join(tmpdir(), 'sealgate-demo-'));
  mkdirSync(dir, { recursive: true });
  const timings: Record<string, number> = {};
  const timed = async <T>(name: string, title: string, work: () => Promise<T>): Promise<T> => {
    io.line(title);
    const started = performance.now();
    const result = await work();
    timings[name] = (performance.now() - started) / 1000;
    return result;
  };

  const gateways = await timed('start', `Starting three gateways in ${dir}, anchoring on one shared chain`, () =>
    startDemoGateways(dir),
  );
  try {
    for (const party of DEMO_PARTIES) io.line(`  ${party.padEnd(12)} ${gateways.gateways[party].url}`);
    io.line(`  chain       ${gateways.rpcUrl}`);
    const population = generatePopulation({ customers: config.customers, seed: config.seed });
    const sites = {} as Sites;
    await timed('setup', 'Set-up: tokens, peers, the CLV purpose, each partner’s customers as a view', async () => {
      for (const party of DEMO_PARTIES) {
        const gw = gateways.gateways[party];
        sites[party] = { party, gw, api: demoApi(gw.url), tokens: await issueTokens(gw) } satisfies DemoSite;
      }
      await meshPeers(Object.values(sites));
      for (const party of DEMO_PARTIES) {
        await addClvPurpose(sites[party]);
        const rows = await importRows(sites[party], population);
        io.line(`  ${party}: ${rows.toLocaleString('en-US')} customers`);
      }
    });
    const consents = await timed('consents', '1. Consents at each partner, then delegations between them', () =>
      collectConsents(sites, population, io),
    );
    const aligned = await timed(
      'psi',
      '2. PSI aligns the shared customers; those who refused anywhere are left out',
      () => alignCustomers(sites, io),
    );
    const screened = await timed(
      'stats',
      "3. Joint statistics and information values screen the partners' columns",
      () => screenFeatures(sites, aligned.psiJob, io),
    );
    const model = await timed('model', '4. A vertical CLV model across the three, beside a dealer-only model', () =>
      trainClvModel(sites, aligned.psiJob, { epochs: config.epochs, bootstrap: config.bootstrap }, io),
    );
    const valued = await timed(
      'valuation',
      "5. The dealer's package, measured by the charging network's lift certificate, and valued",
      () => certifyAndValue(sites, { epochs: config.certificateEpochs, bootstrap: config.bootstrap }, io),
    );
    const sold = await timed('exchange', '6. Listed; a battery maker orders it and runs a compute-to-data job', () =>
      listAndDeliver(sites, population, valued.basis, io),
    );
    const withdrawn = await timed('withdrawal', '7. A customer withdraws: the listing is flagged and revalued', () =>
      withdrawOne(sites, { exchangeRecords: consents.exchangeRecords, figures: sold.figures, buyer: sold.buyer }, io),
    );
    const verification = await timed('verify', "8. A compliance officer verifies that customer's chain offline", () =>
      verifyChainOffline(sites, { recordId: withdrawn.recordId, rpcUrl: gateways.rpcUrl, dir }, io),
    );
    const summary: DemoSummary = {
      dir,
      rpcUrl: gateways.rpcUrl,
      urls: Object.fromEntries(DEMO_PARTIES.map((p) => [p, gateways.gateways[p].url])),
      consents: consents.figures,
      intersection: { found: aligned.intersection, expected: expectedIntersection(population) },
      informationValue: screened.informationValue,
      model,
      certificate: valued.certificate,
      valuation: { valuationId: valued.valuationId, npv: valued.npv },
      exchange: sold.figures,
      withdrawal: {
        flagged: withdrawn.flagged,
        revaluationId: withdrawn.revaluationId,
        nextSubjects: withdrawn.nextSubjects,
        isLeftOut: withdrawn.isLeftOut,
      },
      verification,
      timings,
    };
    if (!config.keep) await gateways.close();
    return config.keep
      ? { summary, gateways, officerToken: sites['dealer-4s'].tokens.officer }
      : { summary, gateways: null, officerToken: null };
  } catch (error) {
    await gateways.close();
    throw error;
  }
}

/** The summary as the table the command prints at the end. */
export function summaryTable(s: DemoSummary): string[] {
  const n = (x: number) => Math.round(x).toLocaleString('en-US');
  const rows: [string, string][] = [
    ...DEMO_PARTIES.map((p): [string, string] => [
      `${p} customers`,
      `${n(s.consents[p].customers)} (${n(s.consents[p].refused)} refused consent)`,
    ]),
    ['customers in common (PSI)', `${n(s.intersection.found)} (the generator's: ${n(s.intersection.expected)})`],
    [
      'best screened column (IV)',
      Object.entries(s.informationValue)
        .sort(([, a], [, b]) => b - a)
        .slice(0, 1)
        .map(([c, v]) => `${c} ${v.toFixed(3)}`)
        .join(''),
    ],
    ['dealer-only CLV RMSE', `${n(s.model.baseline.value)} (the generator's: ${n(s.model.expected.baseline)})`],
    ['joint CLV RMSE', `${n(s.model.joint.value)} (the generator's: ${n(s.model.expected.joint)})`],
    [
      'lift (95 % interval)',
      `${(s.model.reduction.value * 100).toFixed(1)} % [${((s.model.reduction.low ?? Number.NaN) * 100).toFixed(1)}, ${((s.model.reduction.high ?? Number.NaN) * 100).toFixed(1)}]`,
    ],
    [
      'lift certificate (kWh RMSE)',
      `${s.certificate.baseline.toFixed(1)} without the package, ${s.certificate.full.toFixed(1)} with it (${s.certificate.jobs} jobs)`,
    ],
    [
      'valuation NPV P50 [P5, P95]',
      `${n(s.valuation.npv.p50)} CNY [${n(s.valuation.npv.p5)}, ${n(s.valuation.npv.p95)}]`,
    ],
    [
      'compute-to-data deliveries',
      `${n(s.exchange.firstDelivery.subjects)} customers, then ${n(s.withdrawal.nextSubjects)} after the withdrawal (${s.withdrawal.isLeftOut ? 'left out' : 'NOT left out'})`,
    ],
    [
      'listing after the withdrawal',
      s.withdrawal.flagged ? `flagged, revalued (${s.withdrawal.revaluationId ?? 'no valuation'})` : 'not flagged',
    ],
    ['chain verified offline', `${s.verification.verified} of ${s.verification.links} links`],
    ['compliance console', `${s.urls['dealer-4s'] ?? ''}/console (stays up with --keep)`],
    ...Object.entries(s.timings).map(([step, seconds]): [string, string] => [
      `time: ${step}`,
      `${seconds.toFixed(1)} s`,
    ]),
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`);
}
