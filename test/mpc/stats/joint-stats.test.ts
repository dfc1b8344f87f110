// Joint statistics between two gateways on the FATE breast split: the dealer holds a segment and the label, the
// insurer numeric columns. The result must equal the plaintext computation on the joined rows, with small groups
// suppressed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readOutput, stopJobMesh } from '../jobs/job-fixture.ts';
import { COLUMNS, runStats } from './stats-fixture.ts';
import { alignParties, segmentOf, startJointMesh, type JointMesh } from '../joint/joint-fixture.ts';
import { binOf, quantileBoundaries } from '../../../mpc/stats/stat-columns.ts';
import type { StatsResult } from '../../../mpc/stats/stats-guest.ts';

const K = 10;
let mesh: JointMesh;
let psiJob: string;

beforeAll(async () => {
  mesh = await startJointMesh(
    [
      { id: 'dealer', split: 'breast_hetero_guest', withSegment: true },
      { id: 'insurer', split: 'breast_hetero_host' },
    ],
    K,
  );
  psiJob = await alignParties(mesh.gateways);
}, 240_000);

afterAll(async () => stopJobMesh(mesh?.gateways ?? []));

/** The plaintext reference: host values by id, with the guest's segment and label. */
function joined(mesh: JointMesh) {
  const guest = mesh.splits.get('dealer')!;
  const host = mesh.splits.get('insurer')!;
  const y = new Map(guest.rows.map((r) => [r[0] as string, Number(r[guest.header.indexOf('y')])]));
  return host.rows
    .filter((r) => y.has(r[0] as string))
    .map((r) => ({
      segment: segmentOf(r[0] as string),
      y: y.get(r[0] as string) as number,
      values: Object.fromEntries(COLUMNS.map((c) => [c, Number(r[host.header.indexOf(c)])])),
    }));
}

describe('joint statistics', () => {
  it('equals the plaintext statistics and information values, with groups under k suppressed', async () => {
    const { id, views } = await runStats(mesh.gateways, { psiJob, segment: 'segment', label: 'y', bins: 5 });
    expect(views.map((v) => [v.status, v.failure?.code ?? null])).toEqual([
      ['completed', null],
      ['completed', null],
    ]);
    const out = await readOutput(mesh.gateways[0]!, id);
    expect(out.status).toBe(200);
    const result = out.body.result as StatsResult;
    const rows = joined(mesh);
    expect(result.rows).toBe(rows.length);
    expect(result.k).toBe(K);

    const sizes = new Map<string, number>();
    for (const r of rows) sizes.set(r.segment, (sizes.get(r.segment) ?? 0) + 1);
    expect(sizes.get('island')).toBeGreaterThan(0);
    expect(sizes.get('island')).toBeLessThan(K);
    expect(result.groups).toContainEqual({ segment: 'island', size: null, suppressed: true });

    const described = result.hosts.insurer!;
    for (const column of COLUMNS) {
      const entry = described[column]!;
      expect(Object.keys(entry.byGroup).sort()).toEqual(['east', 'north', 'south']);
      for (const [segment, stats] of Object.entries(entry.byGroup)) {
        const values = rows.filter((r) => r.segment === segment).map((r) => r.values[column] as number);
        const sum = values.reduce((a, b) => a + b, 0);
        const mean = sum / values.length;
        const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length;
        expect(stats.count).toBe(values.length);
        // CKKS: about 2^-9 absolute per sum of scaled values, times the column's power-of-two scale.
        const tolerance = 0.01 * 2 ** entry.scaleExponent;
        expect(Math.abs((stats.sum as number) - sum)).toBeLessThan(tolerance);
        expect(Math.abs((stats.mean as number) - mean)).toBeLessThan(tolerance / values.length + 1e-9);
        expect(Math.abs((stats.variance as number) - variance)).toBeLessThan(0.01 * 4 ** entry.scaleExponent);
        const edges = [stats.histogram[0]!.to! - (stats.histogram[1]!.to! - stats.histogram[0]!.to!)];
        for (const cell of stats.histogram.slice(0, -1)) edges.push(cell.to as number);
        edges.push(Infinity);
        const counts = new Array(stats.histogram.length).fill(0);
        for (const v of values) counts[binOf(edges, v)]++;
        expect(stats.histogram.map((c) => c.count)).toEqual(counts.map((n) => (n >= K ? n : null)));
      }

      // Information value: the same equal-frequency bins over every kept customer, against the label.
      const all = rows.map((r) => r.values[column] as number);
      const boundaries = quantileBoundaries(Float64Array.from(all).sort(), 5);
      const binIndex = (v: number) => boundaries.filter((b) => v >= b).length;
      const events = new Array(boundaries.length + 1).fill(0);
      const nonEvents = new Array(boundaries.length + 1).fill(0);
      for (const r of rows) (r.y === 1 ? events : nonEvents)[binIndex(r.values[column] as number)]++;
      const totalE = events.reduce((a, b) => a + b, 0);
      const totalN = nonEvents.reduce((a, b) => a + b, 0);
      let iv = 0;
      events.forEach((e, b) => {
        if (e + nonEvents[b] < K) return;
        const er = Math.max(e, 0.5) / totalE;
        const nr = Math.max(nonEvents[b], 0.5) / totalN;
        iv += (er - nr) * Math.log(er / nr);
      });
      const information = entry.informationValue!;
      expect(information.bins.filter((b) => b.count !== null).map((b) => [b.events, b.nonEvents])).toEqual(
        events.map((e, b) => [e, nonEvents[b]]).filter(([e, n]) => e + n >= K),
      );
      expect(Math.abs(information.iv - iv)).toBeLessThan(1e-9);
    }
  }, 180_000);
});
