// Hostile input never gets past the edge as a server fault: every operation in the gateway's own
// OpenAPI document is fed requests that break each schema constraint, junk ids, wrong media types,
// oversized and malformed bodies, under every role and none. Nothing may answer 5xx; every refusal
// is an RFC 9457 problem document from the catalogue; the gateway is intact afterwards.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../../core/clock.ts';
import type { ErrorCode } from '../../../core/errors.ts';
import { PEER_HEADERS } from '../../../mpc/peers/peer-signature.ts';
import type { Role } from '../../../gateway/identity/token-store.ts';
import { T0, grantInput } from '../../fixtures/consent-log-fixture.ts';
import { PROBLEM_CONTENT_TYPE } from '../../../gateway/http/problem.ts';
import { faultOf, malformedRequests, type MalformedRequest, type OpenApiDocument } from './malformed.ts';
import { bearer, makeTestGateway, type TestGateway } from '../../fixtures/gateway-fixture.ts';

type Answer = { request: MalformedRequest; status: number; contentType: string; body: Record<string, unknown> };
const fault = (a: Answer) => faultOf({ ...a, label: a.request.label });
/** How an operation authenticates: not at all, by bearer token, or (gateway to gateway) by request signature. */
type Access = 'public' | 'bearer' | 'peer';

const OTHER_ROLES: Role[] = ['data-steward', 'compliance-officer', 'exchange', 'collector', 'buyer'];
const UNKNOWN_LOOKUP =
  /^\/v1\/(consents|delegations)\/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const decisionBody = {
  principal: { type: 'Partner', id: 'insurer', attrs: { role: 'insurer' } },
  action: 'join',
  resource: {
    type: 'Dataset',
    id: 'crm',
    attrs: { owner: 'dealer', region: 'east', classification: 'customer' },
    subject: 'sp_' + 'A'.repeat(43),
  },
  context: { purpose: 'joint-modeling-clv', scene: 'joint-modeling', fields: ['customer_age'] },
};

let gw: TestGateway;
let doc: OpenApiDocument;
let bases: Record<string, unknown>;
let requests: MalformedRequest[];
let asAdmin: Answer[];
let asOthers: (Answer & { as: Role | 'anonymous' })[];

async function send(request: MalformedRequest, authorization: string | null): Promise<Answer> {
  const { authorization: _admin, ...headers } = request.headers;
  const res = await gw.app.inject({
    method: request.method as 'GET',
    url: request.url,
    headers: authorization === null ? headers : { ...headers, authorization },
    ...(request.payload === undefined ? {} : { payload: request.payload }),
  });
  const contentType = String(res.headers['content-type'] ?? '');
  const body =
    contentType.startsWith('application/') && contentType.includes('json')
      ? (res.json() as Record<string, unknown>)
      : {};
  return { request, status: res.statusCode, contentType, body };
}

const pathOf = (a: Answer) => a.request.url.split('?')[0] as string;
const operationOf = (operation: string) => {
  const [verb, path] = operation.split(' ') as [string, string];
  return doc.paths[path]?.[verb.toLowerCase()];
};
/**
 * From the document: no `security` is public. Routes under /peer/ are gateway-to-gateway and verify a signature (DESIGN
 * §3).
 */
function accessOf(operation: string): Access {
  if (operationOf(operation)?.security?.length === 0) return 'public';
  return operation.split(' ')[1]?.startsWith('/peer/') === true ? 'peer' : 'bearer';
}
/** Admin-token answers on bearer routes with this label suffix: the ones that reach body parsing and validation. */
const labelled = (suffix: string) =>
  asAdmin.filter((a) => a.request.label.endsWith(` ${suffix}`) && accessOf(a.request.operation) === 'bearer');

beforeAll(async () => {
  gw = await makeTestGateway(
    { SEALGATE_RATE_LIMIT_MAX: '1000000', SEALGATE_PARTY_ID: 'dealer' },
    { clock: fixedClock(T0) },
  );
  doc = (await gw.app.inject({ method: 'GET', url: '/docs/json' })).json() as OpenApiDocument;
  const { bundle } = (
    await gw.app.inject({ method: 'GET', url: '/v1/policies', headers: bearer(gw.adminToken) })
  ).json();
  // Valid bodies where the schema cannot say what valid is (cross-field rules), so each mutation breaks one thing.
  bases = {
    'POST /v1/consents': grantInput({ subjectId: 'hostile-base' }),
    'POST /v1/consents/{id}/supersede': grantInput({ subjectId: 'hostile-base' }),
    'POST /v1/consents/{id}/renew': { expiresAt: '2027-01-01T00:00:00.000Z' },
    'POST /v1/consents/{id}/withdraw': { reason: 'subject asked' },
    'POST /v1/delegations': {
      partner: 'insurer',
      purposes: ['joint-modeling'],
      fieldAllowlist: ['age'],
      expiresAt: '2026-01-01T00:00:00.000Z',
    },
    'POST /v1/decisions': decisionBody,
    'POST /v1/consents/filter': { subjects: ['sp_' + 'A'.repeat(43)], purpose: 'joint-modeling', recipient: 'insurer' },
    'POST /v1/tokens': { role: 'collector', label: 'hostile' },
    'PUT /v1/policies': bundle,
  };
  requests = malformedRequests(doc, `Bearer ${gw.adminToken}`, 42, { bases });

  const tokens = new Map<Role, string>();
  for (const role of OTHER_ROLES) tokens.set(role, `Bearer ${await gw.tokenFor(role)}`);
  // Admin's token where the route takes it; else a role the route names (x-sealgate-roles), so every request reaches
  // parsing and validation. No role is a superuser: some routes refuse admin.
  const authorizationFor = (r: MalformedRequest): string | null => {
    const roles = (operationOf(r.operation) as { 'x-sealgate-roles'?: Role[] } | undefined)?.['x-sealgate-roles'];
    const header = r.headers.authorization ?? null;
    if (header === null || roles === undefined || roles.length === 0 || roles.includes('admin')) return header;
    return tokens.get(roles[0] as Role) ?? header;
  };
  asAdmin = [];
  for (const r of requests) asAdmin.push(await send(r, authorizationFor(r)));
  // Every fifth request again under each other role and with no token at all.
  asOthers = [];
  for (const r of requests.filter((_r, i) => i % 5 === 0)) {
    for (const [role, token] of tokens) asOthers.push({ ...(await send(r, token)), as: role });
    asOthers.push({ ...(await send(r, null)), as: 'anonymous' });
  }
}, 120_000);
afterAll(async () => {
  await gw?.close();
});

describe('hostile requests generated from /docs/json', () => {
  it('are several hundred and cover every operation in the document', () => {
    expect(requests.length).toBeGreaterThanOrEqual(300);
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(documented.length).toBeGreaterThanOrEqual(20);
    expect(new Set(requests.map((r) => r.operation))).toEqual(new Set(documented));
  });

  it('as admin: no 5xx, and every 4xx is a catalogue problem document with code and status', () => {
    expect(asAdmin.map(fault).filter((f) => f !== null)).toEqual([]);
    // The barrage is mostly refusals; a generator whose mutations all pass would test nothing.
    expect(asAdmin.filter((a) => a.status === 400).length).toBeGreaterThan(requests.length / 2);
  });

  it('under every other role and with no token: no 5xx, problem documents, and anonymous callers get 401', () => {
    expect(asOthers.map(fault).filter((f) => f !== null)).toEqual([]);
    for (const a of asOthers.filter((x) => x.as === 'anonymous')) {
      if (accessOf(a.request.operation) === 'public') {
        expect([a.request.label, a.status === 401 || a.status === 403]).toEqual([a.request.label, false]);
        continue;
      }
      // An over-long path is refused by the router before any route (or its access policy) is known.
      expect([a.request.label, a.status]).toEqual([a.request.label, pathOf(a).length > 2000 ? 400 : 401]);
    }
    expect(asOthers.some((a) => a.status === 403 && a.body.code === 'FORBIDDEN')).toBe(true);
  });

  it('oversized bodies are 413, bad JSON 400, wrong media types 415, unknown fields 400', () => {
    const expectAll = (suffix: string, status: number, code: ErrorCode) => {
      const answers = labelled(suffix);
      expect(answers.length, suffix).toBeGreaterThan(5);
      for (const a of answers)
        expect([a.request.label, a.status, a.body.code]).toEqual([a.request.label, status, code]);
    };
    expectAll('oversized', 413, 'PAYLOAD_TOO_LARGE');
    for (const bad of ['invalid json', 'trailing garbage', 'empty body', '__proto__ key', 'constructor.prototype key'])
      expectAll(bad, 400, 'BAD_INPUT');
    for (const media of ['text/plain', 'form encoded', 'json lookalike media type', 'no content type'])
      expectAll(media, 415, 'UNSUPPORTED_MEDIA_TYPE');
    expectAll('unknown field', 400, 'BAD_INPUT');
    for (const a of labelled('unknown field')) {
      const pointers = (a.body.errors as { pointer: string; detail: string }[]).map((e) => `${e.pointer} ${e.detail}`);
      expect(
        pointers.some((p) => p.endsWith('/unexpectedField unknown field')),
        a.request.label,
      ).toBe(true);
    }
    const unknownQuery = labelled('?unknown query');
    expect(unknownQuery.length).toBeGreaterThanOrEqual(1);
    for (const a of unknownQuery)
      expect([a.request.label, a.status, a.body.code]).toEqual([a.request.label, 400, 'BAD_INPUT']);
  });

  it('a broken constraint at any depth is a 400 that points at the field', () => {
    const broken = asAdmin.filter(
      (a) =>
        accessOf(a.request.operation) === 'bearer' &&
        / (pattern violated|too long|too short|not in enum|below minimum|above maximum|too many items|too few items|not an integer|impossible date)$/.test(
          a.request.label,
        ),
    );
    expect(broken.length).toBeGreaterThan(50);
    for (const a of broken) {
      // An array one item over its limit can also be over the body limit: refused earlier, just as well.
      if ((a.request.payload?.length ?? 0) > gw.ctx.config.bodyLimitBytes) {
        expect([a.request.label, a.status, a.body.code]).toEqual([a.request.label, 413, 'PAYLOAD_TOO_LARGE']);
        continue;
      }
      expect([a.request.label, a.status, a.body.code]).toEqual([a.request.label, 400, 'BAD_INPUT']);
      // Labels name the field as "/a/0/b:" (body) or "?name" (query); problem pointers are RFC 6901.
      const token = a.request.label.split(' ')[2] as string;
      const field = token.startsWith('?') ? `/${token.slice(1)}` : token.replace(/:$/, '');
      const pointers = (a.body.errors as { pointer: string }[]).map((e) => e.pointer);
      expect(
        pointers.some((p) => field.startsWith(p) || p.startsWith(field)),
        `${a.request.label}: ${pointers.join(', ')}`,
      ).toBe(true);
    }
  });

  it("an over-long path parameter is a BAD_INPUT problem document, not the router's own JSON", () => {
    const long = asAdmin.filter((a) => pathOf(a).length > 2000);
    expect(long.length).toBeGreaterThan(5);
    for (const a of long) {
      expect([a.request.label, a.status, a.body.code]).toEqual([a.request.label, 400, 'BAD_INPUT']);
      expect(a.body.detail).toBe('a path parameter exceeds the maximum length');
    }
  });

  it('peer routes refuse every unsigned hostile request with 401, whatever bearer token it carries', () => {
    const peer = asAdmin.filter((a) => accessOf(a.request.operation) === 'peer');
    expect(peer.length).toBeGreaterThan(10);
    for (const a of peer) expect([a.request.label, a.status]).toEqual([a.request.label, 401]);
  });

  it('a well-formed id that names nothing is NOT_FOUND', () => {
    // Only where the body (if any) is known to be valid; a synthesised one may be refused first. A subject
    // pseudonym names a possible person, not a record: it answers with an empty history.
    const unknown = labelled('unknown id').filter(
      (a) =>
        !a.request.operation.includes('/v1/subjects/') &&
        (operationOf(a.request.operation)?.requestBody === undefined || a.request.operation in bases),
    );
    expect(unknown.length).toBeGreaterThanOrEqual(8);
    // The collector-only ingest checks its signed body before it looks the stream up: the junk body is refused.
    for (const a of unknown) {
      const expected = a.request.operation.includes('/v1/ingest/') ? [400, 'BAD_INPUT'] : [404, 'NOT_FOUND'];
      expect([a.request.label, a.status, a.body.code]).toEqual([a.request.label, ...expected]);
    }
    const lookups = asAdmin.filter((a) => a.request.method === 'GET' && UNKNOWN_LOOKUP.test(a.request.url));
    expect(lookups.length).toBeGreaterThanOrEqual(4);
    for (const a of lookups)
      expect([a.request.label, a.status, a.body.code]).toEqual([a.request.label, 404, 'NOT_FOUND']);
  });

  it('a malformed idempotency key is refused wherever the header is declared', () => {
    const keyed = labelled('bad idempotency key').filter(
      (a) =>
        operationOf(a.request.operation)?.parameters?.some((p) => p.in === 'header' && p.name === 'idempotency-key') ===
        true,
    );
    expect(keyed.length).toBeGreaterThanOrEqual(7);
    for (const a of keyed)
      expect([a.request.label, a.status, a.body.code]).toEqual([a.request.label, 400, 'BAD_INPUT']);
  });

  it('after the barrage the gateway is healthy, its chains verify and a valid grant still succeeds', async () => {
    expect((await gw.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    // The ledger is off in tests, so readiness may say degraded; what matters is that nothing is down.
    const ready = await gw.app.inject({ method: 'GET', url: '/ready' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ components: { database: 'ok' }, down: [] });
    const collector = await gw.tokenFor('collector');
    const granted = await gw.app.inject({
      method: 'POST',
      url: '/v1/consents',
      headers: bearer(collector),
      payload: grantInput({ subjectId: 'after-the-storm' }),
    });
    expect(granted.statusCode, granted.body).toBe(201);
    const { recordId } = granted.json().record;
    const read = await gw.app.inject({
      method: 'GET',
      url: `/v1/consents/${recordId}`,
      headers: bearer(gw.adminToken),
    });
    expect(read.json().current).toMatchObject({ status: 'Given', isActive: true });
    const verify = await gw.app.inject({ method: 'GET', url: '/v1/audit/verify', headers: bearer(gw.adminToken) });
    expect(verify.statusCode).toBe(200);
    expect(verify.json()).toMatchObject({ ok: true });
    // The barrage's valid mutations did write; the chains hold them all.
    expect(verify.json().events).toBeGreaterThan(1);
  });
});

describe('credentials under attack', () => {
  const consents = (authorization: string | undefined) =>
    gw.app.inject({
      method: 'POST',
      url: '/v1/consents',
      payload: grantInput({ subjectId: 'token-case' }),
      headers: authorization === undefined ? {} : { authorization },
    });
  const expectUnauthenticated = (res: Awaited<ReturnType<typeof consents>>) => {
    expect(res.statusCode).toBe(401);
    expect(res.headers['content-type']).toContain(PROBLEM_CONTENT_TYPE);
    expect(res.json().code).toBe('UNAUTHENTICATED');
    expect(String(res.headers['www-authenticate'])).toMatch(/^Bearer realm="sealgate"/);
  };

  it('garbage in the Authorization header is 401', async () => {
    for (const header of [
      'Bearer',
      'Bearer ',
      'Bearer !!!garbage!!!',
      `Bearer ${'x'.repeat(8000)}`,
      'Basic dXNlcjpwYXNz',
      `Bearer ${gw.adminToken} extra`,
      `Bearer\t${gw.adminToken}`,
      'sgt_nobearer',
    ]) {
      expectUnauthenticated(await consents(header));
    }
  });

  it('a well-formed token that was never issued is 401', async () => {
    expectUnauthenticated(await consents(`Bearer sgt_${'A'.repeat(43)}`));
    expectUnauthenticated(
      await consents(`Bearer ${gw.adminToken.slice(0, -1)}${gw.adminToken.endsWith('A') ? 'B' : 'A'}`),
    );
  });

  it('a revoked token is 401 at the next request, even after it was cached by use', async () => {
    const created = await gw.app.inject({
      method: 'POST',
      url: '/v1/tokens',
      headers: bearer(gw.adminToken),
      payload: { role: 'collector', label: 'to revoke' },
    });
    expect(created.statusCode).toBe(201);
    const { id, token } = created.json();
    expect((await consents(`Bearer ${token}`)).statusCode).toBe(201);
    const revoked = await gw.app.inject({ method: 'DELETE', url: `/v1/tokens/${id}`, headers: bearer(gw.adminToken) });
    expect(revoked.json().revokedAt).not.toBeNull();
    const after = await consents(`Bearer ${token}`);
    expectUnauthenticated(after);
    expect(String(after.headers['www-authenticate'])).toContain('error="invalid_token"');
  });

  it('a peer request with forged or garbage signature headers is 401', async () => {
    const peerOps = Object.entries(doc.paths)
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
      .filter((op) => accessOf(op) === 'peer');
    expect(peerOps.length).toBeGreaterThanOrEqual(1);
    const body = '{}';
    const forged = {
      [PEER_HEADERS.peer]: 'unknown-partner',
      [PEER_HEADERS.timestamp]: String(Date.parse(T0)),
      [PEER_HEADERS.nonce]: 'A'.repeat(22),
      [PEER_HEADERS.contentSha256]: 'f'.repeat(64),
      [PEER_HEADERS.signature]: 'A'.repeat(86),
    };
    const garbage = Object.fromEntries(Object.values(PEER_HEADERS).map((h) => [h, '\u00ff../\u0000'.repeat(50)]));
    for (const op of peerOps) {
      const [method, url] = op.split(' ') as ['GET' | 'POST', string];
      for (const headers of [forged, garbage, {}]) {
        const res = await gw.app.inject({
          method,
          url,
          headers: { ...headers, ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
          ...(method === 'POST' ? { payload: body } : {}),
        });
        expect([op, res.statusCode]).toEqual([op, 401]);
        expect(res.headers['content-type']).toContain(PROBLEM_CONTENT_TYPE);
      }
    }
  });

  it('a live token for the wrong role is 403 FORBIDDEN', async () => {
    const cases: [Role, 'GET' | 'POST' | 'PUT', string][] = [
      ['exchange', 'POST', '/v1/consents'],
      ['collector', 'GET', '/v1/audit'],
      ['compliance-officer', 'POST', '/v1/tokens'],
      ['data-steward', 'PUT', '/v1/policies'],
      ['collector', 'POST', '/v1/consents/filter'],
    ];
    for (const [role, method, url] of cases) {
      const res = await gw.app.inject({
        method,
        url,
        headers: { ...bearer(await gw.tokenFor(role)), 'content-type': 'application/json' },
        payload: '{}',
      });
      expect([role, url, res.statusCode, res.json().code]).toEqual([role, url, 403, 'FORBIDDEN']);
    }
  });
});
