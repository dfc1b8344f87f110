// The on-disk policy bundle in <dataDir>/policies/: a Cedar schema (human format), Cedar policies and
// the purpose catalogue (JSON). Files are replaced atomically (write temp, fsync, rename, fsync dir).
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { GatewayError } from '../core/errors.ts';
import { fsyncPath } from '../core/fsync.ts';
import { DEFAULT_POLICY_BUNDLE } from './default-policy-bundle.ts';
import { PurposeCatalog } from './purpose.ts';

export const PolicyBundle = z.strictObject({
  schema: z
    .string()
    .min(1)
    .max(256 * 1024),
  policies: z.string().max(1024 * 1024),
  purposes: PurposeCatalog,
});
export type PolicyBundle = z.infer<typeof PolicyBundle>;

export const POLICY_FILES = {
  schema: 'schema.cedarschema',
  policies: 'policies.cedar',
  purposes: 'purposes.json',
} as const;

const MAX_FILE_BYTES = 1024 * 1024;

async function readBundleFile(dir: string, name: string): Promise<string> {
  const path = join(dir, name);
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (cause) {
    throw new GatewayError('POLICY_INVALID', `policy bundle file ${name} is missing`, { file: name }, { cause });
  }
  if (size > MAX_FILE_BYTES)
    throw new GatewayError('POLICY_INVALID', `policy bundle file ${name} is too large`, { file: name, bytes: size });
  return readFile(path, 'utf8');
}

function issuesOf(error: z.ZodError): Array<{ path: string; message: string }> {
  return error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
}

/**
 * Read and shape-check the bundle in `dir`. Throws POLICY_INVALID naming the missing or malformed file.
 * Cedar syntax and validation are checked by compilePolicyBundle, not here.
 */
export async function loadPolicyBundle(dir: string): Promise<PolicyBundle> {
  const schema = await readBundleFile(dir, POLICY_FILES.schema);
  const policies = await readBundleFile(dir, POLICY_FILES.policies);
  const purposesText = await readBundleFile(dir, POLICY_FILES.purposes);
  let purposes: unknown;
  try {
    purposes = JSON.parse(purposesText);
  } catch (cause) {
    throw new GatewayError(
      'POLICY_INVALID',
      `${POLICY_FILES.purposes} is not valid JSON`,
      { file: POLICY_FILES.purposes },
      { cause },
    );
  }
  const parsed = PolicyBundle.safeParse({ schema, policies, purposes });
  if (!parsed.success) {
    throw new GatewayError('POLICY_INVALID', 'policy bundle does not match its schema', {
      errors: issuesOf(parsed.error),
    });
  }
  return parsed.data;
}

async function writeTemp(dir: string, name: string, text: string): Promise<string> {
  const temp = join(dir, `.${name}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', 0o640);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  return temp;
}

/**
 * Replace the bundle in `dir`. All three temps are written and fsynced before the first rename, so a
 * crash leaves either old files or complete new files, never a torn one; the window in which files of
 * two versions coexist is three renames long. Callers compile the bundle first: this only checks shape.
 */
export async function writePolicyBundle(dir: string, bundle: PolicyBundle): Promise<void> {
  const parsed = PolicyBundle.safeParse(bundle);
  if (!parsed.success) {
    throw new GatewayError('POLICY_INVALID', 'policy bundle does not match its schema', {
      errors: issuesOf(parsed.error),
    });
  }
  await mkdir(dir, { recursive: true, mode: 0o750 });
  const contents: Array<[string, string]> = [
    [POLICY_FILES.schema, parsed.data.schema],
    [POLICY_FILES.policies, parsed.data.policies],
    [POLICY_FILES.purposes, `${JSON.stringify(parsed.data.purposes, null, 2)}\n`],
  ];
  const temps: Array<[string, string]> = [];
  try {
    for (const [name, text] of contents) temps.push([await writeTemp(dir, name, text), name]);
    for (const [temp, name] of temps) await rename(temp, join(dir, name));
    temps.length = 0;
    await fsyncPath(dir);
  } finally {
    for (const [temp] of temps) await rm(temp, { force: true });
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Write the default bundle if `dir` holds none of its files; returns whether it did. A partial bundle is
 * left alone, so a later load fails loudly instead of silently mixing defaults into an operator's edit.
 */
export async function seedDefaultPolicyBundle(dir: string): Promise<boolean> {
  for (const name of Object.values(POLICY_FILES)) {
    if (await exists(join(dir, name))) return false;
  }
  await writePolicyBundle(dir, DEFAULT_POLICY_BUNDLE);
  return true;
}
