// One id for the gateway's Ed25519 identity key, wherever it is shown: a receipt's gateway block (and the events it
// signs), `sealgate keys show`, the peer identity the gateway publishes and the audit report (JSON and HTML) all
// carry keyIdOf(publicKey), 16 hex characters: the first 8 bytes of SHA-256 of the raw 32-byte public key.
import { describe, expect, it } from 'vitest';
import { keyIdOf } from '../../../consent/signer.ts';
import { main } from '../../../gateway/cli/cli.ts';
import { grantBody } from '../../fixtures/consent-bodies.ts';
import { bearer, makeTestGateway, TEST_PASSPHRASE } from '../../fixtures/gateway-fixture.ts';

describe('the gateway key id', () => {
  it('is the same keyIdOf id in a receipt, keys show, the peer identity and the audit report', async () => {
    await using gw = await makeTestGateway({ SEALGATE_PARTY_ID: 'dealer-4s' });
    const keyId = keyIdOf(gw.ctx.identity.ed25519.publicKeyRaw);
    expect(keyId).toMatch(/^[0-9a-f]{16}$/);

    // A receipt, as a consent write returns it: its gateway block and the event it covers.
    const written = await gw.app.inject({
      method: 'POST',
      url: '/v1/consents',
      headers: bearer(await gw.tokenFor('collector')),
      payload: grantBody('customer-0001'),
    });
    expect(written.statusCode, written.body).toBe(201);
    const receipt = written.json<{ receipt: { gateway: { keyId: string }; record: { event: { keyId: string } } } }>()
      .receipt;
    expect(receipt.gateway.keyId).toBe(keyId);
    expect(receipt.record.event.keyId).toBe(keyId);

    // `sealgate keys show` on the same data directory, run in this process.
    const stdout: string[] = [];
    const stderr: string[] = [];
    const code = await main(
      ['keys', 'show'],
      {
        SEALGATE_DATA_DIR: gw.ctx.config.dataDir,
        SEALGATE_PASSPHRASE: TEST_PASSPHRASE,
        SEALGATE_PARTY_ID: 'dealer-4s',
        SEALGATE_LOG_LEVEL: 'silent',
      },
      { stdout: (line) => stdout.push(line), stderr: (line) => stderr.push(line) },
    );
    expect(code, stderr.join('\n')).toBe(0);
    expect(JSON.parse(stdout.join('\n'))).toMatchObject({ partyId: 'dealer-4s', keyId });

    // The identity partners read to register this gateway.
    const published = await gw.app.inject({ method: 'GET', url: '/peer/v1/identity' });
    expect(published.statusCode).toBe(200);
    expect(published.json()).toMatchObject({ partyId: 'dealer-4s', keyId });

    // The audit report's gateway block, and the HTML page rendered from it.
    const officer = bearer(await gw.tokenFor('compliance-officer'));
    const report = await gw.app.inject({ method: 'GET', url: '/v1/audit/report', headers: officer });
    expect(report.statusCode, report.body).toBe(200);
    expect(report.json<{ gateway: { keyId: string } }>().gateway.keyId).toBe(keyId);
    const html = await gw.app.inject({ method: 'GET', url: '/v1/audit/report?format=html', headers: officer });
    expect(html.statusCode).toBe(200);
    expect(html.body).toContain(`(key id ${keyId})`);
  });
});
