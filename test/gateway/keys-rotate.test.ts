// `sealgate keys rotate` on a gateway with its embedded chain (docs/trust-model.md, "Recovery"): receipts of records
// signed before and after verify, the registry holds both keys with their blocks, `keys show` lists the retired key,
// and a rotation cut short after its first step resumes with the same successor.
import { afterAll, describe, expect, it } from 'vitest';
import { verifyReceipt } from '../../consent/receipt-verifier.ts';
import { main } from '../../gateway/cli/cli.ts';
import { loadConfig } from '../../gateway/config.ts';
import { buildApp } from '../../gateway/http/app.ts';
import { beginKeyRotation } from '../../gateway/identity/identity.ts';
import { createContext } from '../../gateway/services/context.ts';
import { grantBody } from '../fixtures/consent-bodies.ts';
import { bearer, captureLog, makeDataDir, TEST_PASSPHRASE } from '../fixtures/gateway-fixture.ts';
import { pino } from 'pino';

const dir = makeDataDir();
afterAll(() => dir.remove());
const env = {
  SEALGATE_DATA_DIR: dir.dataDir,
  SEALGATE_PASSPHRASE: TEST_PASSPHRASE,
  SEALGATE_PARTY_ID: 'dealer-4s',
  SEALGATE_LEDGER: 'local',
  SEALGATE_ANCHOR_INTERVAL_MS: '100',
  SEALGATE_CHAIN_STATE_INTERVAL_S: '1',
  SEALGATE_LOG_LEVEL: 'silent',
};

/** Starts the gateway, grants for `subject`, anchors, and returns every receipt verified against the chain. */
async function grantAndVerifyAll(subject: string): Promise<{ keyId: string; verified: number; historyIds: string[] }> {
  const ctx = await createContext(loadConfig(env), { logDestination: captureLog().stream });
  const app = await buildApp(ctx);
  try {
    const admin = (await ctx.tokens.createToken('admin', 'test')).token;
    const granted = await app.inject({
      method: 'POST',
      url: '/v1/consents',
      headers: bearer(admin),
      payload: grantBody(subject),
    });
    expect(granted.statusCode, granted.body).toBe(201);
    expect((await ctx.ledger.anchoring!.flushNow()).error).toBeNull();
    let verified = 0;
    for (const seq of Array.from({ length: (await ctx.ledger.anchors.readHeads()).events }, (_, i) => i + 1)) {
      const receipt = await ctx.ledger.receipts.issueAnchoredReceipt({ chain: 'events', seq });
      const result = await verifyReceipt(receipt, ctx.ledger.chainReader);
      expect(result.failure, `event ${seq}`).toBeNull();
      verified++;
    }
    const history = await ctx.ledger.ledger!.client.keyHistory('dealer-4s');
    return { keyId: ctx.identity.ed25519.keyId, verified, historyIds: history.map((k) => k.keyId) };
  } finally {
    await app.close();
    await ctx.close();
  }
}

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, env, { stdout: (l) => out.push(l), stderr: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('sealgate keys rotate', () => {
  it('rotates twice (once resumed after a cut), and every receipt, old and new, verifies', async () => {
    const first = await grantAndVerifyAll('rotation-subject-1');
    expect(first.historyIds).toEqual([first.keyId]);

    const rotated = await cli(['keys', 'rotate']);
    expect(rotated.code, rotated.err).toBe(0);
    const result = JSON.parse(rotated.out) as { previousKeyId: string; keyId: string; txHash: string };
    expect(result.previousKeyId).toBe(first.keyId);
    expect(result.txHash).toMatch(/^0x[0-9a-f]{64}$/);

    const second = await grantAndVerifyAll('rotation-subject-2');
    expect(second.keyId).toBe(result.keyId);
    expect(second.verified).toBe(2);
    expect(second.historyIds).toEqual([first.keyId, result.keyId]);

    // A rotation whose first step ran (the successor sealed) and then stopped: the next run finishes it with the same
    // successor.
    const config = loadConfig(env);
    const begun = await beginKeyRotation(config, pino({ level: 'silent' }));
    const shown = JSON.parse((await cli(['keys', 'show'])).out) as { keyId: string; retiredKeyIds: string[] };
    expect(shown).toMatchObject({ keyId: result.keyId, retiredKeyIds: [first.keyId] });
    const resumed = await cli(['keys', 'rotate']);
    expect(resumed.code, resumed.err).toBe(0);
    expect(JSON.parse(resumed.out)).toMatchObject({ previousKeyId: result.keyId, keyId: begun.next.keyId });

    const third = await grantAndVerifyAll('rotation-subject-3');
    expect(third.verified).toBe(3);
    expect(third.historyIds).toEqual([first.keyId, result.keyId, begun.next.keyId]);
    expect(JSON.parse((await cli(['keys', 'show'])).out)).toMatchObject({
      keyId: begun.next.keyId,
      retiredKeyIds: [first.keyId, result.keyId],
    });
  }, 120_000);

  it('refuses without a ledger', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(
      ['keys', 'rotate'],
      { ...env, SEALGATE_LEDGER: 'off' },
      {
        stdout: (l) => out.push(l),
        stderr: (l) => err.push(l),
      },
    );
    expect(code).toBe(1);
    expect(err.join('\n')).toContain('SEALGATE_LEDGER is off');
  });
});
