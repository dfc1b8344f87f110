// Connector sources are confined to the import roots: traversal, absolute paths elsewhere, symlinks
// that land outside, non-regular files and glob or quote characters are refused before DuckDB is
// asked, and DuckDB itself is sandboxed to the same roots as a second line of defence.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openConnectors } from '../../connectors/connectors.ts';
import { openDataStore } from '../../connectors/data-store.ts';
import { confineSourcePath, openImportRoots } from '../../connectors/import-root.ts';
import { fixedClock } from '../../core/clock.ts';
import { bearer } from '../fixtures/gateway-fixture.ts';
import { FATE_GUEST, fateGuestView, makeConnectorGateway } from './connector-fixture.ts';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sealgate-confine-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('source path confinement over HTTP', () => {
  it.each([
    ['a relative path that climbs out', '../keys.json', 'outside the import roots'],
    ['a deeper climb', 'sub/../../../etc/passwd', 'outside the import roots'],
    ['an absolute path elsewhere', '/etc/passwd', 'outside the import roots'],
    ['the read-only dataset outside the root', FATE_GUEST, 'outside the import roots'],
  ])('refuses %s with CONNECTOR_PATH_REFUSED', async (_name, path, reason) => {
    await using gw = await makeConnectorGateway();
    const res = await gw.app.inject({
      method: 'POST',
      url: '/v1/connectors/views',
      headers: bearer(gw.stewardToken),
      payload: fateGuestView('v', path),
    });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ code: 'CONNECTOR_PATH_REFUSED', context: { reason } });
    expect(await gw.connectors.views.list()).toEqual([]);
  });

  it('refuses a symlink that lands outside the root, and accepts one that stays inside', async () => {
    await using gw = await makeConnectorGateway();
    symlinkSync(FATE_GUEST, join(gw.importsDir, 'escape.csv'));
    const refused = await gw.app.inject({
      method: 'POST',
      url: '/v1/connectors/views',
      headers: bearer(gw.stewardToken),
      payload: fateGuestView('escape', 'escape.csv'),
    });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().context).toEqual({ file: 'escape.csv', reason: 'resolves outside the import roots' });

    gw.stage(FATE_GUEST, 'guest.csv');
    symlinkSync(join(gw.importsDir, 'guest.csv'), join(gw.importsDir, 'alias.csv'));
    const accepted = await gw.app.inject({
      method: 'POST',
      url: '/v1/connectors/views',
      headers: bearer(gw.stewardToken),
      payload: fateGuestView('alias', 'alias.csv'),
    });
    expect(accepted.statusCode).toBe(201);
    // The canonical file is what was read and what the catalogue names.
    expect(accepted.json().source.file).toBe('guest.csv');
  }, 60_000);

  it('refuses a directory, and says NOT_FOUND for a missing file inside the root', async () => {
    await using gw = await makeConnectorGateway();
    mkdirSync(join(gw.importsDir, 'folder'));
    const dir = await gw.app.inject({
      method: 'POST',
      url: '/v1/connectors/views',
      headers: bearer(gw.stewardToken),
      payload: fateGuestView('d', 'folder'),
    });
    expect(dir.json()).toMatchObject({ code: 'CONNECTOR_PATH_REFUSED', context: { reason: 'not a regular file' } });
    const missing = await gw.app.inject({
      method: 'POST',
      url: '/v1/connectors/views',
      headers: bearer(gw.stewardToken),
      payload: fateGuestView('m', 'nope.csv'),
    });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe('NOT_FOUND');
  });
});

describe('confineSourcePath', () => {
  it('refuses file names DuckDB would expand or that would break a literal', () => {
    const root = scratch();
    const roots = openImportRoots(root);
    for (const name of ['g*.csv', 'g?.csv', 'g[1].csv', "it's.csv", 'a{b}.csv', 'x:y.csv']) {
      writeFileSync(join(root, name), 'id\n1\n');
      expect(() => confineSourcePath(roots, name), name).toThrow(
        expect.objectContaining({ code: 'CONNECTOR_PATH_REFUSED' }),
      );
    }
    writeFileSync(join(root, 'plain name-1.csv'), 'id\n1\n');
    expect(confineSourcePath(roots, 'plain name-1.csv').display).toBe('plain name-1.csv');
  });

  it('accepts absolute paths inside any configured root, and nothing outside them', () => {
    const main = scratch();
    const extra = scratch();
    const outside = scratch();
    writeFileSync(join(extra, 'partner.csv'), 'id\n1\n');
    writeFileSync(join(outside, 'other.csv'), 'id\n1\n');
    const roots = openImportRoots(main, [extra]);
    expect(confineSourcePath(roots, join(extra, 'partner.csv'))).toMatchObject({ display: 'partner.csv' });
    expect(() => confineSourcePath(roots, join(outside, 'other.csv'))).toThrow(
      expect.objectContaining({ code: 'CONNECTOR_PATH_REFUSED' }),
    );
    // The root itself is a directory, not a source.
    expect(() => confineSourcePath(roots, extra)).toThrow(expect.objectContaining({ code: 'CONNECTOR_PATH_REFUSED' }));
  });

  it('refuses control characters and empty paths', () => {
    const roots = openImportRoots(scratch());
    for (const bad of ['', 'a\u0000b.csv', 'a\nb.csv']) {
      expect(() => confineSourcePath(roots, bad)).toThrow(expect.objectContaining({ code: 'CONNECTOR_PATH_REFUSED' }));
    }
  });
});

describe('the DuckDB sandbox', () => {
  it('cannot read outside the import roots or be reconfigured, even by SQL the gateway did not intend', async () => {
    const dir = scratch();
    const roots = openImportRoots(join(dir, 'imports'));
    const store = await openDataStore({
      path: join(dir, 'data.duckdb'),
      allowedDirectories: roots,
      subjectKey: randomBytes(32),
    });
    try {
      await expect(store.reads.all(`SELECT * FROM read_csv('${FATE_GUEST}')`)).rejects.toThrow(
        /disabled by configuration/,
      );
      await expect(store.reads.all(`ATTACH '${join(dir, 'other.duckdb')}' AS other`)).rejects.toThrow(
        /disabled by configuration/,
      );
      await expect(store.reads.all('SET enable_external_access = true')).rejects.toThrow(/Cannot change configuration/);
      writeFileSync(join(roots[0] as string, 'ok.csv'), 'id\n1\n');
      expect(
        await store.reads.all(`SELECT count(*) AS n FROM read_csv('${join(roots[0] as string, 'ok.csv')}')`),
      ).toEqual([{ n: 1n }]);
    } finally {
      await store.close();
    }
  });

  it('refuses to start on an import root that does not exist', async () => {
    const dir = scratch();
    await expect(
      openConnectors({
        dataDir: dir,
        importRoots: [join(dir, 'missing')],
        subjectKey: randomBytes(32),
        clock: fixedClock('2026-01-01T00:00:00Z'),
        purposes: () => ({}),
      }),
    ).rejects.toMatchObject({ code: 'BAD_INPUT' });
  });
});
