// The servers under load run as child processes on loopback, as an operator runs them: the real gateway
// (`gateway/cli/cli.ts serve`, through the test fixture) and the bare Fastify baseline. Every child is tracked and
// killed when the benchmark exits, fails or is interrupted, so no server outlives a run.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startChildGateway, type ChildGateway } from '../test/fixtures/child-gateway.ts';

const BARE_SERVER = fileURLToPath(new URL('./bare-server.ts', import.meta.url));
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;

const children = new Set<ChildProcess>();

function track(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
}

/** SIGKILL for every child still running; safe to call from an 'exit' handler (synchronous). */
export function killAllChildren(): void {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
}

process.once('exit', killAllChildren);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAllChildren();
    process.exit(130);
  });
}

/** Asks a child to stop (SIGTERM: the gateway drains and closes its database); SIGKILL if it does not. */
export function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export type BareServer = { url: string; process: ChildProcess };

/** bench/bare-server.ts answering POST /bare with `body`. */
export async function startBareServer(body: string): Promise<BareServer> {
  const child = spawn(process.execPath, [BARE_SERVER], {
    env: { ...process.env, BARE_BODY: body },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(child);
  let out = '';
  child.stderr.on('data', (b: Buffer) => {
    out += b.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`bare server did not start:\n${out}`));
    }, START_TIMEOUT_MS);
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      const match = /bare listening on (http:\/\/\S+)/.exec(out);
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`bare server exited with ${code}:\n${out}`));
    });
  });
  return { url, process: child };
}

/** The real gateway on a fresh data directory; `env` adds to the fixture's (log level warn, test passphrase). */
export async function startGatewayChild(dataDir: string, env: Record<string, string>): Promise<ChildGateway> {
  const gateway = await startChildGateway({ dataDir, env, timeoutMs: START_TIMEOUT_MS });
  track(gateway.process);
  if (gateway.adminToken === undefined) throw new Error('gateway printed no admin token on first start');
  return gateway;
}
