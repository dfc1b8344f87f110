// `sealgate valuations PACKAGE` and `sealgate valuation ID`: a running gateway's valuations of a data package as a
// table, and one valuation's report as a summary table (docs/valuation.md). Exit codes: 0 printed, 1 refused or
// unreachable.
import { z } from 'zod';
import { ValuationReport } from '../../valuation/valuation-report.ts';
import { readGateway, renderTable, type ReadOptions } from './gateway-get.ts';

const Summary = z.object({
  valuationId: z.string(),
  createdAt: z.string(),
  reportHash: z.string(),
  anchor: z.object({ revision: z.number(), txHash: z.string() }).nullable(),
});
const List = z.object({ valuations: z.array(Summary) });
const Stored = Summary.extend({ packageId: z.string(), report: ValuationReport });

const money = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const share = (x: number): string => `${(x * 100).toFixed(1)} %`;

/** `sealgate valuations PACKAGE`: the package's valuations, newest first. */
export async function listValuations(packageId: string, options: ReadOptions): Promise<number> {
  const list = await readGateway(`/v1/packages/${encodeURIComponent(packageId)}/valuations`, List.parse, options);
  if (list === null) return 1;
  const rows = list.valuations.map((v) => [
    v.valuationId,
    v.createdAt,
    v.anchor === null ? 'not anchored' : `revision ${v.anchor.revision}`,
    v.reportHash.slice(0, 16),
  ]);
  for (const line of renderTable([['VALUATION', 'CREATED', 'ANCHOR', 'REPORT HASH'], ...rows])) options.io.stdout(line);
  return 0;
}

/** The report's headline figures as two columns, what an appraiser reads first. */
export function renderValuationSummary(v: z.infer<typeof Stored>): string[] {
  const r = v.report;
  const npv = r.monteCarlo.npv;
  const rows: string[][] = [
    ['package', v.packageId],
    ['NPV P5 / P50 / P95', `${money.format(npv.p5)} / ${money.format(npv.p50)} / ${money.format(npv.p95)}`],
    ['NPV mean (± standard error)', `${money.format(npv.mean)} (± ${money.format(npv.standardError)})`],
    ['P(NPV < 0)', share(npv.probabilityBelowZero)],
    ['CVaR 5 %', money.format(npv.cvar5)],
    ['NPV at the medians', money.format(r.deterministic.npv)],
    ['annual discount rate', share(r.deterministic.annualDiscountRate)],
    ['draws, seed', `${r.monteCarlo.draws}, ${r.monteCarlo.seed}`],
    ...(r.shapley === null
      ? []
      : r.shapley.dimensions.map((d) => [
          `Shapley: ${d.label}`,
          `${money.format(d.value)}${d.share === null ? '' : ` (${share(d.share)})`}`,
        ])),
    ...(r.collateral === null ? [] : [['collateral value', money.format(r.collateral.value)]]),
    ...(r.covenant === null ? [] : [['covenant', r.covenant.holds ? 'holds' : 'does not hold']]),
    ['report hash', v.reportHash],
    ['anchor', v.anchor === null ? 'not anchored' : `revision ${v.anchor.revision}, ${v.anchor.txHash}`],
  ];
  return renderTable(rows);
}

/** `sealgate valuation ID`: one valuation's summary table. */
export async function showValuation(valuationId: string, options: ReadOptions): Promise<number> {
  const stored = await readGateway(`/v1/valuations/${encodeURIComponent(valuationId)}`, Stored.parse, options);
  if (stored === null) return 1;
  for (const line of renderValuationSummary(stored)) options.io.stdout(line);
  return 0;
}
