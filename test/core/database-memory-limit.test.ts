// SEALGATE_DB_MEMORY_LIMIT reaches DuckDB: without it DuckDB may cache up to 80% of RAM, which at a million
// consents made a gateway's resident memory gigabytes larger than its data.
import { describe, expect, it } from 'vitest';
import { makeTestGateway, type TestGateway } from '../fixtures/gateway-fixture.ts';

describe('database memory limit', () => {
  const limitOf = async (g: TestGateway) =>
    String((await g.ctx.db.all("SELECT current_setting('memory_limit') AS m"))[0]?.m);

  it('applies the 256MB default and a configured limit to the gateway database', async () => {
    await using defaults = await makeTestGateway();
    expect(await limitOf(defaults)).toMatch(/^2[34]\d(\.\d+)? MiB$/);
    await defaults.close();
    await using configured = await makeTestGateway({ SEALGATE_DB_MEMORY_LIMIT: '1GB' });
    expect(await limitOf(configured)).toMatch(/^9[0-9]{2}(\.\d+)? MiB$/);
  });

  it('runs the gateway database on one DuckDB thread and refuses a bad thread count', async () => {
    await using gw = await makeTestGateway();
    expect(Number((await gw.ctx.db.all("SELECT current_setting('threads') AS t"))[0]?.t)).toBe(1);
    const { openDatabase } = await import('../../core/database.ts');
    for (const threads of [0, 1.5, 1000])
      await expect(openDatabase(':memory:', { threads })).rejects.toMatchObject({ code: 'BAD_INPUT' });
  });
});

describe('dropping the scan cache', () => {
  it('evicts the blocks a full scan left cached and keeps the configured limit', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { openDatabase } = await import('../../core/database.ts');
    const dir = mkdtempSync(join(tmpdir(), 'sealgate-cache-'));
    const db = await openDatabase(join(dir, 'cache.duckdb'), { memoryLimit: '256MB' });
    try {
      const cached = async () =>
        Number(
          (await db.all("SELECT sum(memory_usage_bytes) AS b FROM duckdb_memory() WHERE tag = 'BASE_TABLE'"))[0]?.b ??
            0,
        );
      const limit = async () => String((await db.all("SELECT current_setting('memory_limit') AS m"))[0]?.m);
      await db.transaction((tx) =>
        tx.run('CREATE TABLE t AS SELECT i, repeat(md5(i::VARCHAR), 8) AS s FROM range(300000) r(i)'),
      );
      await db.all('CHECKPOINT');
      await db.all('SELECT sum(length(s)) FROM t');
      const before = await limit();
      expect(await cached()).toBeGreaterThan(32 * 2 ** 20);
      await db.dropCache();
      expect(await cached()).toBeLessThanOrEqual(16 * 2 ** 20);
      expect(await limit()).toBe(before);
      // The data is still there: eviction only dropped clean copies of blocks on disk.
      expect(Number((await db.all('SELECT count(*) AS n FROM t'))[0]?.n)).toBe(300000);
    } finally {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
