// Committed status-tree vectors (test/vectors/status-vectors.json): the file is what the generator writes, every
// verdict holds under consent/status-tree.ts, and an independent Python verifier written from the spec agrees.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  buildStatusTree,
  verifyStatusExclusion,
  verifyStatusInclusion,
  type StatusLeafValue,
} from '../../consent/status-tree.ts';
import { statusVectors } from '../vectors/status-vector-generator.ts';

const VECTORS = fileURLToPath(new URL('../vectors/status-vectors.json', import.meta.url));
const PYTHON_VERIFIER = fileURLToPath(new URL('../vectors/status_verify.py', import.meta.url));
const text = readFileSync(VECTORS, 'utf8');
const vectors = JSON.parse(text) as ReturnType<typeof statusVectors>;
type Check = (typeof vectors.craftedChecks)[number];

const verdict = (check: Check): boolean =>
  check.claim === 'inclusion'
    ? verifyStatusInclusion(Buffer.from(check.root, 'hex'), check.value, check.proof)
    : verifyStatusExclusion(Buffer.from(check.root, 'hex'), check.recordId, check.proof);

/** python3 on the committed file, or on `input` through stdin. python3 missing is a failure, not a skip. */
function runPython(input?: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync('python3', [PYTHON_VERIFIER, ...(input === undefined ? [] : ['-'])], {
    ...(input === undefined ? {} : { input }),
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (result.error !== undefined) throw new Error(`python3 could not run: ${result.error.message}`);
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('status-tree vectors', () => {
  it('the committed file is exactly what the generator writes', () => {
    expect(text).toBe(JSON.stringify(statusVectors(), null, 2) + '\n');
  });

  it('covers trees of 0, 1, 2, 5 and 64 leaves, both exclusion ends and tampered cases', () => {
    expect(vectors.trees.map((t) => t.size)).toEqual([0, 1, 2, 5, 64]);
    const checks = [...vectors.trees.flatMap((t) => t.checks), ...vectors.craftedChecks] as Check[];
    const honestExclusions = checks.filter((c) => c.claim === 'exclusion' && c.expected);
    expect(honestExclusions.some((c) => c.proof.terminal === null && c.proof.siblings.length > 0)).toBe(true);
    expect(honestExclusions.some((c) => c.proof.terminal !== null)).toBe(true);
    expect(checks.filter((c) => !c.expected).length).toBeGreaterThan(30);
  });

  it('consent/status-tree.ts reproduces every root and proof, and every verdict holds', () => {
    for (const tree of vectors.trees) {
      const values = tree.leaves.map((l) => l.value as StatusLeafValue);
      const built = buildStatusTree(values);
      expect(built.root.toString('hex')).toBe(tree.root);
      for (const check of tree.checks as Check[]) {
        expect({ note: check.note, verdict: verdict(check) }).toEqual({ note: check.note, verdict: check.expected });
        if (check.expected && check.root === tree.root) {
          expect(built.prove(check.claim === 'inclusion' ? check.value.recordId : check.recordId)).toEqual(check.proof);
        }
      }
    }
    for (const check of vectors.craftedChecks as Check[]) expect(verdict(check)).toBe(check.expected);
  });

  it('the independent Python verifier exits 0 on the committed vectors', () => {
    const { status, stdout, stderr } = runPython();
    expect({ status, stderr }).toEqual({ status: 0, stderr: '' });
    expect(stdout).toMatch(/all hold/);
  });

  it('the Python verifier exits 1 when a verdict or a root is wrong, or it skips the prefix rule', () => {
    const mutations: ((doc: ReturnType<typeof statusVectors>) => void)[] = [
      (doc) => {
        doc.trees[3]!.checks[0]!.expected = false;
      },
      (doc) => {
        doc.trees[4]!.root = doc.trees[3]!.root;
      },
      (doc) => {
        const check = doc.craftedChecks[0]!;
        check.expected = true;
      },
    ];
    for (const mutate of mutations) {
      const doc = JSON.parse(text) as ReturnType<typeof statusVectors>;
      mutate(doc);
      expect(runPython(JSON.stringify(doc)).status).toBe(1);
    }
  });
});
