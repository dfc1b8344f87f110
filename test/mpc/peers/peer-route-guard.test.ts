// Peer routes fail closed (docs/peer-protocol.md §What the receiver checks): a `config.peer` route
// outside a peer scope denies everyone, a scope route without it stops start-up, bodies are hashed
// raw before parsing, a full replay cache refuses, and an answer that cannot be audited is not sent.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { AuditInput } from '../../../consent/audit.ts';
import { createSigner } from '../../../consent/signer.ts';
import { ed25519FromSeed } from '../../../gateway/identity/identity.ts';
import { createNonceCache } from '../../../mpc/peers/nonce-cache.ts';
import { createPeerAuth } from '../../../gateway/http/peer-auth.ts';
import { EMPTY_SHA256, contentSha256, newNonce, signRequest } from '../../../mpc/peers/peer-signature.ts';
import { bearer, makeTestGateway, type TestGateway } from '../../fixtures/gateway-fixture.ts';

const dealerKeys = ed25519FromSeed(Buffer.alloc(32, 42));
const dealer = createSigner(dealerKeys.privateKey);

/** An insurer gateway that knows the dealer, with an extra peer scope built by `routes`. */
async function insurerWith(routes: (gw: TestGateway) => void): Promise<TestGateway> {
  const g = await makeTestGateway({ SEALGATE_PARTY_ID: 'insurer' });
  await g.ctx.peers.registry.add({
    id: 'dealer-4s',
    baseUrl: 'http://127.0.0.1:9',
    ed25519PublicKey: Buffer.from(dealerKeys.publicKeyRaw).toString('hex'),
  });
  routes(g);
  return g;
}

function signed(method: string, path: string, body?: Buffer, hash = contentSha256(body ?? Buffer.alloc(0))) {
  return signRequest(dealer, {
    method,
    pathWithQuery: path,
    sender: 'dealer-4s',
    recipient: 'insurer',
    timestampMs: Date.now(),
    nonce: newNonce(),
    contentSha256: hash,
  });
}

const Echo = z.object({ bytes: z.int(), kind: z.string() });

describe('peer route access policy', () => {
  it('denies a config.peer route registered outside a peer scope, whatever the caller sends', async () => {
    await using gw = await insurerWith((g) => {
      g.app.get(
        '/test/stray-peer-route',
        { config: { peer: true }, schema: { response: { 200: z.object({ secret: z.string() }) } } },
        async () => ({ secret: 'never' }),
      );
    });
    for (const headers of [signed('GET', '/test/stray-peer-route'), bearer(gw.adminToken), {}]) {
      const res = await gw.app.inject({ method: 'GET', url: '/test/stray-peer-route', headers });
      expect(res.statusCode).toBe(403);
      expect(res.json()).toMatchObject({ code: 'FORBIDDEN' });
      expect(res.body).not.toContain('never');
    }
  });

  it('treats peer plus roles as no policy', async () => {
    await using gw = await insurerWith((g) => {
      g.app.get(
        '/test/both',
        { config: { peer: true, roles: ['admin'] }, schema: { response: { 200: z.object({ ok: z.boolean() }) } } },
        async () => ({ ok: true }),
      );
    });
    const res = await gw.app.inject({
      method: 'GET',
      url: '/test/both',
      headers: { ...bearer(gw.adminToken), ...signed('GET', '/test/both') },
    });
    expect(res.json()).toMatchObject({ code: 'FORBIDDEN' });
    expect(gw.log.text()).toContain('it will deny every request');
  });

  it('refuses to start with a route in a peer scope that does not declare config.peer', async () => {
    await using gw = await insurerWith((g) => {
      void g.app.register(async (scope) => {
        g.ctx.peers.auth.install(scope);
        scope.get(
          '/test/forgot',
          { config: { public: true }, schema: { response: { 200: z.object({ ok: z.boolean() }) } } },
          async () => ({ ok: true }),
        );
      });
    });
    await expect(gw.app.ready()).rejects.toThrow('is in a peer scope but does not declare config.peer');
  });
});

describe('peer request bodies', () => {
  const withEchoRoutes = () =>
    insurerWith((g) => {
      void g.app.register(async (scope) => {
        g.ctx.peers.auth.install(scope);
        scope.post('/test/blob', { config: { peer: true }, schema: { response: { 200: Echo } } }, async (request) => ({
          bytes: Buffer.isBuffer(request.body) ? request.body.length : -1,
          kind: Buffer.isBuffer(request.body) ? 'buffer' : typeof request.body,
        }));
        scope.get('/test/nobody', { config: { peer: true }, schema: { response: { 200: Echo } } }, async () => ({
          bytes: 0,
          kind: 'none',
        }));
      });
    });

  it('hands octet-stream bodies to the handler as the verified raw bytes', async () => {
    await using gw = await withEchoRoutes();
    const body = Buffer.from([0, 1, 2, 255, 254]);
    const res = await gw.app.inject({
      method: 'POST',
      url: '/test/blob',
      payload: body,
      headers: { ...signed('POST', '/test/blob', body), 'content-type': 'application/octet-stream' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ bytes: 5, kind: 'buffer' });
  });

  it('refuses a request whose signed path is percent-encoded, before the route runs: BAD_INPUT (encoded-path), audited', async () => {
    await using gw = await withEchoRoutes();
    // Fastify would route /test/%6eobody to /test/nobody, while the signature and the audit name the encoded path.
    const res = await gw.app.inject({
      method: 'GET',
      url: '/test/%6eobody',
      headers: signed('GET', '/test/%6eobody', undefined, EMPTY_SHA256),
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'BAD_INPUT', context: { reason: 'encoded-path' } });
    const audit = await gw.ctx.consent.listAudit({ kind: 'message', limit: 100 });
    expect(audit.map((e) => [e.action, e.detail.reason])).toContainEqual(['peer-reject', 'encoded-path']);
    expect(audit.some((e) => e.action === 'peer-exchange')).toBe(false);
  });

  it('refuses a bodiless request that signed a non-empty hash: PEER_BODY_MISMATCH (body-missing)', async () => {
    await using gw = await withEchoRoutes();
    const ok = await gw.app.inject({
      method: 'GET',
      url: '/test/nobody',
      headers: signed('GET', '/test/nobody', undefined, EMPTY_SHA256),
    });
    expect(ok.statusCode).toBe(200);
    const res = await gw.app.inject({
      method: 'GET',
      url: '/test/nobody',
      headers: signed('GET', '/test/nobody', undefined, contentSha256(Buffer.from('x'))),
    });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ code: 'PEER_BODY_MISMATCH', context: { reason: 'body-missing' } });
  });

  it('refuses invalid JSON only after its hash verified, as BAD_INPUT', async () => {
    await using gw = await withEchoRoutes();
    const body = Buffer.from('{"not json');
    const res = await gw.app.inject({
      method: 'POST',
      url: '/peer/v1/ping',
      payload: body,
      headers: { ...signed('POST', '/peer/v1/ping', body), 'content-type': 'application/json' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'BAD_INPUT' });
  });
});

describe('fail-closed limits', () => {
  it('refuses with PEER_OVERLOADED when the replay cache is full for that peer', async () => {
    await using gw = await insurerWith((g) => {
      const auth = createPeerAuth({
        identity: g.ctx.identity,
        peers: g.ctx.peers.registry,
        clock: g.ctx.clock,
        nonces: createNonceCache({ clock: g.ctx.clock, maxPerPeer: 2 }),
        audit: (e) => g.ctx.consent.appendAudit(e),
      });
      void g.app.register(async (scope) => {
        auth.install(scope);
        scope.get('/test/tiny', { config: { peer: true }, schema: { response: { 200: Echo } } }, async () => ({
          bytes: 0,
          kind: 'none',
        }));
      });
    });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++)
      statuses.push(
        (await gw.app.inject({ method: 'GET', url: '/test/tiny', headers: signed('GET', '/test/tiny') })).statusCode,
      );
    expect(statuses).toEqual([200, 200, 503]);
    const last = await gw.app.inject({ method: 'GET', url: '/test/tiny', headers: signed('GET', '/test/tiny') });
    expect(last.json()).toMatchObject({ code: 'PEER_OVERLOADED', context: { reason: 'full' } });
  });

  it('an answer whose exchange cannot be audited is replaced by an error: no unaudited data leaves', async () => {
    await using gw = await insurerWith((g) => {
      const audit = async (entry: AuditInput) => {
        if (entry.action === 'peer-exchange') throw new Error('audit log unavailable');
        return g.ctx.consent.appendAudit(entry);
      };
      const auth = createPeerAuth({
        identity: g.ctx.identity,
        peers: g.ctx.peers.registry,
        clock: g.ctx.clock,
        nonces: createNonceCache({ clock: g.ctx.clock }),
        audit,
      });
      void g.app.register(async (scope) => {
        auth.install(scope);
        scope.get(
          '/test/secret',
          { config: { peer: true }, schema: { response: { 200: z.object({ blinded: z.string() }) } } },
          async () => ({ blinded: 'SECRET-PAYLOAD' }),
        );
      });
    });
    const res = await gw.app.inject({ method: 'GET', url: '/test/secret', headers: signed('GET', '/test/secret') });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toMatchObject({ code: 'INTERNAL', detail: 'internal error' });
    expect(res.body).not.toContain('SECRET-PAYLOAD');
    // The refusal itself is still signed for the caller.
    expect(res.headers['x-sealgate-signature']).toEqual(expect.any(String));
  });
});
