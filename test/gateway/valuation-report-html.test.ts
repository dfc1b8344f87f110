// The valuation report as an offline HTML page (gateway/services/valuation-report-html.ts): four inline SVG charts
// rendered on the server, the summary and tables, every report string escaped, no script and no URL, and nothing
// loaded while rendering.
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { escapeHtml } from '../../gateway/services/escape-html.ts';
import {
  formatNumber,
  formatPercent,
  renderValuationReportHtml,
  renderVegaLiteSvg,
  type ValuationReportMeta,
} from '../../gateway/services/valuation-report-html.ts';
import { valuate } from '../../valuation/valuate.ts';
import type { ValuationReport } from '../../valuation/valuation-report.ts';
import { automotivePackage } from '../valuation/automotive-package.ts';

const meta: ValuationReportMeta = { valuationId: 'val_0001', reportHash: `0x${'5e'.repeat(32)}`, anchor: null };
const count = (html: string, needle: string) => html.split(needle).length - 1;

describe('renderValuationReportHtml', () => {
  let report: ValuationReport;
  let html: string;
  let fetches: ReturnType<typeof vi.spyOn>;

  beforeAll(async () => {
    report = valuate(automotivePackage());
    fetches = vi.spyOn(globalThis, 'fetch');
    html = await renderValuationReportHtml(report, meta);
  }, 30_000);

  it('draws the four charts as inline SVG', () => {
    expect(count(html, '<svg')).toBe(4);
    expect(count(html, '</svg>')).toBe(4);
    // Chart element ids are numbered per chart, so four charts never share one.
    const ids = [...html.matchAll(/ id="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('shows the summary, every dimension, the tables and the hash', () => {
    const npv = report.monteCarlo.npv;
    expect(html).toContain(formatNumber(npv.p50));
    expect(html).toContain('1,435,196.75'); // P50 of the automotive package
    for (const x of [npv.p5, npv.p95, npv.mean, npv.cvar5, npv.standardError, report.deterministic.npv])
      expect(html).toContain(formatNumber(x));
    expect(html).toContain(formatPercent(npv.probabilityBelowZero));
    expect(html).toContain('10,000 draws, seed 20261206');
    for (const d of report.shapley!.dimensions) expect(html).toContain(d.label);
    for (const r of report.collateral!.reasons) expect(html).toContain(r.reason);
    expect(html).toContain('holds');
    expect(html).toContain(formatNumber(report.crossChecks!.market!));
    for (const e of report.sensitivity.elasticities) expect(html).toContain(e.name);
    expect(html).toContain(meta.reportHash);
    expect(html).toContain('Not anchored yet');
  });

  it('is one offline page: no script, no URL, nothing fetched', () => {
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/\b(src|href)\s*=/i);
    expect(html).not.toMatch(/https?:\/\//i);
    expect(html).not.toMatch(/@import|url\((?!#)/i);
    expect(fetches).not.toHaveBeenCalled();
  });

  it('gives the same bytes for the same report', async () => {
    expect(await renderValuationReportHtml(report, meta)).toBe(html);
  });

  it('renders in well under 2 s', async () => {
    const started = performance.now();
    await renderValuationReportHtml(report, meta);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('escapes every string from the report, in the tables and in the charts', async () => {
    const hostile = '<script>alert(1)</script>';
    const shapley = report.shapley!;
    const page = await renderValuationReportHtml(
      {
        ...report,
        packageId: hostile,
        shapley: { ...shapley, dimensions: shapley.dimensions.map((d) => ({ ...d, label: `${d.label} ${hostile}` })) },
        sensitivity: {
          ...report.sensitivity,
          tornado: {
            ...report.sensitivity.tornado,
            bars: report.sensitivity.tornado.bars.map((b) => ({
              ...b,
              name: `${b.name} <img src=x onerror=alert(2)>`,
            })),
          },
        },
      },
      { ...meta, valuationId: '"><b>id</b>' },
    );
    expect(page).not.toContain('<script');
    expect(page).not.toContain('<img');
    expect(page).not.toContain('<b>id');
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(count(page, '<svg')).toBe(4);
  });

  it('shows the anchor once the report hash is anchored', async () => {
    const anchor = { chainId: 31337, txHash: `0x${'7a'.repeat(32)}`, blockNumber: 12_345 };
    const page = await renderValuationReportHtml(report, { ...meta, anchor });
    expect(page).toContain(anchor.txHash);
    expect(page).toContain('12,345');
    expect(page).not.toContain('Not anchored yet');
  });

  it('draws error bars for sampled Shapley values and the standard errors beside them', async () => {
    const shapley = report.shapley!;
    const page = await renderValuationReportHtml(
      {
        ...report,
        shapley: {
          ...shapley,
          method: 'sampled',
          permutations: 24,
          dimensions: shapley.dimensions.map((d) => ({ ...d, standardError: 12_345.678 })),
        },
      },
      meta,
    );
    expect(count(page, '<svg')).toBe(4);
    expect(page).toContain('standard error');
    expect(page).toContain('12,345.68');
    expect(page.length).toBeGreaterThan(html.length);
  });

  it('renders a report with nothing uncertain and nothing optional', async () => {
    const v = report.deterministic.npv;
    const npv = { ...report.monteCarlo.npv, sd: 0, standardError: 0, probabilityBelowZero: 0, cvar5: v };
    for (const k of ['mean', 'p5', 'p10', 'p50', 'p90', 'p95', 'min', 'max'] as const) npv[k] = v;
    const page = await renderValuationReportHtml(
      {
        ...report,
        monteCarlo: { ...report.monteCarlo, npv },
        sensitivity: { tornado: { base: v, bars: [] }, elasticities: [] },
        shapley: null,
        collateral: null,
        covenant: null,
        crossChecks: null,
      },
      meta,
    );
    expect(count(page, '<svg')).toBe(3);
    expect(page).toContain('No attribution');
    expect(page).toContain('No collateral value was asked for');
    expect(page).toContain('No covenant was backtested');
  });
});

describe('renderVegaLiteSvg', () => {
  it('numbers element ids per chart and leaves text alone', async () => {
    const spec = {
      data: { values: [{ a: 'label id="clip1" url(#clip1)', b: 3 }] },
      mark: { type: 'bar', clip: true },
      encoding: { x: { field: 'a', type: 'nominal' }, y: { field: 'b', type: 'quantitative' } },
    } as const;
    const [one, two] = [await renderVegaLiteSvg(spec, 'one'), await renderVegaLiteSvg(spec, 'two')];
    expect(one).toMatch(/<clipPath id="one-1">/);
    expect(one).toContain('clip-path="url(#one-1)"');
    expect(two).toBe(one.replaceAll('one-', 'two-'));
    expect(one).toContain('label id="clip1" url(#clip1)');
    expect(one).toMatch(/^<svg (?![^>]*xmlns)/);
  });

  it('refuses to load anything a spec names by URL', async () => {
    const fetches = vi.spyOn(globalThis, 'fetch');
    const spec = {
      data: { url: 'https://example.invalid/npv.csv' },
      mark: 'bar',
      encoding: { x: { field: 'a', type: 'nominal' }, y: { field: 'b', type: 'quantitative' } },
    } as const;
    await expect(renderVegaLiteSvg(spec, 'x')).rejects.toThrow(/loads nothing/);
    expect(fetches).not.toHaveBeenCalled();
  });
});

describe('formatting', () => {
  it('escapes the five HTML metacharacters', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    expect(escapeHtml(null)).toBe('');
    expect(escapeHtml(42)).toBe('42');
  });

  it('groups thousands with 2 decimals, and keeps 2 significant digits below 1', () => {
    expect(formatNumber(1_435_196.7533)).toBe('1,435,196.75');
    expect(formatNumber(-3_491.475)).toBe('-3,491.48');
    expect(formatNumber(0)).toBe('0.00');
    expect(formatNumber(0.016027)).toBe('0.016');
    expect(formatNumber(-0.8)).toBe('-0.80');
    expect(formatPercent(0.0503)).toBe('5.03 %');
  });
});
