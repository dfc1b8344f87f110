// The README's two-gateway walkthrough stays true: examples/two-gateway-psi.sh runs end to end against two real
// gateway processes, the PSI job finds exactly the consented customers both partners hold, and nothing is left
// running. The README section shows only routes the script really calls.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, isPortFree } from '../fixtures/free-port.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const SCRIPT = 'examples/two-gateway-psi.sh';
const SECTION = '## Joint jobs between partners (two gateways, one PSI job)';
/** The script's own deadlines (60 s start, 120 s watch) end it first; this only catches a script that hangs. */
const KILL_AFTER_MS = 200_000;

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

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => String(from + i));

describe('README walkthrough: two gateways, one consent-filtered PSI job', () => {
  const work = mkdtempSync(join(tmpdir(), 'sealgate-walkthrough-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it(
    'runs end to end, finds exactly the consented customers both hold, and stops both gateways',
    async () => {
      const [portA, portB] = [await freePort(), await freePort()];
      const run = await runScript({ WORK: work, PORT_A: String(portA), PORT_B: String(portB) });
      const tail = `\n--- stdout\n${run.stdout.slice(-3000)}\n--- stderr\n${run.stderr.slice(-3000)}`;
      expect(run.code, tail).toBe(0);
      // 60 customers in common (61..120), minus the 5 dealer customers who withdrew (61..65).
      expect(run.stdout, tail).toContain('intersection: 55 subjects\n');

      // The trap stopped both gateways: their ports are free again.
      expect(await isPortFree(portA)).toBe(true);
      expect(await isPortFree(portB)).toBe(true);

      // Each receiver's output, mapped back to customer ids through the consent app's own receipts (record.subject is
      // the gateway's pseudonym of the id it was given), is exactly 66..120, in the same order at both parties.
      const json = (file: string) => JSON.parse(readFileSync(join(work, file), 'utf8')) as Record<string, unknown>;
      const idsOf = (party: string) => {
        const byPseudonym = new Map<string, string>();
        const [from, to] = party === 'dealer-4s' ? [1, 120] : [61, 200];
        for (const id of range(from, to))
          byPseudonym.set((json(`consents-${party}/${id}.json`).record as { subject: string }).subject, id);
        const output = json(`output-${party}.json`) as { count: number; subjects: string[] };
        expect(output.count).toBe(55);
        return output.subjects.map((s) => byPseudonym.get(s) ?? `unknown ${s}`);
      };
      const dealer = idsOf('dealer-4s');
      const insurer = idsOf('insurer-a');
      expect([...dealer].sort((a, b) => Number(a) - Number(b))).toEqual(range(66, 120));
      expect(insurer).toEqual(dealer);
    },
    KILL_AFTER_MS + 40_000,
  );

  it('the README section points to the script and shows only routes the script calls', () => {
    const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
    const script = readFileSync(join(REPO, SCRIPT), 'utf8');
    expect(readme).toContain(SECTION);
    const section = readme.split(SECTION)[1]?.split('\n## ')[0] ?? '';
    expect(section).toContain(`bash ${SCRIPT}`);
    const routes = [...new Set(section.match(/\/(?:peer\/)?v1\/[a-z/-]+/g) ?? [])];
    expect(routes.length).toBeGreaterThan(5);
    for (const route of routes) expect(script, route).toContain(route);
  });
});
