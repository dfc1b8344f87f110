// The operations surface: /docs/json is an OpenAPI 3.1 document of the registered routes,
// /metrics speaks Prometheus text format, /ready reflects every component.
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { createMetrics } from '../../../gateway/http/metrics.ts';
import { decisionBody } from '../../fixtures/consent-bodies.ts';
import { bearer, makeDataDir, makeTestGateway, type TestGateway } from '../../fixtures/gateway-fixture.ts';

type OpenApi = {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<
    string,
    Record<
      string,
      { responses?: Record<string, unknown>; security?: unknown; requestBody?: unknown; parameters?: unknown[] }
    >
  >;
  components?: { securitySchemes?: Record<string, unknown> };
};

/** Every "$ref" in the document must point at something inside it. */
function danglingRefs(doc: unknown): string[] {
  const missing: string[] = [];
  const resolve = (ref: string) =>
    ref
      .slice(2)
      .split('/')
      .reduce<unknown>(
        (node, key) => (node as Record<string, unknown> | undefined)?.[key.replaceAll('~1', '/').replaceAll('~0', '~')],
        doc,
      );
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node !== null && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        if (key === '$ref' && typeof value === 'string' && (!value.startsWith('#/') || resolve(value) === undefined))
          missing.push(value);
        else walk(value);
      }
    }
  };
  walk(doc);
  return missing;
}

describe('operations endpoints', () => {
  it('/docs/json is OpenAPI 3.1 with the registered routes, their schemas and bearer security', async () => {
    await using gw = await makeTestGateway();
    const res = await gw.app.inject({ method: 'GET', url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json() as OpenApi;
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info).toMatchObject({ title: 'sealgate', version: '0.1.0' });
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/health', '/ready', '/metrics', '/v1/tokens', '/v1/tokens/{id}']),
    );
    expect(Object.keys(doc.paths).some((p) => p.startsWith('/docs'))).toBe(false);
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        expect(Object.keys(operation.responses ?? {}), `${method} ${path} documents a response`).not.toHaveLength(0);
      }
    }
    expect(Object.keys(doc.components?.securitySchemes ?? {})).toEqual(['bearerAuth', 'peerSignature']);
    expect(doc.components?.securitySchemes?.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.paths['/v1/tokens']?.post?.security).toEqual([{ bearerAuth: [] }]);
    // Public routes say so explicitly: an empty security requirement, not none at all.
    expect(doc.paths['/health']?.get?.security).toEqual([]);
    const body = JSON.stringify(doc.paths['/v1/tokens']?.post?.requestBody);
    expect(body).toContain('compliance-officer');
    expect(doc.paths['/v1/tokens/{id}']?.delete?.parameters).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'id', in: 'path' })]),
    );
    expect(danglingRefs(doc)).toEqual([]);
  });

  it('probes have their own budget: /health, /ready and /metrics answer while the address is throttled for the API', async () => {
    await using gw = await makeTestGateway({ SEALGATE_RATE_LIMIT_MAX: '3' });
    const api = [];
    for (let i = 0; i < 5; i++)
      api.push((await gw.app.inject({ method: 'GET', url: '/v1/tokens', headers: bearer(gw.adminToken) })).statusCode);
    expect(api.slice(-2)).toEqual([429, 429]);
    for (let i = 0; i < 20; i++) {
      for (const url of ['/health', '/ready', '/metrics']) {
        expect((await gw.app.inject({ method: 'GET', url })).statusCode, url).toBe(200);
      }
    }
  });

  it('/metrics is Prometheus text with default metrics and per-route request durations', async () => {
    await using gw = await makeTestGateway();
    await gw.app.inject({ method: 'GET', url: '/health' });
    await gw.app.inject({ method: 'GET', url: '/v1/tokens', headers: bearer(gw.adminToken) });
    await gw.app.inject({ method: 'GET', url: '/no/such/thing/42' });
    const res = await gw.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.body.startsWith('"')).toBe(false);
    expect(res.body).toContain('# TYPE process_cpu_user_seconds_total counter');
    expect(res.body).toContain('# TYPE sealgate_http_request_duration_seconds histogram');
    expect(res.body).toMatch(
      /sealgate_http_request_duration_seconds_count\{[^}]*route="\/health",method="GET",status_code="200"\} 1/,
    );
    expect(res.body).toMatch(/route="\/v1\/tokens",method="GET",status_code="200"/);
    expect(res.body).toMatch(/route="unmatched",method="GET",status_code="404"/);
    expect(res.body).not.toContain('/no/such/thing/42');
  });

  it('two gateways in one process keep separate metric registries', async () => {
    await using gw = await makeTestGateway();
    await using other = await makeTestGateway();
    await other.app.inject({ method: 'GET', url: '/health' });
    const mine = await gw.app.inject({ method: 'GET', url: '/metrics' });
    expect(mine.body).not.toMatch(/route="\/health"/);
  });

  it('/ready is 200 when all components are ok and lists degraded ones', async () => {
    await using gw = await makeTestGateway();
    // The fixture runs with SEALGATE_LEDGER=off: not anchoring is reported, but does not make the gateway unready.
    const off = await gw.app.inject({ method: 'GET', url: '/ready' });
    expect(off.statusCode).toBe(200);
    expect(off.json()).toEqual({
      status: 'degraded',
      components: { 'database': 'ok', 'ledger': 'degraded', 'audit-journal': 'ok' },
      degraded: ['ledger'],
      down: [],
    });

    gw.ctx.readiness.set('ledger', () => 'ok');
    const ok = await gw.app.inject({ method: 'GET', url: '/ready' });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({
      status: 'ok',
      components: { 'database': 'ok', 'ledger': 'ok', 'audit-journal': 'ok' },
      degraded: [],
      down: [],
    });
  });

  it('/ready is 503 when any component is down or its probe throws', async () => {
    await using gw = await makeTestGateway();
    gw.ctx.readiness.set('ledger', () => 'ok');
    gw.ctx.readiness.set('peer-client', () => {
      throw new Error('probe exploded');
    });
    const res = await gw.app.inject({ method: 'GET', url: '/ready' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({
      status: 'down',
      components: { 'database': 'ok', 'ledger': 'ok', 'audit-journal': 'ok', 'peer-client': 'down' },
      degraded: [],
      down: ['peer-client'],
    });
  });

  it('/ready reports the database down once the context is closed', async () => {
    await using gw = await makeTestGateway();
    await gw.app.ready();
    await gw.ctx.close();
    const res = await gw.app.inject({ method: 'GET', url: '/ready' });
    expect(res.statusCode).toBe(503);
    expect(res.json().components).toMatchObject({ database: 'down' });
  });

  it('/metrics shows the audit entries waiting in the journal', async () => {
    let pending = 0;
    const metrics = createMetrics('insurer-1', { auditJournalPending: () => pending });
    pending = 3;
    expect(await metrics.registry.metrics()).toMatch(
      /^sealgate_audit_journal_pending_entries\{party="insurer-1"\} 3$/m,
    );
    pending = 0;
    expect(await metrics.registry.metrics()).toMatch(
      /^sealgate_audit_journal_pending_entries\{party="insurer-1"\} 0$/m,
    );
    await using gw = await makeTestGateway();
    expect((await gw.app.inject({ method: 'GET', url: '/metrics' })).body).toMatch(
      /^sealgate_audit_journal_pending_entries\{party="[^"]+"\} 0$/m,
    );
  });

  it('/ready reports the audit journal down once it refuses appends', async () => {
    using dir = makeDataDir();
    const probe = await open(join(dir.dataDir, 'probe'), 'w');
    const proto = Object.getPrototypeOf(probe) as { truncate: (this: FileHandle, length?: number) => Promise<void> };
    await probe.close();
    // Closed by hand: with the journal refusing writes, whether closing succeeds is not what this test is about.
    let gw: TestGateway | undefined;
    try {
      gw = await makeTestGateway({}, { databasePath: join(dir.dataDir, 'sealgate.duckdb') });
      const [steward, officer] = [await gw.tokenFor('data-steward'), await gw.tokenFor('compliance-officer')];
      expect((await gw.app.inject({ method: 'GET', url: '/ready' })).json().components).toMatchObject({
        'audit-journal': 'ok',
      });

      const spy = vi
        .spyOn(proto, 'truncate')
        .mockRejectedValue(Object.assign(new Error('EIO: i/o error, ftruncate'), { code: 'EIO' }));
      try {
        const decided = await gw.app.inject({
          method: 'POST',
          url: '/v1/decisions',
          headers: bearer(steward),
          payload: decisionBody(`sp_${'a'.repeat(43)}`),
        });
        expect(decided.statusCode).toBe(200);
        // The listing (or the timer, if it came first) moves the journal into the table, which succeeds; emptying
        // the journal then fails.
        expect((await gw.app.inject({ method: 'GET', url: '/v1/audit', headers: bearer(officer) })).statusCode).toBe(
          200,
        );
      } finally {
        spy.mockRestore();
      }
      const ready = await gw.app.inject({ method: 'GET', url: '/ready' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json()).toMatchObject({
        status: 'down',
        components: { 'audit-journal': 'down' },
        down: ['audit-journal'],
      });
      const refused = await gw.app.inject({
        method: 'POST',
        url: '/v1/decisions',
        headers: bearer(steward),
        payload: decisionBody(`sp_${'b'.repeat(43)}`),
      });
      expect(refused.statusCode).toBe(503);
      expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    } finally {
      await gw?.close().catch(() => undefined);
    }
  });

  it('/health is liveness only', async () => {
    await using gw = await makeTestGateway();
    const res = await gw.app.inject({ method: 'GET', url: '/health' });
    expect(res.json()).toEqual({ status: 'ok' });
  });
});
