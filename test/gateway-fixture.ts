// Shared set-up for gateway tests: a throwaway data directory, a config built the same way
// production builds it (loadConfig), an in-memory database and captured log lines.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../gateway/app.ts';
import { loadConfig } from '../gateway/config.ts';
import { createContext, type ContextOptions, type GatewayContext } from '../gateway/context.ts';

export const TEST_PASSPHRASE = 'correct horse battery staple';

export function makeDataDir(): { dataDir: string; remove(): void } {
  const dataDir = mkdtempSync(join(tmpdir(), 'sealgate-test-'));
  return { dataDir, remove: () => rmSync(dataDir, { recursive: true, force: true }) };
}

/** A log destination that keeps every line for assertions. */
export function captureLog(): { stream: Writable; lines: string[]; text(): string } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  return { stream, lines, text: () => lines.join('\n') };
}

export type TestGateway = {
  ctx: GatewayContext;
  app: FastifyInstance;
  log: ReturnType<typeof captureLog>;
  adminToken: string;
  tokenFor(role: Parameters<GatewayContext['tokens']['createToken']>[0]): Promise<string>;
  close(): Promise<void>;
};

/** A built (not yet ready) app; tests may add routes before the first inject. */
export async function makeTestGateway(env: Record<string, string> = {}, options: ContextOptions = {}): Promise<TestGateway> {
  const dir = makeDataDir();
  const log = captureLog();
  const config = loadConfig({
    SEALGATE_DATA_DIR: dir.dataDir,
    SEALGATE_PASSPHRASE: TEST_PASSPHRASE,
    SEALGATE_LOG_LEVEL: 'info',
    // Most gateway tests do not need a chain; ledger tests opt in with SEALGATE_LEDGER=local.
    SEALGATE_LEDGER: 'off',
    ...env,
  });
  const ctx = await createContext(config, { databasePath: ':memory:', logDestination: log.stream, ...options });
  const app = await buildApp(ctx);
  const tokenFor = async (role: Parameters<GatewayContext['tokens']['createToken']>[0]) => (await ctx.tokens.createToken(role, 'test')).token;
  const adminToken = await tokenFor('admin');
  return {
    ctx, app, log, adminToken, tokenFor,
    close: async () => {
      await app.close();
      await ctx.close();
      dir.remove();
    },
  };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
