// The `sealgate` CLI as an operator runs it: a real Node 24 child process per command, a temporary
// data directory, exit codes 0 / 1 (failure) / 2 (usage), secrets printed once and only on stdout.
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { keyIdOf } from '../../consent/signer.ts';
import { openDatabase } from '../../core/database.ts';
import { createTokenStore } from '../../gateway/identity/token-store.ts';
import { systemClock } from '../../core/clock.ts';
import { makeDataDir, TEST_PASSPHRASE } from '../fixtures/gateway-fixture.ts';
import { main } from '../../gateway/cli/cli.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'gateway', 'cli', 'cli.ts');
const run = promisify(execFile);

/** Only what the command needs: outside SEALGATE_* variables must not leak into the test. */
const envFor = (dir: string, extra: Record<string, string> = {}) => ({
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? '',
  SEALGATE_DATA_DIR: dir,
  SEALGATE_PASSPHRASE: TEST_PASSPHRASE,
  SEALGATE_LOG_LEVEL: 'warn',
  ...extra,
});

async function cli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { cwd: ROOT, env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/**
 * The same command through main() in this process: the exit code and output a process would give, without a process
 * start each. The child-process runs above and below show that the process's exit code and streams are main()'s.
 */
async function inProcess(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, env, { stdout: (line) => out.push(line), stderr: (line) => err.push(line) });
  return { code, stdout: out.map((l) => `${l}\n`).join(''), stderr: err.map((l) => `${l}\n`).join('') };
}

describe('sealgate CLI', () => {
  it('runs on Node 24', () => {
    expect(process.versions.node.split('.')[0]).toBe('24');
  });

  it('token create prints the token once as JSON; the database keeps only its digest; revoke disables it', async () => {
    using data = makeDataDir();
    const dir = data.dataDir;
    const created = await cli(['token', 'create', '--role', 'exchange', '--label', 'ci bot'], envFor(dir));
    expect(created.code).toBe(0);
    const token = JSON.parse(created.stdout) as { id: string; role: string; label: string; token: string };
    expect(token).toMatchObject({ role: 'exchange', label: 'ci bot' });
    expect(token.token).toMatch(/^sgt_[A-Za-z0-9_-]{43}$/);
    expect(created.stderr).toContain('will not be shown again');
    expect(created.stderr).not.toContain(token.token);

    const listed = await inProcess(['token', 'list'], envFor(dir));
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(token.id);
    expect(listed.stdout).not.toContain(token.token);

    const db = await openDatabase(join(dir, 'sealgate.duckdb'));
    try {
      const dump = JSON.stringify(await db.all('SELECT * FROM api_tokens'));
      expect(dump).not.toContain(token.token);
      expect(await (await createTokenStore(db, systemClock)).authenticate(token.token)).toEqual({
        tokenId: token.id,
        role: 'exchange',
      });
    } finally {
      await db.close();
    }

    const revoked = await inProcess(['token', 'revoke', token.id], envFor(dir));
    expect(revoked.code).toBe(0);
    expect(JSON.parse(revoked.stdout)).toMatchObject({ id: token.id, revokedAt: expect.any(String) });
    const again = await openDatabase(join(dir, 'sealgate.duckdb'));
    try {
      expect(await (await createTokenStore(again, systemClock)).authenticate(token.token)).toBeNull();
    } finally {
      await again.close();
    }
    expect((await inProcess(['token', 'revoke', 'tok_AAAAAAAAAAAAAAAA'], envFor(dir))).code).toBe(1);
  });

  it('keys show prints the public identity as JSON, stable across runs, with no private parts', async () => {
    using data = makeDataDir();
    const dir = data.dataDir;
    const first = await cli(['keys', 'show'], envFor(dir));
    expect(first.code).toBe(0);
    const identity = JSON.parse(first.stdout) as Record<string, string>;
    expect(Object.keys(identity).sort()).toEqual(['ed25519PublicKeyHex', 'evmAddress', 'keyId', 'partyId']);
    expect(identity).toMatchObject({ partyId: 'sealgate-local' });
    expect(identity.ed25519PublicKeyHex).toMatch(/^[0-9a-f]{64}$/);
    // The same key id receipts carry: the first 8 bytes of SHA-256 of the raw public key.
    expect(identity.keyId).toBe(keyIdOf(Buffer.from(identity.ed25519PublicKeyHex!, 'hex')));
    expect(identity.evmAddress).toMatch(/^0x[0-9a-fA-F]{40}$/);
    const second = await inProcess(['keys', 'show'], envFor(dir));
    expect(JSON.parse(second.stdout)).toEqual(identity);
  });

  it('keys show with a wrong passphrase fails with exit 1 and says why', async () => {
    using data = makeDataDir();
    const dir = data.dataDir;
    expect((await inProcess(['keys', 'show'], envFor(dir))).code).toBe(0);
    const wrong = await cli(['keys', 'show'], envFor(dir, { SEALGATE_PASSPHRASE: 'not the right passphrase' }));
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('cannot unlock sealed keys');
    expect(wrong.stdout).toBe('');
  });

  it('usage errors exit 2 with a clear message', async () => {
    using data = makeDataDir();
    const dir = data.dataDir;
    const badRole = await cli(['token', 'create', '--role', 'root'], envFor(dir));
    expect(badRole.code).toBe(2);
    expect(badRole.stderr).toContain(
      'unknown role "root"; expected one of admin, data-steward, compliance-officer, exchange, collector',
    );
    // The process's exit code is main()'s (checked above through a child process); the rest call main() itself, which
    // answers the same without a process start each.
    const usages = [['frobnicate'], [], ['token'], ['token', 'create'], ['keys', 'revoke'], ['serve', '--bogus']];
    for (const args of usages) {
      const stderr: string[] = [];
      const code = await main(args, envFor(dir), { stdout: () => undefined, stderr: (line) => stderr.push(line) });
      expect(code, args.join(' ')).toBe(2);
      expect(stderr[0]).toMatch(/^sealgate: /);
    }
  });

  it('help exits 0 and lists the commands and roles', async () => {
    using data = makeDataDir();
    const help = await inProcess(['help'], envFor(data.dataDir));
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('token create --role ROLE');
    expect(help.stdout).toContain('compliance-officer');
  });

  it('configuration errors exit 1 naming the key', async () => {
    using data = makeDataDir();
    const dir = data.dataDir;
    const port = await cli(['serve'], envFor(dir, { PORT: 'eighty' }));
    expect(port.code).toBe(1);
    expect(port.stderr).toContain('invalid configuration: PORT: expected integer 0..65535');
    const production = await inProcess(['keys', 'show'], {
      ...envFor(dir),
      SEALGATE_ENV: 'production',
      SEALGATE_PASSPHRASE: '',
    });
    expect(production.code).toBe(1);
    expect(production.stderr).toContain('SEALGATE_PASSPHRASE: required when SEALGATE_ENV=production');
  });

  it('serve prints the admin token once on first start, serves, and shuts down cleanly on SIGTERM', async () => {
    using data = makeDataDir();
    const dir = data.dataDir;
    const startServe = async () => {
      const child = spawn(process.execPath, [CLI, 'serve'], {
        cwd: ROOT,
        env: envFor(dir, { PORT: '0' }),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
      });
      child.stderr.resume();
      while (!/sealgate listening on (http:\/\/\S+)/.test(out)) {
        if (child.exitCode !== null) throw new Error(`serve exited early: ${out}`);
        await once(child.stdout, 'data');
      }
      const url = /sealgate listening on (http:\/\/\S+)/.exec(out)?.[1] as string;
      return { child, url, output: () => out };
    };

    const first = await startServe();
    const token = /^SEALGATE_ADMIN_TOKEN=(sgt_\S+)$/m.exec(first.output())?.[1];
    expect(token).toBeDefined();
    expect(first.output()).toContain('will not be shown again');
    expect((await fetch(`${first.url}/health`)).status).toBe(200);
    const list = await fetch(`${first.url}/v1/tokens`, { headers: { authorization: `Bearer ${token}` } });
    expect(list.status).toBe(200);
    expect(((await list.json()) as { tokens: unknown[] }).tokens).toHaveLength(1);
    first.child.kill('SIGTERM');
    const [code] = (await once(first.child, 'exit')) as [number | null];
    expect(code).toBe(0);

    const second = await startServe();
    expect(second.output()).not.toContain('SEALGATE_ADMIN_TOKEN');
    expect((await fetch(`${second.url}/v1/tokens`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(
      200,
    );
    second.child.kill('SIGINT');
    const [code2] = (await once(second.child, 'exit')) as [number | null];
    expect(code2).toBe(0);
  });
});
