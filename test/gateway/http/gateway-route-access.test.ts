// Route access is fail-closed: a route must state `roles` or `public`, a token grants only its
// own role, and a revoked token stops working on the very next request.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { bearer, makeTestGateway } from '../../fixtures/gateway-fixture.ts';

const Ok = { response: { 200: z.object({ ok: z.boolean() }) } };

describe('route access policy', () => {
  it('denies every caller, admin included, on a route that declares neither roles nor public', async () => {
    await using gw = await makeTestGateway();
    gw.app.get('/test/unguarded', { schema: { response: { 200: z.object({ secret: z.string() }) } } }, async () => ({
      secret: 'should never be served',
    }));
    for (const headers of [{}, bearer(gw.adminToken)]) {
      const res = await gw.app.inject({ method: 'GET', url: '/test/unguarded', headers });
      expect(res.statusCode).toBe(403);
      expect(res.json()).toMatchObject({ code: 'FORBIDDEN', detail: 'route declares no access policy' });
      expect(res.body).not.toContain('should never be served');
    }
    expect(gw.log.text()).toContain('it will deny every request');
  });

  it('treats a route that is both public and role-restricted as having no policy', async () => {
    await using gw = await makeTestGateway();
    gw.app.get('/test/ambiguous', { config: { public: true, roles: ['admin'] }, schema: Ok }, async () => ({
      ok: true,
    }));
    const res = await gw.app.inject({ method: 'GET', url: '/test/ambiguous', headers: bearer(gw.adminToken) });
    expect(res.json()).toMatchObject({ code: 'FORBIDDEN' });
  });

  it('an empty roles list admits nobody', async () => {
    await using gw = await makeTestGateway();
    gw.app.get('/test/nobody', { config: { roles: [] }, schema: Ok }, async () => ({ ok: true }));
    const res = await gw.app.inject({ method: 'GET', url: '/test/nobody', headers: bearer(gw.adminToken) });
    expect(res.json()).toMatchObject({ code: 'FORBIDDEN' });
  });

  it('admits exactly the listed roles and attaches the principal', async () => {
    await using gw = await makeTestGateway();
    gw.app.get(
      '/test/stewards',
      {
        config: { roles: ['data-steward', 'compliance-officer'] },
        schema: { response: { 200: z.object({ tokenId: z.string(), role: z.string() }) } },
      },
      async (request) => request.principal,
    );
    const steward = await gw.ctx.tokens.createToken('data-steward', 'steward');
    const ok = await gw.app.inject({ method: 'GET', url: '/test/stewards', headers: bearer(steward.token) });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ tokenId: steward.id, role: 'data-steward' });
    expect(ok.headers['cache-control']).toBe('no-store');
    for (const role of ['admin', 'exchange', 'collector'] as const) {
      const res = await gw.app.inject({
        method: 'GET',
        url: '/test/stewards',
        headers: bearer(await gw.tokenFor(role)),
      });
      expect(res.statusCode).toBe(403);
    }
  });

  it('refuses at registration a route without a response schema', async () => {
    await using gw = await makeTestGateway();
    const app = gw.app;
    expect(() => app.get('/test/unfiltered', { config: { public: true } }, async () => ({ any: 'thing' }))).toThrow(
      'route GET /test/unfiltered declares no response schema',
    );
  });

  it('health, readiness, metrics and the API docs are public', async () => {
    await using gw = await makeTestGateway();
    for (const url of ['/health', '/ready', '/metrics', '/docs/json', '/docs']) {
      const res = await gw.app.inject({ method: 'GET', url });
      expect([200, 302]).toContain(res.statusCode);
    }
  });

  it('a token revoked through the API fails on the next request, even after it was cached', async () => {
    await using gw = await makeTestGateway();
    const exchange = await gw.ctx.tokens.createToken('exchange', 'buyer desk');
    gw.app.get('/test/exchange', { config: { roles: ['exchange'] }, schema: Ok }, async () => ({ ok: true }));
    expect(
      (await gw.app.inject({ method: 'GET', url: '/test/exchange', headers: bearer(exchange.token) })).statusCode,
    ).toBe(200);

    const revoke = await gw.app.inject({
      method: 'DELETE',
      url: `/v1/tokens/${exchange.id}`,
      headers: bearer(gw.adminToken),
    });
    expect(revoke.statusCode).toBe(200);
    expect(revoke.json()).toMatchObject({ id: exchange.id, role: 'exchange' });
    expect(revoke.json().revokedAt).toEqual(expect.any(String));

    const after = await gw.app.inject({ method: 'GET', url: '/test/exchange', headers: bearer(exchange.token) });
    expect(after.statusCode).toBe(401);
  });

  it('issues a token over the API that then works for its role only', async () => {
    await using gw = await makeTestGateway();
    const res = await gw.app.inject({
      method: 'POST',
      url: '/v1/tokens',
      headers: bearer(gw.adminToken),
      payload: { role: 'collector', label: 'consent app' },
    });
    expect(res.statusCode).toBe(201);
    const created = res.json() as { token: string; id: string; role: string };
    expect(created.token).toMatch(/^sgt_[A-Za-z0-9_-]{43}$/);
    expect(await gw.ctx.tokens.authenticate(created.token)).toEqual({ tokenId: created.id, role: 'collector' });

    const list = await gw.app.inject({ method: 'GET', url: '/v1/tokens', headers: bearer(gw.adminToken) });
    expect(list.body).not.toContain(created.token);
    expect(list.json().tokens.map((t: { id: string }) => t.id)).toContain(created.id);
  });
});
