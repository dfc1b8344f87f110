// The operations docs cannot drift from the code (docs/operations.md): every metric and label that the Grafana
// dashboard, the Prometheus alert rules and the metrics table use is one a gateway's /metrics exports, and every
// sealgate_* metric it exports is on the dashboard and in the table, with its type and labels.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { makeTestGateway } from '../../fixtures/gateway-fixture.ts';
import { parseTypes } from '../../fixtures/prometheus-text.ts';

const DOCS = join(import.meta.dirname, '../../../docs');
const read = (name: string) => readFileSync(join(DOCS, name), 'utf8');

/** Series Prometheus makes itself for each target; no exporter serves them. */
const PROMETHEUS_SERIES = new Set(['up']);
/** Labels every scraped series carries: the target's (added by Prometheus) and the gateway's default label. */
const EVERY_SERIES_LABELS = new Set(['instance', 'job', 'party']);
/** The PromQL words the docs use besides metric names; anything else bare is taken for a misspelt metric. */
const PROMQL_WORDS = new Set([
  'sum',
  'min',
  'max',
  'by',
  'on',
  'and',
  'unless',
  'rate',
  'increase',
  'delta',
  'deriv',
  'histogram_quantile',
  'min_over_time',
]);

type Exported = { types: Map<string, string>; labels: Map<string, readonly string[]> };
let exported: Exported;

beforeAll(async () => {
  await using gw = await makeTestGateway();
  const text = (await gw.app.inject({ method: 'GET', url: '/metrics' })).body;
  const types = parseTypes(text);
  const labels = new Map<string, readonly string[]>();
  for (const name of types.keys()) {
    const metric = gw.ctx.metrics.registry.getSingleMetric(name) as unknown as { labelNames?: readonly string[] };
    labels.set(name, metric.labelNames ?? []);
  }
  exported = { types, labels };
});

const sealgateMetrics = () => [...exported.types.keys()].filter((name) => name.startsWith('sealgate_'));

/** The family a sample name belongs to: a histogram's _bucket, _sum and _count series are its own. */
function familyOf(series: string): { family: string; extraLabels: string[] } | null {
  if (exported.types.has(series) || PROMETHEUS_SERIES.has(series)) return { family: series, extraLabels: [] };
  const match = /^(.*)_(bucket|sum|count)$/.exec(series);
  const base = match?.[1];
  if (base === undefined || !['histogram', 'summary'].includes(exported.types.get(base) ?? '')) return null;
  return { family: base, extraLabels: match?.[2] === 'bucket' ? ['le'] : [] };
}

/**
 * What a PromQL expression reads: each metric it names, with the labels its matchers and groupings use. Errors
 * name a series /metrics does not export, a label its metric does not carry, or a word that is neither.
 */
function checkExpression(expr: string): { families: Set<string>; errors: string[] } {
  const errors: string[] = [];
  const families = new Set<string>();
  const known = new Set<string>(EVERY_SERIES_LABELS);
  const useSeries = (series: string, labels: readonly string[]) => {
    const found = familyOf(series);
    if (found === null) return errors.push(`${series} is not exported by /metrics`);
    families.add(found.family);
    const allowed = new Set([
      ...EVERY_SERIES_LABELS,
      ...found.extraLabels,
      ...(exported.labels.get(found.family) ?? []),
    ]);
    for (const label of allowed) known.add(label);
    for (const label of labels) if (!allowed.has(label)) errors.push(`${series} has no label ${label}`);
  };
  // Selectors with matchers: `name{label="value", other=~"..."}`.
  for (const [, series, body] of expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}/g))
    useSeries(
      series as string,
      [...(body as string).matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)\s*"/g)].map((m) => m[1] as string),
    );
  const groupings = [...expr.matchAll(/\b(?:by|without|on|ignoring)\s*\(([^)]*)\)/g)].flatMap((m) =>
    (m[1] as string).split(',').map((label) => label.trim()),
  );
  // Bare selectors: what is left once strings, matchers, ranges, groupings and numbers are gone.
  const rest = expr
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, '$1 ')
    .replace(/\$\w+/g, ' ');
  for (const [word] of rest.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    if (PROMQL_WORDS.has(word) || expr.includes(`${word}{`)) continue;
    if (/^(sealgate|process|nodejs)_/.test(word) || PROMETHEUS_SERIES.has(word)) useSeries(word, []);
    else errors.push(`unknown word ${word}`);
  }
  for (const label of groupings) if (!known.has(label)) errors.push(`no metric of the expression has label ${label}`);
  return { families, errors };
}

type Panel = {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: { expr: string; refId: string; datasource?: { uid: string } }[];
  panels?: Panel[];
};
type Dashboard = {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: { name: string; type: string; query: string | { query: string } }[] };
};

describe('docs/grafana-dashboard.json', () => {
  const dashboard = JSON.parse(read('grafana-dashboard.json')) as Dashboard;
  const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);

  it('is a Grafana dashboard with a Prometheus data source variable every panel and query uses', () => {
    expect(dashboard.uid).toMatch(/^[a-z0-9-]{1,40}$/);
    expect(dashboard.title).toBeTruthy();
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39);
    expect(dashboard.templating.list).toContainEqual(
      expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }),
    );
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    for (const panel of panels) {
      expect(panel.gridPos.x + panel.gridPos.w, panel.title).toBeLessThanOrEqual(24);
      if (panel.type === 'row') continue;
      expect(['stat', 'timeseries', 'state-timeline'], panel.title).toContain(panel.type);
      expect(panel.datasource, panel.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) expect(target.datasource?.uid, panel.title).toBe('${datasource}');
    }
  });

  it('queries only metrics and labels /metrics exports, and shows every sealgate metric', () => {
    const shown = new Set<string>();
    for (const panel of panels) {
      for (const target of panel.targets ?? []) {
        const { families, errors } = checkExpression(target.expr);
        expect(errors, `${panel.title}: ${target.expr}`).toEqual([]);
        for (const family of families) shown.add(family);
      }
    }
    for (const variable of dashboard.templating.list.filter((v) => v.type === 'query')) {
      const query = typeof variable.query === 'string' ? variable.query : variable.query.query;
      const [, metric, label] = /^label_values\((\w+),\s*(\w+)\)$/.exec(query) ?? [];
      expect(exported.types.has(metric ?? ''), query).toBe(true);
      expect([...EVERY_SERIES_LABELS, ...(exported.labels.get(metric ?? '') ?? [])], query).toContain(label);
    }
    expect(sealgateMetrics().filter((name) => !shown.has(name))).toEqual([]);
  });
});

type Rule = { alert: string; expr: string; for?: string; labels: { severity: string }; annotations: object };

describe('docs/prometheus-alerts.yml', () => {
  const rules = (parse(read('prometheus-alerts.yml')) as { groups: { name: string; rules: Rule[] }[] }).groups.flatMap(
    (g) => g.rules,
  );

  it('has the alerts an operator needs, each with a severity, a summary and a description', () => {
    expect(rules.map((r) => r.alert)).toEqual([
      'SealgateDown',
      'SealgateNotReady',
      'SealgateComponentDegraded',
      'SealgateAnchoringLagHigh',
      'SealgateLedgerDown',
      'SealgateChainRestarting',
      'SealgatePeerCallsFailing',
      'SealgateJobsFailing',
      'SealgateAuditJournalGrowing',
    ]);
    for (const rule of rules) {
      expect(['critical', 'warning'], rule.alert).toContain(rule.labels.severity);
      expect(rule.annotations, rule.alert).toEqual({ summary: expect.any(String), description: expect.any(String) });
      if (rule.for !== undefined) expect(rule.for, rule.alert).toMatch(/^\d+[smh]$/);
    }
  });

  it('uses only metrics and labels /metrics exports', () => {
    for (const rule of rules) expect(checkExpression(rule.expr).errors, `${rule.alert}: ${rule.expr}`).toEqual([]);
    // Not vacuous: the checker refuses a misspelt metric, a label the metric lacks and a grouping nobody has.
    expect(checkExpression('sealgate_redy == 0').errors).toEqual(['sealgate_redy is not exported by /metrics']);
    expect(checkExpression('sealgate_ledger_up{state="off"} == 0').errors).toEqual([
      'sealgate_ledger_up has no label state',
    ]);
    expect(checkExpression('sum by (peer) (sealgate_jobs)').errors).toEqual([
      'no metric of the expression has label peer',
    ]);
  });
});

describe('docs/operations.md', () => {
  const doc = read('operations.md');

  it('lists every sealgate metric with its type and labels, and names no other', () => {
    const rows = new Map(
      [...doc.matchAll(/^\| `(sealgate_\w+)` \| (\w+) \|([^|]*)\|/gm)].map((m) => [
        m[1] as string,
        { type: m[2], labels: [...(m[3] as string).matchAll(/`(\w+)`/g)].map((l) => l[1]) },
      ]),
    );
    expect([...rows.keys()].sort()).toEqual(sealgateMetrics().sort());
    for (const [name, row] of rows) {
      expect(row.type, name).toBe(exported.types.get(name));
      expect(row.labels.sort(), name).toEqual([...(exported.labels.get(name) ?? [])].sort());
    }
    for (const [name] of doc.matchAll(/\b(?:sealgate|process|nodejs)_\w+/g))
      expect(familyOf(name), `${name} in docs/operations.md`).not.toBeNull();
  });
});
