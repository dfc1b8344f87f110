// The on-disk policy bundle: seeded once, written atomically, loaded with a named error for each defect.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compilePolicyBundle } from '../../consent/cedar.ts';
import { DEFAULT_POLICY_BUNDLE } from '../../consent/default-policy-bundle.ts';
import {
  POLICY_FILES,
  loadPolicyBundle,
  seedDefaultPolicyBundle,
  writePolicyBundle,
} from '../../consent/policy-set.ts';
import { GatewayError } from '../../core/errors.ts';

let dir: string;
beforeEach(async () => {
  dir = join(await mkdtemp(join(tmpdir(), 'sealgate-policy-')), 'policies');
});
afterEach(async () => {
  await rm(join(dir, '..'), { recursive: true, force: true });
});

async function rejection(promise: Promise<unknown>): Promise<GatewayError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GatewayError);
  return error as GatewayError;
}

describe('policy bundle on disk', () => {
  it('seeds the defaults on first start, and only then', async () => {
    expect(await seedDefaultPolicyBundle(dir)).toBe(true);
    expect(await loadPolicyBundle(dir)).toEqual(DEFAULT_POLICY_BUNDLE);
    await writeFile(join(dir, POLICY_FILES.policies), '// operator edit\n');
    expect(await seedDefaultPolicyBundle(dir)).toBe(false);
    expect(await readFile(join(dir, POLICY_FILES.policies), 'utf8')).toBe('// operator edit\n');
  });
  it('the seeded defaults compile under strict validation', async () => {
    await seedDefaultPolicyBundle(dir);
    expect(compilePolicyBundle(await loadPolicyBundle(dir)).version).toMatch(/^[0-9a-f]{64}$/);
  });
  it('does not complete a partial bundle with defaults', async () => {
    await seedDefaultPolicyBundle(dir);
    await rm(join(dir, POLICY_FILES.schema));
    expect(await seedDefaultPolicyBundle(dir)).toBe(false);
    const error = await rejection(loadPolicyBundle(dir));
    expect(error.code).toBe('POLICY_INVALID');
    expect(error.detail).toEqual({ file: POLICY_FILES.schema });
  });
  it('round-trips a written bundle and leaves no temp files', async () => {
    const bundle = { ...DEFAULT_POLICY_BUNDLE, policies: '// deny everything\n' };
    await writePolicyBundle(dir, bundle);
    expect(await loadPolicyBundle(dir)).toEqual(bundle);
    expect((await readdir(dir)).sort()).toEqual(Object.values(POLICY_FILES).sort());
  });
  it('refuses to write a bundle whose purposes are malformed, leaving the old one', async () => {
    await seedDefaultPolicyBundle(dir);
    const bad = {
      ...DEFAULT_POLICY_BUNDLE,
      purposes: { marketing: { ...DEFAULT_POLICY_BUNDLE.purposes['marketing'], allowedRecipients: ['*'] } },
    };
    const error = await rejection(writePolicyBundle(dir, bad as never));
    expect(error.code).toBe('POLICY_INVALID');
    expect(error.detail['errors']).toEqual([
      { path: 'purposes.marketing.allowedRecipients.0', message: expect.any(String) },
    ]);
    expect(await loadPolicyBundle(dir)).toEqual(DEFAULT_POLICY_BUNDLE);
  });
  it('names purposes.json when it is not JSON', async () => {
    await seedDefaultPolicyBundle(dir);
    await writeFile(join(dir, POLICY_FILES.purposes), '{ not json');
    const error = await rejection(loadPolicyBundle(dir));
    expect(error.code).toBe('POLICY_INVALID');
    expect(error.detail).toEqual({ file: POLICY_FILES.purposes });
  });
  it('lists schema violations in purposes.json by path', async () => {
    await seedDefaultPolicyBundle(dir);
    await writeFile(
      join(dir, POLICY_FILES.purposes),
      JSON.stringify({ marketing: { ...DEFAULT_POLICY_BUNDLE.purposes['marketing'], kThreshold: 0 } }),
    );
    const error = await rejection(loadPolicyBundle(dir));
    expect(error.code).toBe('POLICY_INVALID');
    expect(error.detail['errors']).toEqual([{ path: 'purposes.marketing.kThreshold', message: expect.any(String) }]);
  });
});
