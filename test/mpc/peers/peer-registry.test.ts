// The partner registry (DESIGN.md §3): admin-only routes, strict input (origin-only base URLs,
// 32-byte keys), add/update/disable with audit, persistence across a restart, and confirmation of a
// peer's key against the on-chain GatewayRegistry (in-process Hardhat network) when there is a ledger.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../../core/clock.ts';
import { openDatabase } from '../../../core/database.ts';
import { openPeerRegistry } from '../../../mpc/peers/peer-registry.ts';
import {
  bytes32Of,
  codeOf,
  deployFreshLedger,
  startSimulatedChain,
  type SimulatedChain,
} from '../../fixtures/contracts-fixture.ts';
import { bearer, makeDataDir, makeTestGateway, type TestGateway } from '../../fixtures/gateway-fixture.ts';

const KEY = 'ab'.repeat(32);
const OTHER_KEY = 'cd'.repeat(32);
const clock = fixedClock('2026-03-01T12:00:00Z');

const add = (g: TestGateway, payload: unknown, token = g.adminToken) =>
  g.app.inject({
    method: 'POST',
    url: '/v1/peers',
    headers: bearer(token),
    payload: payload as Record<string, unknown>,
  });

describe('peer registry routes', () => {
  it('registers, lists, reads, updates and disables a peer, auditing each change', async () => {
    await using gw = await makeTestGateway({ SEALGATE_PARTY_ID: 'dealer-4s' });
    const created = await add(gw, {
      id: 'insurer',
      baseUrl: 'https://insurer.example:8443/',
      ed25519PublicKey: `0x${KEY.toUpperCase()}`,
      roles: ['guest'],
    });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({
      id: 'insurer',
      baseUrl: 'https://insurer.example:8443',
      ed25519PublicKey: KEY,
      roles: ['guest'],
      status: 'active',
      confirmation: 'unconfirmed',
      confirmationNote: 'ledger-off',
      evmAccount: null,
      disabledAt: null,
    });

    expect(
      (await gw.app.inject({ method: 'GET', url: '/v1/peers', headers: bearer(gw.adminToken) }))
        .json()
        .peers.map((p: { id: string }) => p.id),
    ).toEqual(['insurer']);
    expect(
      (await gw.app.inject({ method: 'GET', url: '/v1/peers/insurer', headers: bearer(gw.adminToken) })).json(),
    ).toMatchObject({ id: 'insurer' });
    expect(
      (await gw.app.inject({ method: 'GET', url: '/v1/peers/nobody', headers: bearer(gw.adminToken) })).json(),
    ).toMatchObject({ code: 'NOT_FOUND' });

    const moved = await gw.app.inject({
      method: 'PATCH',
      url: '/v1/peers/insurer',
      headers: bearer(gw.adminToken),
      payload: { baseUrl: 'http://10.0.0.7:8080' },
    });
    expect(moved.json()).toMatchObject({ baseUrl: 'http://10.0.0.7:8080', roles: ['guest'], ed25519PublicKey: KEY });

    const disabled = await gw.app.inject({
      method: 'DELETE',
      url: '/v1/peers/insurer',
      headers: bearer(gw.adminToken),
    });
    expect(disabled.json()).toMatchObject({ status: 'disabled', disabledAt: expect.any(String) });
    expect(gw.ctx.peers.registry.activeKey('insurer')).toBeNull();

    const audit = await gw.ctx.consent.listAudit({ kind: 'admin', limit: 100 });
    expect(audit.map((e) => e.action)).toEqual(['peer-add', 'peer-update', 'peer-disable']);
    expect(audit[0]).toMatchObject({
      actor: expect.stringMatching(/^tok_/),
      detail: { peer: 'insurer', ed25519PublicKey: KEY },
    });
  });

  it('is admin only', async () => {
    await using gw = await makeTestGateway({ SEALGATE_PARTY_ID: 'dealer-4s' });
    const steward = await gw.tokenFor('data-steward');
    expect(
      (await add(gw, { id: 'insurer', baseUrl: 'https://insurer.example', ed25519PublicKey: KEY }, steward)).statusCode,
    ).toBe(403);
    expect((await gw.app.inject({ method: 'GET', url: '/v1/peers' })).statusCode).toBe(401);
    expect(
      (await gw.app.inject({ method: 'POST', url: '/v1/peers/insurer/ping', headers: bearer(steward) })).statusCode,
    ).toBe(403);
  });

  it.each([
    ['credentials in the URL', { baseUrl: 'https://user:pw@insurer.example' }, '/baseUrl'],
    ['a base path', { baseUrl: 'https://insurer.example/api' }, '/baseUrl'],
    ['a query', { baseUrl: 'https://insurer.example/?x=1' }, '/baseUrl'],
    ['a fragment', { baseUrl: 'https://insurer.example#x' }, '/baseUrl'],
    ['another scheme', { baseUrl: 'ftp://insurer.example' }, '/baseUrl'],
    ['a 31-byte key', { ed25519PublicKey: 'ab'.repeat(31) }, '/ed25519PublicKey'],
    ['the all-zero key', { ed25519PublicKey: '00'.repeat(32) }, '/ed25519PublicKey'],
    ['a malformed id', { id: 'Insurer!' }, '/id'],
    ['repeated roles', { roles: ['guest', 'guest'] }, '/roles'],
    ['unknown fields', { secret: 'x' }, ''],
  ])('refuses %s with BAD_INPUT', async (_name, change, pointer) => {
    await using gw = await makeTestGateway({ SEALGATE_PARTY_ID: 'dealer-4s' });
    const res = await add(gw, { id: 'insurer', baseUrl: 'https://insurer.example', ed25519PublicKey: KEY, ...change });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'BAD_INPUT' });
    expect(res.json().errors.map((e: { pointer: string }) => e.pointer)).toContainEqual(
      pointer === '' ? expect.any(String) : pointer,
    );
  });

  it('refuses its own party id, conflicting re-registration, and allows key rotation only through disable', async () => {
    await using gw = await makeTestGateway({ SEALGATE_PARTY_ID: 'dealer-4s' });
    expect(
      (await add(gw, { id: 'dealer-4s', baseUrl: 'https://self.example', ed25519PublicKey: KEY })).json(),
    ).toMatchObject({ code: 'BAD_INPUT' });
    const first = { id: 'insurer', baseUrl: 'https://insurer.example', ed25519PublicKey: KEY };
    expect((await add(gw, first)).statusCode).toBe(201);
    expect((await add(gw, first)).statusCode).toBe(200);
    const rotated = { ...first, ed25519PublicKey: OTHER_KEY };
    expect((await add(gw, rotated)).json()).toMatchObject({ code: 'CONFLICT' });
    await gw.app.inject({ method: 'DELETE', url: '/v1/peers/insurer', headers: bearer(gw.adminToken) });
    const reactivated = await add(gw, rotated);
    expect(reactivated.statusCode).toBe(200);
    expect(reactivated.json()).toMatchObject({ status: 'active', ed25519PublicKey: OTHER_KEY, disabledAt: null });
    expect(Buffer.from(gw.ctx.peers.registry.activeKey('insurer') ?? []).toString('hex')).toBe(OTHER_KEY);
  });

  it('the public identity route gives what a partner needs to register this gateway', async () => {
    await using gw = await makeTestGateway({ SEALGATE_PARTY_ID: 'dealer-4s' });
    const res = await gw.app.inject({ method: 'GET', url: '/peer/v1/identity' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      partyId: 'dealer-4s',
      ed25519PublicKeyHex: Buffer.from(gw.ctx.identity.ed25519.publicKeyRaw).toString('hex'),
      keyId: gw.ctx.identity.ed25519.keyId,
      evmAddress: gw.ctx.identity.evm.address,
      protocol: 'sealgate-peer-v1',
    });
  });
});

describe('peer registry store', () => {
  it('survives a restart of the database file', async () => {
    const dir = makeDataDir();
    try {
      const path = `${dir.dataDir}/peers.duckdb`;
      let db = await openDatabase(path);
      let registry = await openPeerRegistry({ db, clock, selfId: 'dealer-4s', chain: () => null });
      await registry.add({
        id: 'insurer',
        baseUrl: 'https://insurer.example',
        ed25519PublicKey: KEY,
        roles: ['guest'],
      });
      await registry.add({ id: 'charging-op', baseUrl: 'https://charge.example', ed25519PublicKey: OTHER_KEY });
      await registry.disable('charging-op');
      await db.close();
      db = await openDatabase(path);
      registry = await openPeerRegistry({ db, clock, selfId: 'dealer-4s', chain: () => null });
      expect(registry.list().map((p) => [p.id, p.status, p.roles])).toEqual([
        ['charging-op', 'disabled', []],
        ['insurer', 'active', ['guest']],
      ]);
      expect(registry.activeKey('charging-op')).toBeNull();
      await db.close();
    } finally {
      dir.remove();
    }
  });

  it('serialises concurrent adds of one id: one creates, the other sees it', async () => {
    const db = await openDatabase(':memory:');
    const registry = await openPeerRegistry({ db, clock, selfId: 'dealer-4s', chain: () => null });
    const input = { id: 'insurer', baseUrl: 'https://insurer.example', ed25519PublicKey: KEY };
    const results = await Promise.all([registry.add(input), registry.add(input), registry.add(input)]);
    expect(results.map((r) => r.isCreated).sort()).toEqual([false, false, true]);
    await db.close();
  });
});

describe("confirmation against the ledger's GatewayRegistry", () => {
  let chain: SimulatedChain;
  beforeAll(async () => {
    chain = await startSimulatedChain();
  });
  afterAll(async () => {
    await chain.close();
  });

  it('confirms a matching key, refuses a different one and a revoked gateway, and records an unlisted party as unconfirmed', async () => {
    const ledger = await deployFreshLedger(chain);
    await ledger.registerGateway('insurer', 1);
    await ledger.registerGateway('old-partner', 2);
    await ledger.admin.revokeGateway('old-partner');
    const registeredKey = bytes32Of('ed25519:insurer').toString('hex');

    const db = await openDatabase(':memory:');
    const registry = await openPeerRegistry({ db, clock, selfId: 'dealer-4s', chain: () => ledger.admin });
    expect(
      await codeOf(registry.add({ id: 'insurer', baseUrl: 'https://insurer.example', ed25519PublicKey: KEY })),
    ).toBe('PEER_KEY_MISMATCH');
    expect(registry.get('insurer')).toBeUndefined();

    const { peer } = await registry.add({
      id: 'insurer',
      baseUrl: 'https://insurer.example',
      ed25519PublicKey: registeredKey,
    });
    expect(peer).toMatchObject({ confirmation: 'confirmed', confirmationNote: 'ledger' });
    expect(peer.evmAccount?.toLowerCase()).toBe(chain.accounts[1]?.toLowerCase());

    expect(
      await codeOf(
        registry.add({
          id: 'old-partner',
          baseUrl: 'https://old.example',
          ed25519PublicKey: bytes32Of('ed25519:old-partner').toString('hex'),
        }),
      ),
    ).toBe('CONFLICT');
    const unlisted = await registry.add({
      id: 'charging-op',
      baseUrl: 'https://charge.example',
      ed25519PublicKey: KEY,
    });
    expect(unlisted.peer).toMatchObject({
      confirmation: 'unconfirmed',
      confirmationNote: 'not-registered',
      evmAccount: null,
    });
    await db.close();
  });
});
