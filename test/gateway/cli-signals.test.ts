// Stopping: `npm start` stops cleanly, embedded chain included, on SIGINT or SIGTERM to the process that was started
// (npm itself, as a process manager or a terminal sends it). The npm scripts exec the gateway, so no shell stands
// between npm, which forwards the signal, and the gateway, which shuts down on it; before, a shell swallowed SIGINT
// and SIGTERM left the gateway and its chain running as orphans.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { freePort, isPortFree } from '../fixtures/free-port.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

/** npm as `npm test` ran it (npm_execpath, a JS file run with the node that runs npm), else npm on the PATH. */
function npmCommand(): { command: string; args: string[] } {
  const execPath = process.env.npm_execpath;
  if (execPath !== undefined && execPath.endsWith('.js'))
    return { command: process.env.npm_node_execpath ?? 'node', args: [execPath] };
  return { command: 'npm', args: [] };
}

async function startThenSignal(signal: NodeJS.Signals, ledger: 'off' | 'local') {
  const dataDir = mkdtempSync(join(tmpdir(), 'sealgate-signals-'));
  const port = await freePort();
  const npm = npmCommand();
  const child = spawn(npm.command, [...npm.args, 'start'], {
    cwd: REPO,
    env: { ...process.env, SEALGATE_DATA_DIR: dataDir, PORT: String(port), SEALGATE_LEDGER: ledger },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`npm start did not listen within 60 s:\n${output}`)), 60_000);
      const onData = (d: Buffer) => {
        output += d.toString();
        if (output.includes('sealgate listening on')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', () => reject(new Error(`npm start exited early:\n${output}`)));
    });
    const chainPort = Number(/"rpcUrl":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(output)?.[1] ?? NaN);
    child.kill(signal);
    const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 30_000).unref());
    expect(await Promise.race([exited, timeout]), output).not.toBe('timeout');
    // Nothing is left serving: the gateway's port, and the chain's when it ran one, are free again.
    expect(await isPortFree(port)).toBe(true);
    return { output, chainPort };
  } finally {
    child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
}

describe('npm start under a signal', () => {
  it('SIGINT stops the gateway and its embedded chain', async () => {
    const { output, chainPort } = await startThenSignal('SIGINT', 'local');
    expect(Number.isInteger(chainPort)).toBe(true);
    expect(await isPortFree(chainPort)).toBe(true);
    expect(output).toContain('local chain stopped');
    // Every log line names the party and the process once: a field of a line never repeats a base field.
    const lines = output.split('\n').filter((l) => l.startsWith('{'));
    expect(lines.length).toBeGreaterThan(5);
    for (const line of lines) {
      for (const key of ['level', 'time', 'partyId', 'pid', 'msg']) {
        expect(line.split(`"${key}":`).length - 1, `${key} in ${line}`).toBeLessThanOrEqual(1);
      }
    }
  }, 120_000);

  it('SIGTERM stops the gateway', async () => {
    await startThenSignal('SIGTERM', 'off');
  }, 120_000);
});
