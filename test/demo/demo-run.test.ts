// The demo in its small configuration (docs/demo.md): three real gateways on one shared chain, the story through their
// APIs, and a summary whose numbers agree with what the generator put in: PSI finds exactly the customers all three
// hold and consented, the columns that carry a partner's signal exactly screen best, and the generator's errors and
// lift lie inside the intervals the demo measured. Nothing is left running.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runDemo, SMALL_DEMO, summaryTable, type DemoSummary } from '../../gateway/demo/demo-run.ts';
import { isPortFree } from '../fixtures/free-port.ts';

const dir = mkdtempSync(join(tmpdir(), 'sealgate-demo-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sealgate demo --small', () => {
  let summary: DemoSummary;
  const lines: string[] = [];

  it('runs the story on three gateways and stops them', async () => {
    const result = await runDemo(
      { ...SMALL_DEMO, dir, keep: false },
      { line: (text) => lines.push(text), progress: () => undefined },
    );
    summary = result.summary;
    expect(result.gateways).toBeNull();
    for (const url of [...Object.values(summary.urls), summary.rpcUrl])
      expect(await isPortFree(Number(new URL(url).port)), url).toBe(true);
    expect(lines.join('\n')).toContain('4. A vertical CLV model');
  }, 240_000);

  it('finds exactly the customers all three hold and consented', () => {
    expect(summary.intersection.found).toBeGreaterThan(100);
    expect(summary.intersection.found).toBe(summary.intersection.expected);
  });

  it("ranks each partner's exact signal column first by information value", () => {
    const iv = summary.informationValue;
    expect(iv['insurer-a.policy_premium']).toBeGreaterThan(
      Math.max(iv['insurer-a.claims_3y']!, iv['insurer-a.tenure_years']!),
    );
    expect(iv['charging-net.charging_kwh_month']).toBeGreaterThan(
      Math.max(iv['charging-net.sessions_month']!, iv['charging-net.home_share']!),
    );
  });

  it("measures errors and a lift whose intervals hold the generator's", () => {
    const { baseline, joint, reduction, expected } = summary.model;
    const inside = (value: number, i: { low: number | null; high: number | null }) =>
      i.low !== null && i.high !== null && value >= i.low && value <= i.high;
    expect(inside(expected.baseline, baseline), JSON.stringify(baseline)).toBe(true);
    expect(inside(expected.joint, joint), JSON.stringify(joint)).toBe(true);
    expect(inside(1 - expected.joint / expected.baseline, reduction), JSON.stringify(reduction)).toBe(true);
    // And the joint model is measurably better: its interval lies wholly above no lift.
    expect(reduction.low).toBeGreaterThan(0);
    expect(summaryTable(summary).join('\n')).toContain("the generator's");
  });
});
