// SEALGATE_DB_MEMORY_LIMIT reaches DuckDB: without it DuckDB may cache up to 80% of RAM, which at a million
// consents made a gateway's resident memory gigabytes larger than its data.
import { afterEach, describe, expect, it } from 'vitest';
import { makeTestGateway, type TestGateway } from './gateway-fixture.ts';

describe('database memory limit', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => { await gw?.close(); gw = undefined; });

  const limitOf = async (g: TestGateway) => String((await g.ctx.db.all("SELECT current_setting('memory_limit') AS m"))[0]?.m);

  it('applies the 256MB default and a configured limit to the gateway database', async () => {
    gw = await makeTestGateway();
    expect(await limitOf(gw)).toMatch(/^2[34]\d(\.\d+)? MiB$/);
    await gw.close();
    gw = await makeTestGateway({ SEALGATE_DB_MEMORY_LIMIT: '1GB' });
    expect(await limitOf(gw)).toMatch(/^9[0-9]{2}(\.\d+)? MiB$/);
  });
});
