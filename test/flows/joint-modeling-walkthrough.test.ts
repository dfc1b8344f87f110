// The README's joint-modeling walkthrough stays true: examples/joint-modeling.sh runs end to end against two real
// gateway processes on the FATE breast split (PSI, joint statistics, a vertical logistic model, the model card at each
// gateway), and nothing is left running. The README section shows only routes and commands the script really calls.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, isPortFree } from '../fixtures/free-port.ts';
import type { ModelPart } from '../../mpc/vfl/model-store.ts';
import type { StatsResult } from '../../mpc/stats/stats-guest.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const SCRIPT = 'examples/joint-modeling.sh';
const SECTION = '## Joint modeling between partners (statistics, a vertical model, its card)';
/** The script's own deadlines (60 s start, 120 + 180 + 360 s of job watches) end it first; this catches a hang. */
const KILL_AFTER_MS = 600_000;
/** Customers of the FATE breast split, all of them at both parties. */
const CUSTOMERS = 569;
/** The "island" segment: ids i with i mod 90 = 7 among 0..568, fewer than the purpose's kThreshold of 10. */
const ISLAND = 7;

type Run = { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string };

/** Runs the script in its own process group, so a hung run can be stopped with both gateways it started. */
function runScript(env: Record<string, string>): Promise<Run> {
  const child = spawn('bash', [SCRIPT], {
    cwd: REPO,
    env: { ...process.env, ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pgid = child.pid as number;
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pgid, signal);
    } catch {
      /* the group has ended */
    }
  };
  // SIGTERM first, so the script's trap stops its gateways; SIGKILL for whatever is still there.
  const term = setTimeout(() => signalGroup('SIGTERM'), KILL_AFTER_MS);
  const kill = setTimeout(() => signalGroup('SIGKILL'), KILL_AFTER_MS + 20_000);
  return new Promise((resolve) => {
    child.once('close', (code, signal) => {
      clearTimeout(term);
      clearTimeout(kill);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

const columns = (n: number) => Array.from({ length: n }, (_, i) => `x${i}`);

describe('README walkthrough: joint modeling between two gateways', () => {
  const work = mkdtempSync(join(tmpdir(), 'sealgate-joint-walkthrough-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it(
    'aligns the breast split, describes it by segment, trains a model above 0.95 AUC, shows each part, and stops',
    async () => {
      const [portA, portB] = [await freePort(), await freePort()];
      const run = await runScript({ WORK: work, PORT_A: String(portA), PORT_B: String(portB) });
      const tail = `\n--- stdout\n${run.stdout.slice(-4000)}\n--- stderr\n${run.stderr.slice(-4000)}`;
      expect(run.code, tail).toBe(0);

      // The trap stopped both gateways: their ports are free again.
      expect(await isPortFree(portA)).toBe(true);
      expect(await isPortFree(portB)).toBe(true);

      // Every customer consented at each gateway, and PSI found all of them at both.
      expect(run.stdout, tail).toContain(`dealer-4s: ${CUSTOMERS} consents granted\n`);
      expect(run.stdout, tail).toContain(`insurer-a: ${CUSTOMERS} consents granted\n`);
      expect(run.stdout, tail).toContain(`dealer-4s learned: ${CUSTOMERS} in common\n`);
      expect(run.stdout, tail).toContain(`insurer-a learned: ${CUSTOMERS} in common\n`);

      // Statistics: the three regions with their sizes, the island suppressed without its size; every insurer column
      // described per large group, with an information value against the label.
      const json = <T>(file: string) => JSON.parse(readFileSync(join(work, file), 'utf8')) as T;
      const stats = json<{ result: StatsResult }>('stats-output.json').result;
      expect(stats.rows).toBe(CUSTOMERS);
      expect(stats.k).toBe(10);
      expect(stats.groups).toContainEqual({ segment: 'island', size: null, suppressed: true });
      const large = stats.groups.filter((g) => !g.suppressed);
      expect(large.map((g) => g.segment).sort()).toEqual(['east', 'north', 'south']);
      expect(large.reduce((n, g) => n + (g.size as number), 0)).toBe(CUSTOMERS - ISLAND);
      expect(Object.keys(stats.hosts['insurer-a'] ?? {}).sort()).toEqual(['x0', 'x1', 'x2']);
      for (const column of Object.values(stats.hosts['insurer-a'] ?? {})) {
        expect(Object.keys(column.byGroup).sort()).toEqual(['east', 'north', 'south']);
        expect(column.informationValue?.iv).toBeGreaterThan(0);
      }
      expect(run.stdout).toContain(`customers described: ${CUSTOMERS} (k = 10)\n`);
      expect(run.stdout).toMatch(/^groups: .*island suppressed/m);
      expect(run.stdout).toMatch(/^insurer-a x0 by group: .*north mean -?[\d.]+ variance [\d.]+/m);
      expect(run.stdout).toMatch(/^information value against y: x0 [\d.]+, x1 [\d.]+, x2 [\d.]+$/m);

      // The model: held-out metrics, the dealer-only baseline and the lift, as printed and as the output holds them.
      const vfl = json<{
        result: { metrics: { auc: number }; guestOnly: { auc: number }; lift: { reduction: number }; heldOut: number };
      }>('vfl-output.json').result;
      expect(vfl.metrics.auc, tail).toBeGreaterThan(0.95);
      expect(vfl.guestOnly.auc).toBeGreaterThan(0.9);
      expect(Number.isFinite(vfl.lift.reduction)).toBe(true);
      const printed = /^joint model +AUC ([\d.]+) +KS [\d.]+ +log-loss [\d.]+$/m.exec(run.stdout);
      expect(Number(printed?.[1]), tail).toBeGreaterThan(0.95);
      expect(run.stdout).toMatch(/^dealer only +AUC [\d.]+ +KS [\d.]+ +log-loss [\d.]+$/m);
      expect(run.stdout).toMatch(
        /^lift over the dealer alone: log-loss reduction -?[\d.]+% \(95% interval -?[\d.]+% to -?[\d.]+%\)$/m,
      );
      expect(run.stdout).toMatch(/^model breast-risk v1: 10 epochs, \d+ rounds in [\d.]+ s \(HE [\d.]+ s\),$/m);
      expect(run.stdout).toContain(`  evaluated on ${vfl.heldOut} held-out customers in `);

      // Each gateway's card is its own part only: its own features and weights; the metrics at the guest alone.
      const dealer = json<ModelPart>('model-dealer-4s.json');
      const insurer = json<ModelPart>('model-insurer-a.json');
      expect([dealer.role, dealer.features, dealer.weights.length]).toEqual(['guest', columns(10), 10]);
      expect([insurer.role, insurer.features, insurer.weights.length]).toEqual(['host', columns(20), 20]);
      expect(typeof dealer.intercept).toBe('number');
      expect(insurer.intercept).toBeNull();
      expect(dealer.evaluation).not.toBeNull();
      expect(insurer.evaluation).toBeNull();
      expect(insurer.lineage.trainingJob).toBe(dealer.lineage.trainingJob);
      expect(insurer.lineage.psiJob).toBe(dealer.lineage.psiJob);
      expect([dealer.lineage.customers, insurer.lineage.customers]).toEqual([CUSTOMERS, CUSTOMERS]);
      // Each consent basis is over the party's own pseudonyms, so the two differ.
      expect(insurer.lineage.consentBasisRoot).not.toBe(dealer.lineage.consentBasisRoot);
      expect(run.stdout).toContain('dealer-4s breast-risk v1 (guest): 10 features x0,x1,');
      expect(run.stdout).toContain('insurer-a breast-risk v1 (host): 20 features x0,x1,');
      expect(run.stdout).toContain('evaluation: none (a host learns no metrics)\n');
      // `sealgate models` at each gateway lists the same training job, as guest at the dealer and host at the insurer.
      const job = dealer.lineage.trainingJob;
      expect(run.stdout).toMatch(new RegExp(`^breast-risk +1 +logistic +guest +\\S+ +${job}$`, 'm'));
      expect(run.stdout).toMatch(new RegExp(`^breast-risk +1 +logistic +host +\\S+ +${job}$`, 'm'));

      expect(run.stdout).toMatch(new RegExp(`\\njoint modeling: ${CUSTOMERS} in common, model breast-risk v1 AUC `));
    },
    KILL_AFTER_MS + 40_000,
  );

  it('the README section points to the script and shows only routes and commands the script calls', () => {
    const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
    const script = readFileSync(join(REPO, SCRIPT), 'utf8');
    expect(readme).toContain(SECTION);
    const section = readme.split(SECTION)[1]?.split('\n## ')[0] ?? '';
    expect(section).toContain(`bash ${SCRIPT}`);
    const routes = [...new Set(section.match(/\/(?:peer\/)?v1\/[a-z/-]+/g) ?? [])];
    expect(routes.length).toBeGreaterThan(5);
    for (const route of routes) expect(script, route).toContain(route);
    // The section shows the CLI as `npm run cli -- …`; the script runs the same commands with the pinned node.
    const commands = [...new Set([...section.matchAll(/npm run cli -- ([a-z]+)/g)].map((m) => m[1]))];
    expect(commands.length).toBeGreaterThan(0);
    for (const command of commands) expect(script, command).toContain(`node gateway/cli/cli.ts ${command}`);
  });
});
