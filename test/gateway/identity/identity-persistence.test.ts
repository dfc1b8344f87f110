// The party identity is created once, sealed at rest with owner-only permissions, and reloads to
// the same keys; a wrong passphrase, a foreign party id or a missing production passphrase stop start-up.
import { sign, verify } from 'node:crypto';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { keyIdOf } from '../../../consent/signer.ts';
import { describeIdentity, loadOrCreateIdentity, type Identity } from '../../../gateway/identity/identity.ts';
import { captureLog, makeDataDir, TEST_PASSPHRASE } from '../../fixtures/gateway-fixture.ts';

/** Identity options under `dir` (a test's throwaway data directory), and a logger that keeps its lines. */
function setup(
  dir: { dataDir: string },
  overrides: { passphrase?: string | undefined; env?: 'development' | 'production'; partyId?: string } = {},
) {
  const log = captureLog();
  const options = {
    dataDir: join(dir.dataDir, 'data'),
    partyId: overrides.partyId ?? 'insurer-1',
    env: overrides.env ?? 'development',
    ...('passphrase' in overrides
      ? overrides.passphrase === undefined
        ? {}
        : { passphrase: overrides.passphrase }
      : { passphrase: TEST_PASSPHRASE }),
  } as const;
  return { options, log, logger: pino({ level: 'info' }, log.stream) };
}

const publicHex = (identity: Identity) => Buffer.from(identity.ed25519.publicKeyRaw).toString('hex');

describe('party identity', () => {
  it('creates the keys once and reloads the very same keys', async () => {
    using dir = makeDataDir();
    const { options, logger } = setup(dir);
    const first = await loadOrCreateIdentity(options, logger);
    const second = await loadOrCreateIdentity(options, logger);
    expect(publicHex(second)).toBe(publicHex(first));
    expect(second.ed25519.keyId).toBe(first.ed25519.keyId);
    // The key id is derived from the public key on every load (keys.json holds only the seed).
    expect(first.ed25519.keyId).toBe(keyIdOf(first.ed25519.publicKeyRaw));
    expect(first.ed25519.keyId).toMatch(/^[0-9a-f]{16}$/);
    expect(second.evm.address).toBe(first.evm.address);
    expect(second.evm.privateKeyHex).toBe(first.evm.privateKeyHex);
    expect(Buffer.from(second.subjectKey).equals(Buffer.from(first.subjectKey))).toBe(true);
    expect(second.subjectKey).toHaveLength(32);
    // A signature by the reloaded key verifies under the original public key.
    const message = Buffer.from('consent event');
    expect(verify(null, message, first.ed25519.publicKey, sign(null, message, second.ed25519.privateKey))).toBe(true);
  });

  it('stores keys sealed, owner-only (0600 file, 0700 directory), with no key material in clear', async () => {
    using dir = makeDataDir();
    const { options, logger } = setup(dir);
    const identity = await loadOrCreateIdentity(options, logger);
    const keysFile = join(options.dataDir, 'keys.json');
    expect(statSync(keysFile).mode & 0o777).toBe(0o600);
    expect(statSync(options.dataDir).mode & 0o777).toBe(0o700);
    const text = readFileSync(keysFile, 'utf8');
    expect(JSON.parse(text)).toMatchObject({ v: 1, kdf: { name: 'scrypt' } });
    expect(text).not.toContain(identity.evm.privateKeyHex.slice(2));
    expect(text).not.toContain(Buffer.from(identity.subjectKey).toString('base64url'));
    expect(text).not.toContain(Buffer.from(identity.subjectKey).toString('hex'));
  });

  it('never serializes private parts, and describeIdentity shows public parts only', async () => {
    using dir = makeDataDir();
    const { options, logger } = setup(dir);
    const identity = await loadOrCreateIdentity(options, logger);
    const json = JSON.stringify(identity);
    expect(json).not.toContain(identity.evm.privateKeyHex.slice(2));
    expect(json).not.toContain('subjectKey');
    const described = describeIdentity(identity);
    expect(described).toEqual({
      partyId: 'insurer-1',
      ed25519PublicKeyHex: publicHex(identity),
      keyId: identity.ed25519.keyId,
      evmAddress: identity.evm.address,
    });
    expect(described.evmAddress).toMatch(/^0x[0-9a-fA-F]{40}$/);
  });

  it('refuses to open with a wrong passphrase', async () => {
    using dir = makeDataDir();
    const { options, logger } = setup(dir);
    await loadOrCreateIdentity(options, logger);
    await expect(
      loadOrCreateIdentity({ ...options, passphrase: 'a different passphrase' }, logger),
    ).rejects.toMatchObject({ code: 'KEYSTORE_LOCKED' });
  });

  it('refuses keys created for another party id, naming both fixes: the stored party id or another directory', async () => {
    using dir = makeDataDir();
    const { options, logger } = setup(dir);
    await loadOrCreateIdentity(options, logger);
    const refusal = loadOrCreateIdentity({ ...options, partyId: 'dealer-4s' }, logger);
    await expect(refusal).rejects.toMatchObject({ code: 'CONFLICT' });
    const message = String(((await refusal.catch((e: unknown) => e)) as Error).message);
    expect(message).toContain(`SEALGATE_PARTY_ID=${options.partyId}`);
    expect(message).toContain('SEALGATE_DATA_DIR');
    expect(message).toContain(options.dataDir);
  });

  it('stops a production start without a passphrase, naming SEALGATE_PASSPHRASE, and writes nothing', async () => {
    using dir = makeDataDir();
    const { options, logger } = setup(dir, { env: 'production', passphrase: undefined });
    await expect(loadOrCreateIdentity(options, logger)).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: expect.stringContaining('SEALGATE_PASSPHRASE'),
    });
    expect(() => statSync(join(options.dataDir, 'keys.json'))).toThrow();
    expect(() => statSync(join(options.dataDir, 'passphrase'))).toThrow();
  });

  it('in development without a passphrase, generates one (0600) with a loud warning, and reuses it', async () => {
    using dir = makeDataDir();
    const { options, log, logger } = setup(dir, { passphrase: undefined });
    const first = await loadOrCreateIdentity(options, logger);
    const file = join(options.dataDir, 'passphrase');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8').trim()).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const warning = log.lines
      .map((l) => JSON.parse(l) as { level: number; msg: string })
      .find((l) => l.msg.includes('DEVELOPMENT ONLY'));
    expect(warning?.level).toBe(40);
    const second = await loadOrCreateIdentity(options, logger);
    expect(publicHex(second)).toBe(publicHex(first));
  });

  it('refuses to invent a new passphrase when sealed keys already exist', async () => {
    using dir = makeDataDir();
    const { options, logger } = setup(dir, { passphrase: undefined });
    await loadOrCreateIdentity(options, logger);
    rmSync(join(options.dataDir, 'passphrase'));
    await expect(loadOrCreateIdentity(options, logger)).rejects.toMatchObject({ code: 'KEYSTORE_LOCKED' });
  });

  it('two concurrent first starts end up with one identity', async () => {
    using dir = makeDataDir();
    const { options, logger } = setup(dir);
    const [a, b] = await Promise.all([loadOrCreateIdentity(options, logger), loadOrCreateIdentity(options, logger)]);
    expect(publicHex(a)).toBe(publicHex(b));
    expect(publicHex(await loadOrCreateIdentity(options, logger))).toBe(publicHex(a));
  });

  it('a corrupted keys file is KEYSTORE_LOCKED, never silently replaced', async () => {
    using dir = makeDataDir();
    const { options, logger } = setup(dir);
    await loadOrCreateIdentity(options, logger);
    const keysFile = join(options.dataDir, 'keys.json');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(keysFile, '{"v":1,');
    await expect(loadOrCreateIdentity(options, logger)).rejects.toMatchObject({ code: 'KEYSTORE_LOCKED' });
    expect(readFileSync(keysFile, 'utf8')).toBe('{"v":1,');
  });
});
