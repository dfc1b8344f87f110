// Renders a valuation report (valuation/valuation-report.ts) as one self-contained HTML page with four charts: the
// NPV distribution, the tornado, the cash flows with their band and the Shapley values. The charts are Vega-Lite
// specs compiled to Vega and rendered to SVG here, on the server, and inlined: the page has no script, no external
// asset and no URL at all, so it opens offline, prints and archives as it is. Rendering loads nothing either: the
// charts' data is inline and the Vega loader refuses every URL. Every string from the report is escaped: a report
// quotes its input, and input is never trusted as markup (Vega escapes the text it writes into the SVG itself).
import type * as Vega from 'vega';
import type { Loader, LoggerInterface } from 'vega';
import type * as VegaLite from 'vega-lite';
import type { Config, TopLevelSpec } from 'vega-lite';
import type { ValuationReport } from '../../valuation/valuation-report.ts';
import { escapeHtml } from './escape-html.ts';

export type ValuationReportMeta = {
  valuationId: string;
  reportHash: string;
  anchor: null | { chainId: number; txHash: string; blockNumber: number };
};

const grouped2 = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const small2 = new Intl.NumberFormat('en-US', { minimumSignificantDigits: 2, maximumSignificantDigits: 2 });
const compact3 = new Intl.NumberFormat('en-US', { notation: 'compact', maximumSignificantDigits: 3 });
const whole = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** Thousands separators and 2 decimals; below 1 in magnitude, 2 significant digits (0.016, not 0.02). */
export const formatNumber = (x: number): string => (x !== 0 && Math.abs(x) < 1 ? small2 : grouped2).format(x);
/** A share as a percentage with 2 decimals: 0.0503 → "5.03 %". */
export const formatPercent = (share: number): string => `${grouped2.format(share * 100)} %`;
const formatCount = (n: number): string => whole.format(n);
const compact = (x: number): string => compact3.format(x);

const cell = (value: unknown, cls = '') => `<td${cls ? ` class="${cls}"` : ''}>${escapeHtml(value)}</td>`;
const num = (x: number | null | undefined) => cell(x === null || x === undefined ? '—' : formatNumber(x), 'num');
const row = (label: string, value: string, cls = '') => `<tr><th>${label}</th>${cell(value, cls)}</tr>`;

// ---------------------------------------------------------------------------------------------------------------
// Charts: Vega-Lite → Vega → SVG, offline.

type VegaModules = { vega: typeof Vega; vegaLite: typeof VegaLite };
let modules: Promise<VegaModules> | undefined;
/** Vega is loaded on the first report, not when the gateway starts. */
const vegaModules = (): Promise<VegaModules> =>
  (modules ??= Promise.all([import('vega'), import('vega-lite')]).then(([vega, vegaLite]) => ({ vega, vegaLite })));

const CONFIG: Config = {
  font: 'system-ui, sans-serif',
  background: 'white',
  view: { stroke: null },
  axis: { labelFontSize: 11, titleFontSize: 11, titleFontWeight: 'normal', labelColor: '#1b1f24' },
  // '~s' formats every tick with the axis's one SI prefix, zero too ("0M"): zero is plain 0. The expression is a
  // constant: no report string is ever written into a Vega expression.
  axisQuantitative: { labelExpr: "datum.value === 0 ? '0' : datum.label" },
  // Without node-canvas Vega estimates text widths generously; labels are not cut short on that estimate.
  axisBand: { labelLimit: 0 },
  legend: { labelFontSize: 11, titleFontSize: 11, orient: 'top', labelLimit: 0 },
};

/** Keeps the errors Vega and Vega-Lite log, so the render fails on them; warnings and the rest go nowhere. */
function collectingLogger(errors: string[]): LoggerInterface {
  let level = 0;
  const logger: LoggerInterface = {
    level(value?: number) {
      if (value === undefined) return level as never;
      level = value;
      return logger as never;
    },
    error: (...args: readonly unknown[]) => (errors.push(args.map(String).join(' ')), logger),
    warn: () => logger,
    info: () => logger,
    debug: () => logger,
  };
  return logger;
}

/** A Vega loader that loads nothing: a chart whose spec names a URL (data, image, font) fails instead of fetching. */
function refusingLoader(refused: string[]): Loader {
  const refuse = async (uri: string): Promise<never> => {
    refused.push(uri);
    throw new Error(`the valuation report loads nothing (${uri})`);
  };
  return { load: refuse, sanitize: refuse, http: refuse, file: refuse };
}

/**
 * Compiles a Vega-Lite spec to Vega and renders it to an SVG string that can be inlined in an HTML page: no namespace
 * URLs (the HTML parser puts an inline `<svg>` in the SVG namespace itself) and element ids (clip paths, gradients)
 * renumbered under `idPrefix`, so several charts share one page and the same report gives the same bytes.
 *
 * @throws Error when the spec asks for anything from a URL, or Vega reports an error.
 */
export async function renderVegaLiteSvg(spec: TopLevelSpec, idPrefix: string): Promise<string> {
  const { vega, vegaLite } = await vegaModules();
  const errors: string[] = [];
  const refused: string[] = [];
  const logger = collectingLogger(errors);
  const compiled = vegaLite.compile(spec, { config: CONFIG, logger }).spec;
  const view = new vega.View(vega.parse(compiled), {
    renderer: 'none',
    loader: refusingLoader(refused),
    logger,
    logLevel: vega.Warn,
  });
  try {
    const svg = await view.toSVG();
    if (refused.length > 0) throw new Error(`a chart asked to load ${refused.join(', ')}; the report loads nothing`);
    if (errors.length > 0) throw new Error(`Vega could not render a chart: ${errors.join('; ')}`);
    return inlineSvg(svg, idPrefix);
  } finally {
    view.finalize();
  }
}

function inlineSvg(svg: string, idPrefix: string): string {
  // Only tags are rewritten, never text (text holds no raw `<`), and in them only an id and a reference that is an
  // attribute's whole value (`clip-path="url(#clip1)"`): values hold no raw `"`, so an aria-label quoting them stays.
  const tags = /<[a-zA-Z][^<>]*>/g;
  const ids = new Map<string, string>();
  for (const [tag] of svg.matchAll(tags))
    for (const [, id] of tag.matchAll(/\sid="([^"]+)"/g)) ids.set(id!, `${idPrefix}-${ids.size + 1}`);
  let first = true;
  return svg.replace(tags, (tag) => {
    const isRoot = first;
    first = false;
    return (isRoot ? tag.replace(/\sxmlns(:\w+)?="[^"]*"/g, '') : tag)
      .replace(/(\sid=")([^"]+)"/g, (m, at: string, id: string) => (ids.has(id) ? `${at}${ids.get(id)}"` : m))
      .replace(/="url\(#([^)"]+)\)"/g, (m, id: string) => (ids.has(id) ? `="url(#${ids.get(id)})"` : m));
  });
}

const WIDTH = 640;

/**
 * The NPV distribution from the report's summary (it keeps no draws): between consecutive quantiles min, P5, P10,
 * P50, P90, P95, max lie 5, 5, 40, 40, 5 and 5 % of the draws, so a bar over each interval whose height is its share
 * over its width is a histogram with unequal bins: its area is the share of draws. P5, P50 and P95 are marked.
 */
export function npvDistributionSpec(report: ValuationReport): TopLevelSpec {
  const npv = report.monteCarlo.npv;
  const cuts = [npv.min, npv.p5, npv.p10, npv.p50, npv.p90, npv.p95, npv.max];
  const shares = [0.05, 0.05, 0.4, 0.4, 0.05, 0.05];
  const bins = shares
    .map((share, i) => ({ from: cuts[i]!, to: cuts[i + 1]!, share }))
    .filter((b) => b.to > b.from)
    .map((b) => ({ ...b, density: b.share / (b.to - b.from) }));
  const marks = [
    { at: npv.p5, label: `P5 ${compact(npv.p5)}`, tier: 'a' },
    { at: npv.p50, label: `P50 ${compact(npv.p50)}`, tier: 'b' },
    { at: npv.p95, label: `P95 ${compact(npv.p95)}`, tier: 'a' },
  ];
  const zero =
    npv.min < 0 && npv.max > 0 ? [{ at: 0, label: `P(NPV < 0) ${formatPercent(npv.probabilityBelowZero)}` }] : [];
  const tiers = { field: 'tier', type: 'ordinal', axis: null, scale: { domain: ['a', 'b', 'c'], range: [8, 24, 56] } };
  return {
    width: WIDTH,
    height: 220,
    description: 'Distribution of the net present value over the Monte Carlo draws, with P5, P50 and P95 marked',
    layer: [
      {
        data: { values: bins },
        mark: { type: 'rect', color: '#9ecae9', stroke: '#4c78a8', strokeWidth: 0.5 },
        encoding: {
          x: { field: 'from', type: 'quantitative', title: 'net present value', axis: { format: '~s' } },
          x2: { field: 'to' },
          y: { field: 'density', type: 'quantitative', title: 'density (bar area = share of draws)', axis: null },
        },
      },
      {
        data: { values: zero },
        mark: { type: 'rule', color: '#cf222e', strokeDash: [4, 3] },
        encoding: { x: { field: 'at', type: 'quantitative' } },
      },
      {
        data: { values: marks },
        mark: { type: 'rule', color: '#1b1f24', strokeWidth: 1.5 },
        encoding: { x: { field: 'at', type: 'quantitative' } },
      },
      {
        data: { values: marks },
        mark: { type: 'text', align: 'left', dx: 3, fontSize: 11, color: '#1b1f24' },
        encoding: { x: { field: 'at', type: 'quantitative' }, y: tiers, text: { field: 'label' } },
      },
      {
        data: { values: zero.map((z) => ({ ...z, tier: 'c' })) },
        mark: { type: 'text', align: 'right', dx: -3, fontSize: 11, color: '#cf222e' },
        encoding: { x: { field: 'at', type: 'quantitative' }, y: tiers, text: { field: 'label' } },
      },
    ],
    resolve: { scale: { y: 'independent' } },
  } as TopLevelSpec;
}

/** The tornado: per uncertain input, bars from the base NPV to the NPV with that input at its P10 and at its P90. */
export function tornadoSpec(report: ValuationReport): TopLevelSpec {
  const { base, bars } = report.sensitivity.tornado;
  const rows = bars.flatMap((b) => [
    { input: b.name, side: 'input at its P10', from: base, to: b.npvAtLow },
    { input: b.name, side: 'input at its P90', from: base, to: b.npvAtHigh },
  ]);
  return {
    width: WIDTH - 200,
    height: { step: 20 },
    description: 'Tornado: the net present value with one uncertain input at its P10 and at its P90',
    layer: [
      {
        data: { values: rows },
        mark: { type: 'bar', height: { band: 0.7 } },
        encoding: {
          y: { field: 'input', type: 'nominal', sort: null, title: null },
          x: { field: 'from', type: 'quantitative', title: 'net present value', axis: { format: '~s' } },
          x2: { field: 'to' },
          color: {
            field: 'side',
            type: 'nominal',
            title: null,
            scale: { domain: ['input at its P10', 'input at its P90'], range: ['#4c78a8', '#f58518'] },
          },
        },
      },
      {
        data: { values: [{ at: base }] },
        mark: { type: 'rule', color: '#1b1f24' },
        encoding: { x: { field: 'at', type: 'quantitative' } },
      },
    ],
  } as TopLevelSpec;
}

/** Cash flow per period: the P5–P95 band of the draws and the cash flow with every input at its median. */
export function cashFlowSpec(report: ValuationReport): TopLevelSpec {
  const band = 'P5–P95 of the draws';
  const medians = 'every input at its median';
  return {
    width: WIDTH,
    height: 220,
    description: 'Cash flow per period: the P5 to P95 band of the draws and the cash flow at the medians',
    data: { values: report.monteCarlo.cashFlowBands },
    layer: [
      {
        mark: { type: 'area', opacity: 0.35 },
        encoding: {
          x: {
            field: 'period',
            type: 'quantitative',
            title: 'period',
            scale: { domain: [1, Math.max(2, report.monteCarlo.cashFlowBands.length)], nice: false },
            axis: { tickMinStep: 1, format: 'd' },
          },
          y: { field: 'p5', type: 'quantitative', title: 'cash flow', axis: { format: '~s' } },
          y2: { field: 'p95' },
          color: { datum: band },
        },
      },
      {
        mark: { type: 'line', strokeWidth: 2 },
        encoding: {
          x: { field: 'period', type: 'quantitative' },
          y: { field: 'atMedians', type: 'quantitative' },
          color: { datum: medians },
        },
      },
    ],
    encoding: {
      color: { type: 'nominal', title: null, scale: { domain: [band, medians], range: ['#4c78a8', '#1b1f24'] } },
    },
  } as TopLevelSpec;
}

/** Unique axis labels: a dimension's label, with its id when two dimensions share a label. */
const dimensionNames = (dimensions: readonly { id: string; label: string }[]): string[] =>
  dimensions.map((d) => (dimensions.filter((o) => o.label === d.label).length > 1 ? `${d.label} (${d.id})` : d.label));

/** The Shapley value of each dimension, with ±1.96 standard errors when the values are sampled. */
export function shapleySpec(shapley: NonNullable<ValuationReport['shapley']>): TopLevelSpec {
  const names = dimensionNames(shapley.dimensions);
  const rows = shapley.dimensions.map((d, i) => {
    const margin = d.standardError === null ? null : 1.96 * d.standardError;
    return {
      dimension: names[i]!,
      value: d.value,
      label: d.share === null ? compact(d.value) : `${compact(d.value)} (${formatPercent(d.share)})`,
      low: margin === null ? null : d.value - margin,
      high: margin === null ? null : d.value + margin,
      // The value's label sits right of the bar, its error bar and zero (a negative bar ends left of zero).
      labelAt: Math.max(0, d.value + (margin ?? 0)),
    };
  });
  const errors = rows.filter((r) => r.low !== null);
  const y = { field: 'dimension', type: 'nominal', sort: null, title: null } as const;
  return {
    width: WIDTH - 200,
    height: { step: 26 },
    description: 'Shapley value of each dimension: its share of the present value of the revenue',
    layer: [
      {
        data: { values: rows },
        mark: { type: 'bar', color: '#4c78a8', height: { band: 0.7 } },
        encoding: { y, x: { field: 'value', type: 'quantitative', title: 'Shapley value', axis: { format: '~s' } } },
      },
      {
        data: { values: rows },
        mark: { type: 'text', align: 'left', dx: 4, fontSize: 11, color: '#1b1f24' },
        encoding: {
          y,
          x: { field: 'labelAt', type: 'quantitative', title: 'Shapley value' },
          text: { field: 'label' },
        },
      },
      // Exact values have no error bars (and an errorbar over no rows makes Vega warn of an infinite extent).
      ...(errors.length === 0
        ? []
        : [
            {
              data: { values: errors },
              mark: { type: 'errorbar', ticks: true, color: '#1b1f24' },
              encoding: { y, x: { field: 'low', type: 'quantitative', title: 'Shapley value' }, x2: { field: 'high' } },
            },
          ]),
    ],
  } as TopLevelSpec;
}

// ---------------------------------------------------------------------------------------------------------------
// The page.

const figure = (title: string, svg: string, caption: string) =>
  `<figure><h3>${title}</h3>${svg}<figcaption>${caption}</figcaption></figure>`;

function summaryTable(report: ValuationReport, meta: ValuationReportMeta): string {
  const npv = report.monteCarlo.npv;
  const basis = report.consentBasis;
  return `<table class="summary">
${row('package', report.packageId)}
${row('valuation', meta.valuationId, 'mono')}
${row('consent basis', `${formatCount(basis.records)} records of ${formatCount(basis.subjects)} subjects, root ${basis.root}`, 'mono')}
${row('NPV P5 / P50 / P95', `${formatNumber(npv.p5)} / ${formatNumber(npv.p50)} / ${formatNumber(npv.p95)}`, 'num')}
${row('mean NPV', formatNumber(npv.mean), 'num')}
${row('standard error of the mean', formatNumber(npv.standardError), 'num')}
${row('P(NPV &lt; 0)', formatPercent(npv.probabilityBelowZero), 'num')}
${row('CVaR 5 % (mean of the lowest 5 %)', formatNumber(npv.cvar5), 'num')}
${row('deterministic NPV (every input at its median)', formatNumber(report.deterministic.npv), 'num')}
${row('annual discount rate', formatPercent(report.deterministic.annualDiscountRate), 'num')}
${row('Monte Carlo', `${formatCount(report.monteCarlo.draws)} draws, seed ${report.monteCarlo.seed}`)}
${row('amounts', report.currencyNote)}
</table>`;
}

function shapleyTable(shapley: NonNullable<ValuationReport['shapley']>): string {
  const names = dimensionNames(shapley.dimensions);
  const sampled = shapley.method === 'sampled';
  const rows = shapley.dimensions
    .map(
      (d, i) =>
        `<tr>${cell(names[i])}${cell(d.id, 'mono')}${num(d.value)}${cell(d.share === null ? '—' : formatPercent(d.share), 'num')}${sampled ? num(d.standardError) : ''}</tr>`,
    )
    .join('\n');
  const method = sampled
    ? `sampled over ${escapeHtml(shapley.permutations)} random orders of the dimensions (bars: ±1.96 standard errors)`
    : 'exact';
  return `<p>Shapley values (${method}) add up to the present value of the revenue, ${escapeHtml(formatNumber(shapley.revenuePresentValue))}; costs belong to the package, not to a dimension.</p>
<table><thead><tr><th>dimension</th><th>id</th><th>value</th><th>share</th>${sampled ? '<th>standard error</th>' : ''}</tr></thead><tbody>
${rows}
</tbody></table>`;
}

function collateralSection(report: ValuationReport): string {
  const c = report.collateral;
  if (c === null) return '<p>No collateral value was asked for.</p>';
  const reasons = c.reasons.map((r) => `<tr>${cell(r.reason)}${cell(formatPercent(r.share), 'num')}</tr>`).join('\n');
  return `<table>
${row('collateral value: P10 × (1 − haircut)', formatNumber(c.value), 'num')}
${row('NPV P10', formatNumber(report.monteCarlo.npv.p10), 'num')}
${row('haircut, all reasons as independent discounts', formatPercent(c.total), 'num')}
${c.note === null ? '' : row('note', c.note)}
</table>
<table><thead><tr><th>haircut reason</th><th>share</th></tr></thead><tbody>
${reasons || '<tr><td colspan="2">no reason given</td></tr>'}
</tbody></table>`;
}

function covenantSection(report: ValuationReport): string {
  const c = report.covenant;
  if (c === null) return '<p>No covenant was backtested.</p>';
  return `<table>
${row('covenant', c.holds ? 'holds' : 'does not hold', c.holds ? 'ok' : 'bad')}
${row('mean |error| over the backtest', formatNumber(c.meanAbsError), 'num')}
${row(`upper bound (bootstrap P${escapeHtml(Math.round(c.confidence * 100))}, ${escapeHtml(formatCount(c.replicates))} replicates)`, formatNumber(c.upper), 'num')}
${row('bound', formatNumber(c.bound), 'num')}
${row('periods backtested', formatCount(c.periods), 'num')}
</table>`;
}

function crossChecksSection(report: ValuationReport): string {
  const x = report.crossChecks;
  if (x === null) return '<p>No cross-check was asked for.</p>';
  const or = (v: number | null) => (v === null ? '—' : formatNumber(v));
  return `<table>
${row('income approach (NPV P50)', formatNumber(x.income), 'num')}
${row('cost approach', or(x.cost), 'num')}
${row('market approach', or(x.market), 'num')}
${row('spread (max / min of the approaches)', x.spread === null ? '—' : `× ${formatNumber(x.spread)}`, 'num')}
${x.note === null ? '' : row('note', x.note)}
</table>`;
}

function elasticitiesTable(report: ValuationReport): string {
  const rows = report.sensitivity.elasticities
    .map((e) =>
      e.elasticity === null
        ? `<tr>${cell(e.name)}<td colspan="3">${escapeHtml(e.reason)}</td></tr>`
        : `<tr>${cell(e.name)}${num(e.elasticity)}${num(e.npvAtDown)}${num(e.npvAtUp)}</tr>`,
    )
    .join('\n');
  return `<table><thead><tr><th>input</th><th>elasticity</th><th>NPV at −1 %</th><th>NPV at +1 %</th></tr></thead><tbody>
${rows || '<tr><td colspan="4">no input</td></tr>'}
</tbody></table>`;
}

function errorSourcesTable(report: ValuationReport): string {
  const rows = report.errorSources
    .map((e) =>
      e.kind === 'lift-certificate'
        ? `<tr>${cell(e.segment)}${cell('lift certificate')}<td class="mono">${escapeHtml(e.reference)}<br>${escapeHtml(e.detail)}</td></tr>`
        : `<tr>${cell(e.segment)}${cell(`entered by ${e.reference}`)}${cell(e.detail)}</tr>`,
    )
    .join('\n');
  return `<table><thead><tr><th>segment</th><th>errors from</th><th>certificate and statement hash, or note</th></tr></thead><tbody>
${rows}
</tbody></table>`;
}

function anchorSection(meta: ValuationReportMeta): string {
  const a = meta.anchor;
  const anchor =
    a === null
      ? '<p class="warn">Not anchored yet.</p>'
      : `<table>${row('chain', String(a.chainId), 'num')}${row('transaction', a.txHash, 'mono')}${row('block', formatCount(a.blockNumber), 'num')}</table>`;
  return `<table>${row('report hash', meta.reportHash, 'mono')}</table>\n${anchor}`;
}

/** The valuation report as one offline HTML page: inline SVG charts and styles, no script, no URL. */
export async function renderValuationReportHtml(report: ValuationReport, meta: ValuationReportMeta): Promise<string> {
  const [distribution, tornado, flows, shapley] = await Promise.all([
    renderVegaLiteSvg(npvDistributionSpec(report), 'npv'),
    renderVegaLiteSvg(tornadoSpec(report), 'tornado'),
    renderVegaLiteSvg(cashFlowSpec(report), 'flows'),
    report.shapley === null ? null : renderVegaLiteSvg(shapleySpec(report.shapley), 'shapley'),
  ]);
  const bars = report.sensitivity.tornado.bars.length;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>sealgate valuation report — ${escapeHtml(report.packageId)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#1b1f24;max-width:60rem}table{border-collapse:collapse;margin:.5rem 0 1.5rem}
th,td{border:1px solid #d0d7de;padding:.25rem .5rem;text-align:left;vertical-align:top}th{background:#f6f8fa;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}.mono{font-family:ui-monospace,monospace;font-size:12px}
.ok{color:#1a7f37;font-weight:600}.warn{color:#9a6700}.bad{color:#cf222e;font-weight:600}
figure{margin:1rem 0 2rem}figure h3{margin:0 0 .25rem}figcaption{color:#57606a;font-size:13px;max-width:48rem}svg{max-width:100%;height:auto}
</style></head><body>
<h1>Valuation of <span class="mono">${escapeHtml(report.packageId)}</span></h1>
${summaryTable(report, meta)}
<h2>Charts</h2>
${figure('Net present value', distribution, `Drawn from the report's quantiles (it keeps no draws): between min, P5, P10, P50, P90, P95 and max lie 5, 5, 40, 40, 5 and 5 % of the ${escapeHtml(formatCount(report.monteCarlo.draws))} draws, so each bar's area is its share of the draws. Min ${escapeHtml(formatNumber(report.monteCarlo.npv.min))}, max ${escapeHtml(formatNumber(report.monteCarlo.npv.max))}.`)}
${figure('Tornado', tornado, bars === 0 ? 'No input is uncertain: nothing moves the NPV.' : `The NPV with one uncertain input at its P10 (blue) and its P90 (orange), the others at their medians, around the base ${escapeHtml(formatNumber(report.sensitivity.tornado.base))} (black line); sorted by swing.`)}
${figure('Cash flow per period', flows, 'The band holds the middle 90 % of the draws of each period; the line is the cash flow with every input at its median.')}
${shapley === null ? '<h3>Attribution</h3>\n<p>No attribution: the inputs measure no subset of the dimensions.</p>' : `${figure('Value per dimension (Shapley)', shapley, 'What each dimension adds to the present value of the revenue, averaged over every order of adding them.')}\n${shapleyTable(report.shapley!)}`}
<h2>Where the errors come from</h2>
${errorSourcesTable(report)}
<h2>Collateral</h2>
${collateralSection(report)}
<h2>Covenant</h2>
${covenantSection(report)}
<h2>Cross-checks</h2>
${crossChecksSection(report)}
<h2>Elasticities</h2>
<p>(ΔNPV / NPV) / (Δx / x) by a central difference of ±1 % around each input's median.</p>
${elasticitiesTable(report)}
<h2>Report hash and anchor</h2>
${anchorSection(meta)}
<p>Report version ${escapeHtml(report.version)}.</p>
</body></html>
`;
}
