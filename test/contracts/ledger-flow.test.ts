// The compliance officer's path end to end on the embedded chain (anvil with persisted state):
// grant -> anchored receipt -> offline verification by the CLI against the chain alone -> the
// subject's chain and the audit report -> restart -> the same receipt still verifies.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../gateway/http/app.ts';
import { loadConfig } from '../../gateway/config.ts';
import { createContext, type GatewayContext } from '../../gateway/services/context.ts';
import { bearer, captureLog, makeDataDir, TEST_PASSPHRASE } from '../fixtures/gateway-fixture.ts';
import { grantBody } from '../fixtures/consent-bodies.ts';

const VERIFY_CLI = fileURLToPath(new URL('../../contracts/verify-cli.ts', import.meta.url));

async function startGateway(dataDir: string) {
  const config = loadConfig({
    SEALGATE_DATA_DIR: dataDir,
    SEALGATE_PASSPHRASE: TEST_PASSPHRASE,
    SEALGATE_PARTY_ID: 'dealer-4s',
    SEALGATE_LEDGER: 'local',
    SEALGATE_ANCHOR_INTERVAL_MS: '100',
    SEALGATE_CHAIN_STATE_INTERVAL_S: '1',
  });
  const ctx = await createContext(config, { logDestination: captureLog().stream });
  const app = await buildApp(ctx);
  return {
    ctx,
    app,
    close: async () => {
      await app.close();
      await ctx.close();
    },
  };
}

const flush = async (ctx: GatewayContext) => {
  const anchoring = ctx.ledger.anchoring;
  if (anchoring === null) throw new Error('ledger is off');
  await anchoring.flushNow();
  expect(anchoring.status()).toMatchObject({ state: 'ok', pendingRecords: 0 });
};

const verifyOffline = (receipt: unknown, rpcUrl: string, dir: string, flags: string[] = []) => {
  const file = join(dir, 'receipt.json');
  writeFileSync(file, JSON.stringify(receipt));
  return spawnSync(process.execPath, [VERIFY_CLI, ...flags, file, '--rpc', rpcUrl], {
    encoding: 'utf8',
    timeout: 60_000,
  });
};

describe('ledger flow on the embedded chain', () => {
  const dir = makeDataDir();
  afterAll(() => dir.remove());

  it('a consent receipt verifies offline, in the subject chain and after a restart', async () => {
    let gw = await startGateway(dir.dataDir);
    let receipt: { status: string; anchor?: { root: string } };
    let recordId: string;
    let rpcUrl: string;
    try {
      const admin = (await gw.ctx.tokens.createToken('admin', 'test')).token;
      const officer = (await gw.ctx.tokens.createToken('compliance-officer', 'test')).token;
      const granted = await gw.app.inject({
        method: 'POST',
        url: '/v1/consents',
        headers: bearer(admin),
        payload: grantBody('ledger-subject-1'),
      });
      expect(granted.statusCode, granted.body).toBe(201);
      expect(granted.json().receipt).toMatchObject({ status: 'pending' });
      recordId = granted.json().record.recordId;
      const subject = granted.json().record.subject;

      await flush(gw.ctx);
      const proof = await gw.app.inject({
        method: 'GET',
        url: `/v1/consents/${recordId}/proof`,
        headers: bearer(officer),
      });
      expect(proof.statusCode, proof.body).toBe(200);
      receipt = proof.json().receipts[0];
      expect(receipt.status).toBe('anchored');
      rpcUrl = gw.ctx.ledger.ledger?.rpcUrl ?? '';

      const offline = verifyOffline(receipt, rpcUrl, dir.dataDir);
      expect(offline.status, offline.stdout + offline.stderr).toBe(0);

      const forged = structuredClone(receipt) as { anchor: { root: string } };
      forged.anchor.root = `0x${'11'.repeat(32)}`;
      const refused = verifyOffline(forged, rpcUrl, dir.dataDir);
      expect(refused.status).toBe(1);
      expect(refused.stderr + refused.stdout).toMatch(/receipt-signature|on-chain-root|merkle-path/);

      // Status: in force as of the batch's block; after a withdrawal and the next batch, withdrawn; the first proof
      // is then reported as older.
      const statusOf = () =>
        gw.app.inject({ method: 'GET', url: `/v1/consents/${recordId}/status-proof`, headers: bearer(officer) });
      const inForce = await statusOf();
      expect(inForce.statusCode, inForce.body).toBe(200);
      const inForceRun = verifyOffline(inForce.json(), rpcUrl, dir.dataDir, ['--status']);
      expect(inForceRun.status, inForceRun.stdout + inForceRun.stderr).toBe(0);
      expect(inForceRun.stdout).toContain(`is in force as of block ${inForce.json().anchor.blockNumber}`);
      const withdrawn = await gw.app.inject({
        method: 'POST',
        url: `/v1/consents/${recordId}/withdraw`,
        headers: bearer(admin),
        payload: { reason: 'no longer' },
      });
      expect(withdrawn.statusCode, withdrawn.body).toBe(200);
      await flush(gw.ctx);
      const afterRun = verifyOffline((await statusOf()).json(), rpcUrl, dir.dataDir, ['--status']);
      expect(afterRun.status, afterRun.stdout + afterRun.stderr).toBe(0);
      expect(afterRun.stdout).toMatch(/is withdrawn at event [0-9a-f-]{36} \(seq 2, withdraw/);
      const olderRun = verifyOffline(inForce.json(), rpcUrl, dir.dataDir, ['--status']);
      expect(olderRun.status).toBe(0);
      expect(olderRun.stdout).toContain('an older batch');
      const unknown = await gw.app.inject({
        method: 'GET',
        url: '/v1/consents/00000000-0000-4000-8000-000000000000/status-proof',
        headers: bearer(officer),
      });
      expect(unknown.statusCode).toBe(404);
      expect(unknown.headers['content-type']).toContain('application/problem+json');

      const chain = await gw.app.inject({
        method: 'GET',
        url: `/v1/subjects/${subject}/chain`,
        headers: bearer(officer),
      });
      expect(chain.statusCode, chain.body).toBe(200);
      expect(chain.json().summary).toMatchObject({ links: 2, anchored: 2, broken: 0 });
      expect(chain.json().links[0]).toMatchObject({ kind: 'consent-event', type: 'grant', isVerified: true });

      const html = await gw.app.inject({
        method: 'GET',
        url: `/v1/audit/report?format=html&subject=${subject}`,
        headers: bearer(officer),
      });
      expect(html.statusCode).toBe(200);
      expect(html.headers['content-type']).toContain('text/html');
      expect(html.body).toContain('Both chains verify');
      expect(html.body).toContain(subject);
    } finally {
      await gw.close();
    }

    gw = await startGateway(dir.dataDir);
    try {
      const newRpc = gw.ctx.ledger.ledger?.rpcUrl ?? '';
      const again = verifyOffline(receipt, newRpc, dir.dataDir);
      expect(again.status, again.stdout + again.stderr).toBe(0);
      const status = await gw.app.inject({ method: 'GET', url: '/ready' });
      expect(status.json().components?.ledger ?? status.body).toBeDefined();
    } finally {
      await gw.close();
    }
  }, 120_000);
});
