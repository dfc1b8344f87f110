// Every failure leaves as an RFC 9457 problem document with the catalogue's code and status, and
// nothing internal (stack, cause, secret) reaches the client.
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { PROBLEM_CONTENT_TYPE, problemType } from '../../../gateway/http/problem.ts';
import { CATALOGUE, type ErrorCode } from '../../../core/errors.ts';
import {
  declaredFieldsSerializer,
  declaredFieldsSerializerCompiler,
} from '../../../gateway/http/response-serializer.ts';
import { ConsentWriteResult } from '../../../gateway/http/routes/consent-schemas.ts';
import { grantBody } from '../../fixtures/consent-bodies.ts';
import { bearer, makeTestGateway } from '../../fixtures/gateway-fixture.ts';

function expectProblem(
  res: { statusCode: number; headers: Record<string, unknown>; json(): unknown },
  code: ErrorCode,
  instance: string,
) {
  expect(res.statusCode).toBe(CATALOGUE[code].status);
  expect(String(res.headers['content-type']).split(';')[0]).toBe(PROBLEM_CONTENT_TYPE);
  const body = res.json() as Record<string, unknown>;
  expect(body).toMatchObject({
    type: problemType(code),
    title: CATALOGUE[code].title,
    status: CATALOGUE[code].status,
    code,
    instance,
  });
  expect(typeof body.detail).toBe('string');
  expect(body.requestId).toBe(res.headers['x-request-id']);
  return body;
}

describe('problem+json responses', () => {
  it('400: a zod body failure lists the pointer and message of each bad field', async () => {
    await using gw = await makeTestGateway();
    const res = await gw.app.inject({
      method: 'POST',
      url: '/v1/tokens',
      headers: bearer(gw.adminToken),
      payload: { role: 'root', label: 7, extra: true },
    });
    const body = expectProblem(res, 'BAD_INPUT', '/v1/tokens');
    const errors = body.errors as { in: string; pointer: string; detail: string }[];
    expect(errors.map((e) => [e.in, e.pointer])).toEqual(
      expect.arrayContaining([
        ['body', '/role'],
        ['body', '/label'],
        ['body', '/extra'],
      ]),
    );
    expect(errors.every((e) => e.detail.length > 0)).toBe(true);
  });

  it('400: bad path params are reported against params', async () => {
    await using gw = await makeTestGateway();
    const res = await gw.app.inject({
      method: 'DELETE',
      url: '/v1/tokens/not-a-token-id',
      headers: bearer(gw.adminToken),
    });
    const body = expectProblem(res, 'BAD_INPUT', '/v1/tokens/not-a-token-id');
    expect(body.errors).toEqual([expect.objectContaining({ in: 'params', pointer: '/id' })]);
  });

  it('400: the nil UUID as a record id is refused with a message that says why, not "expected a lower-case UUID"', async () => {
    await using gw = await makeTestGateway();
    const url = '/v1/consents/00000000-0000-0000-0000-000000000000';
    const res = await gw.app.inject({ method: 'GET', url, headers: bearer(gw.adminToken) });
    const body = expectProblem(res, 'BAD_INPUT', url);
    expect(JSON.stringify(body.errors)).toContain('version 1 to 8 (RFC 9562)');
    expect(JSON.stringify(body.errors)).toContain('nil UUID');
  });

  it('400: malformed JSON, an empty JSON body and prototype-poisoning JSON are refused', async () => {
    await using gw = await makeTestGateway();
    const json = { ...bearer(gw.adminToken), 'content-type': 'application/json' };
    for (const payload of ['{"role":', '', '{"role":"admin","__proto__":{"x":1}}']) {
      const res = await gw.app.inject({ method: 'POST', url: '/v1/tokens', headers: json, payload });
      expectProblem(res, 'BAD_INPUT', '/v1/tokens');
    }
  });

  it('401: no token, a malformed token and an unknown token are UNAUTHENTICATED with a Bearer challenge', async () => {
    await using gw = await makeTestGateway();
    const missing = await gw.app.inject({ method: 'GET', url: '/v1/tokens' });
    expectProblem(missing, 'UNAUTHENTICATED', '/v1/tokens');
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="sealgate"');
    for (const authorization of [
      'Bearer nonsense',
      `Bearer sgt_${'A'.repeat(43)}`,
      `Basic ${Buffer.from('a:b').toString('base64')}`,
    ]) {
      const res = await gw.app.inject({ method: 'GET', url: '/v1/tokens', headers: { authorization } });
      expectProblem(res, 'UNAUTHENTICATED', '/v1/tokens');
      expect(res.headers['www-authenticate']).toBe('Bearer realm="sealgate", error="invalid_token"');
    }
  });

  it('403: a valid token of the wrong role is FORBIDDEN and told which roles may call', async () => {
    await using gw = await makeTestGateway();
    const res = await gw.app.inject({
      method: 'GET',
      url: '/v1/tokens',
      headers: bearer(await gw.tokenFor('exchange')),
    });
    const body = expectProblem(res, 'FORBIDDEN', '/v1/tokens');
    expect(body.context).toEqual({ allowedRoles: ['admin'] });
  });

  it('404: an unknown route is NOT_FOUND, and the instance drops the query string', async () => {
    await using gw = await makeTestGateway();
    const res = await gw.app.inject({ method: 'GET', url: '/no/such/route?subject=alice@example.com' });
    const body = expectProblem(res, 'NOT_FOUND', '/no/such/route');
    expect(JSON.stringify(body)).not.toContain('alice');
  });

  it('431 and a malformed request line: what the HTTP parser refuses is a problem document too', async () => {
    await using gw = await makeTestGateway();
    await gw.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = gw.app.server.address() as AddressInfo;
    /** Writes `raw` on a fresh connection and returns everything the server answers before closing it. */
    const exchange = (raw: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => socket.write(raw));
        let answer = '';
        socket.on('data', (d: Buffer) => {
          answer += d.toString();
        });
        socket.on('end', () => resolve(answer));
        socket.on('error', reject);
      });
    const parse = (answer: string) => {
      const [head = '', body = ''] = answer.split('\r\n\r\n');
      return {
        status: Number(head.split(' ')[1]),
        head: head.toLowerCase(),
        body: JSON.parse(body) as Record<string, unknown>,
      };
    };
    const big = parse(await exchange(`GET /health HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`));
    expect(big.status).toBe(431);
    expect(big.head).toContain(`content-type: ${PROBLEM_CONTENT_TYPE}`);
    expect(big.body).toMatchObject({ status: 431, code: 'HEADERS_TOO_LARGE', type: problemType('HEADERS_TOO_LARGE') });
    const garbled = parse(await exchange('NOT AN HTTP REQUEST\r\n\r\n'));
    expect(garbled.status).toBe(400);
    expect(garbled.head).toContain(`content-type: ${PROBLEM_CONTENT_TYPE}`);
    expect(garbled.body).toMatchObject({ status: 400, code: 'BAD_INPUT' });
  });

  it('413: a body over the configured limit is PAYLOAD_TOO_LARGE', async () => {
    await using gw = await makeTestGateway({ SEALGATE_BODY_LIMIT_BYTES: '1024' });
    const res = await gw.app.inject({
      method: 'POST',
      url: '/v1/tokens',
      headers: { ...bearer(gw.adminToken), 'content-type': 'application/json' },
      payload: JSON.stringify({ role: 'exchange', label: 'x'.repeat(2000) }),
    });
    expectProblem(res, 'PAYLOAD_TOO_LARGE', '/v1/tokens');
  });

  it('415: a body route refuses text/plain, form data and a missing content type', async () => {
    await using gw = await makeTestGateway();
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', undefined]) {
      const res = await gw.app.inject({
        method: 'POST',
        url: '/v1/tokens',
        headers: { ...bearer(gw.adminToken), ...(type === undefined ? {} : { 'content-type': type }) },
        payload: 'role=admin',
      });
      expectProblem(res, 'UNSUPPORTED_MEDIA_TYPE', '/v1/tokens');
    }
  });

  it('415: a JSON body in another charset, or compressed, is refused rather than misread', async () => {
    await using gw = await makeTestGateway();
    const cases: Record<string, string>[] = [
      { 'content-type': 'application/json; charset=utf-16' },
      { 'content-type': 'application/json; charset="latin1"' },
      { 'content-type': 'application/json', 'content-encoding': 'gzip' },
    ];
    for (const headers of cases) {
      const res = await gw.app.inject({
        method: 'POST',
        url: '/v1/tokens',
        headers: { ...bearer(gw.adminToken), ...headers },
        payload: '{"role":"admin"}',
      });
      expectProblem(res, 'UNSUPPORTED_MEDIA_TYPE', '/v1/tokens');
    }
    for (const type of ['application/json; charset=utf-8', 'application/json; charset=UTF8']) {
      const res = await gw.app.inject({
        method: 'POST',
        url: '/v1/tokens',
        headers: { ...bearer(gw.adminToken), 'content-type': type },
        payload: '{"role":"admin"}',
      });
      expect(res.statusCode).toBe(201);
    }
  });

  it('429: past the configured limit requests are RATE_LIMITED with Retry-After, authenticated or not', async () => {
    await using gw = await makeTestGateway({ SEALGATE_RATE_LIMIT_MAX: '2', SEALGATE_RATE_LIMIT_WINDOW_MS: '60000' });
    // Probes have a budget of their own: they neither spend the client budget nor are refused by it.
    expect((await gw.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    expect((await gw.app.inject({ method: 'GET', url: '/v1/tokens' })).statusCode).toBe(401);
    expect((await gw.app.inject({ method: 'GET', url: '/v1/tokens' })).statusCode).toBe(401);
    const res = await gw.app.inject({ method: 'GET', url: '/v1/tokens' });
    const body = expectProblem(res, 'RATE_LIMITED', '/v1/tokens');
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    expect(body.context).toEqual({ retryAfterSeconds: 60 });
  });

  it('500: a plain Error becomes "internal error"; its message and stack stay in the log', async () => {
    await using gw = await makeTestGateway();
    gw.app.get('/test/boom', { config: { public: true }, schema: { response: { 200: z.object({}) } } }, async () => {
      throw new Error('connection to postgres://admin:hunter2@db failed', { cause: new Error('deep cause') });
    });
    const res = await gw.app.inject({ method: 'GET', url: '/test/boom' });
    const body = expectProblem(res, 'INTERNAL', '/test/boom');
    expect(body.detail).toBe('internal error');
    expect(res.body).not.toMatch(/hunter2|deep cause|stack|at .*\.ts:\d+/);
    const logged = gw.log.lines
      .map((l) => JSON.parse(l) as { err?: { stack?: string }; reqId?: string })
      .find((l) => l.err !== undefined);
    expect(logged?.err?.stack).toMatch(/gateway-problem-documents\.test\.ts/);
    expect(logged?.reqId).toBe(body.requestId);
  });

  it('response schemas strip fields a handler did not declare', async () => {
    await using gw = await makeTestGateway();
    gw.app.withTypeProvider<ZodTypeProvider>().get(
      '/test/leaky',
      {
        config: { public: true },
        schema: { response: { 200: z.object({ id: z.string() }) } },
      },
      async () => ({ id: 'r1', subjectRawId: 'alice@example.com' }) as { id: string },
    );
    const res = await gw.app.inject({ method: 'GET', url: '/test/leaky' });
    expect(res.json()).toEqual({ id: 'r1' });
  });

  it('a route with the compiled serializer strips undeclared fields too, at any depth, and writes what zod would', async () => {
    await using gw = await makeTestGateway();
    gw.app.withTypeProvider<ZodTypeProvider>().get(
      '/test/leaky-compiled',
      {
        config: { public: true },
        serializerCompiler: declaredFieldsSerializerCompiler,
        schema: { response: { 200: z.object({ id: z.string(), nested: z.object({ n: z.int() }) }) } },
      },
      async () =>
        ({ id: 'r1', nested: { n: 1, token: 'sgt_x' }, subjectRawId: 'alice@example.com' }) as {
          id: string;
          nested: { n: number };
        },
    );
    const steward = await gw.tokenFor('data-steward');
    const granted = await gw.app.inject({
      method: 'POST',
      url: '/v1/consents',
      headers: bearer(steward),
      payload: grantBody('alice'),
    });
    expect(granted.statusCode).toBe(201);
    // The route's own answer is what fastify-type-provider-zod's serializer writes, byte for byte.
    expect(granted.body).toBe(JSON.stringify(ConsentWriteResult.encode(granted.json())));

    const serialize = declaredFieldsSerializer(ConsentWriteResult);
    const answer = granted.json() as { record: Record<string, unknown> };
    const leaky = {
      ...answer,
      subjectRawId: 'alice@example.com',
      record: { ...answer.record, rawIds: ['alice@example.com'] },
    };
    expect(serialize(leaky)).toBe(granted.body);

    const res = await gw.app.inject({ method: 'GET', url: '/test/leaky-compiled' });
    expect(res.json()).toEqual({ id: 'r1', nested: { n: 1 } });
  });

  it('a well-formed x-request-id is echoed; a hostile one is replaced', async () => {
    await using gw = await makeTestGateway();
    const good = await gw.app.inject({ method: 'GET', url: '/health', headers: { 'x-request-id': 'trace-123.abc' } });
    expect(good.headers['x-request-id']).toBe('trace-123.abc');
    const bad = await gw.app.inject({ method: 'GET', url: '/health', headers: { 'x-request-id': 'x\n{"level":60}' } });
    expect(bad.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});
