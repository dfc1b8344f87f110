// docs/errors.md stays in step with the catalogue: every code has a row with its exact status and
// a meaning and a fix, and the table lists no code that no longer exists.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CATALOGUE, isErrorCode, type ErrorCode } from '../../core/errors.ts';
import { problemType } from '../../gateway/http/problem.ts';

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
const rows = new Map(
  [...doc.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \| (.+?) \| (.+?) \|$/gm)].map((m) => [
    m[1] as string,
    { status: Number(m[2]), meaning: m[3] as string, fix: m[4] as string },
  ]),
);

describe('docs/errors.md', () => {
  it.each(Object.keys(CATALOGUE) as ErrorCode[])('documents %s with its status, meaning and fix', (code) => {
    const row = rows.get(code);
    expect(row, `docs/errors.md has no row for ${code}`).toBeDefined();
    expect(row?.status).toBe(CATALOGUE[code].status);
    expect(row?.meaning.length).toBeGreaterThan(20);
    expect(row?.fix.length).toBeGreaterThan(10);
  });

  it('lists no code that is not in the catalogue', () => {
    expect([...rows.keys()].filter((code) => !isErrorCode(code))).toEqual([]);
  });

  it('every code has a title and a kebab-case problem type', () => {
    for (const code of Object.keys(CATALOGUE) as ErrorCode[]) {
      expect(CATALOGUE[code].title.length).toBeGreaterThan(0);
      expect(problemType(code)).toMatch(/^https:\/\/sealgate\.dev\/problems\/[a-z]+(-[a-z]+)*$/);
    }
  });
});
