// Hostile requests against every route of the compliance console (docs/console.md), generated per route: without a
// session, with a forged one, and signed in with junk path parameters, queries and bodies of every kind. Nothing may
// answer 5xx; every answer is a console page, a redirect to sign in, or an RFC 9457 problem document with a code from
// the catalogue; the gateway serves afterwards. The list of routes is checked against what the app registered, so a
// new console route cannot go untested.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isErrorCode } from '../../../core/errors.ts';
import { makeTestGateway, type TestGateway } from '../../fixtures/gateway-fixture.ts';

const ROUTES: { method: 'GET' | 'POST'; url: string; needsSession: boolean }[] = [
  { method: 'GET', url: '/console', needsSession: true },
  { method: 'GET', url: '/console/sign-in', needsSession: false },
  { method: 'POST', url: '/console/sign-in', needsSession: false },
  { method: 'POST', url: '/console/sign-out', needsSession: true },
  { method: 'GET', url: '/console/subjects', needsSession: true },
  { method: 'GET', url: '/console/subjects/:subject', needsSession: true },
  { method: 'GET', url: '/console/subjects/:subject/proofs.json', needsSession: true },
  { method: 'GET', url: '/console/jobs', needsSession: true },
  { method: 'GET', url: '/console/jobs/:id', needsSession: true },
  { method: 'GET', url: '/console/listings', needsSession: true },
  { method: 'GET', url: '/console/listings/:id', needsSession: true },
  { method: 'GET', url: '/console/assets/:name', needsSession: false },
];

const PARAMS = [
  'x',
  'sp_' + 'A'.repeat(43),
  '00000000-0000-4000-8000-000000000000',
  '..%2F..%2Fkeys.json',
  '%3Cscript%3E',
  'A'.repeat(3_000),
  '%00',
  '%F0%9F%92%A9',
  'console.css',
];
const QUERIES = [
  '',
  '?pseudonym=x',
  '?digest=' + 'f'.repeat(64),
  '?digest=%3Cb%3E',
  '?unknown=1',
  `?q=${'x'.repeat(5_000)}`,
];
const BODIES: { type: string; payload: string | Buffer }[] = [
  { type: 'application/x-www-form-urlencoded', payload: 'csrf=a&token=b' },
  { type: 'application/x-www-form-urlencoded', payload: 'a'.repeat(10_000) },
  { type: 'application/x-www-form-urlencoded', payload: '%%%&&&==' },
  { type: 'application/json', payload: '{"csrf":1,"token":[]}' },
  { type: 'application/json', payload: '{' },
  { type: 'text/plain', payload: 'hello' },
  { type: 'application/octet-stream', payload: Buffer.from([0, 255, 1, 254]) },
];

let gw: TestGateway;
let session: string;

beforeAll(async () => {
  gw = await makeTestGateway({ SEALGATE_RATE_LIMIT_MAX: '1000000' });
  const officer = await gw.tokenFor('compliance-officer');
  const form = await gw.app.inject({ method: 'GET', url: '/console/sign-in' });
  const csrf = /sg_console_csrf=([^;]+)/.exec(String(form.headers['set-cookie']))?.[1] as string;
  const res = await gw.app.inject({
    method: 'POST',
    url: '/console/sign-in',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'cookie': `sg_console_csrf=${csrf}` },
    payload: new URLSearchParams({ csrf, token: officer }).toString(),
  });
  session = /sg_console=([^;]+)/.exec(String(res.headers['set-cookie']))?.[1] as string;
}, 60_000);
afterAll(async () => {
  await gw?.close();
});

describe('hostile requests against the console', () => {
  it('covers every console route the app registered', () => {
    // printRoutes draws a tree, one segment a line ("│   ├── /sign-in (GET, HEAD, POST)"): rebuild the full paths.
    const stack: string[] = [];
    const registered: string[] = [];
    for (const line of gw.app.printRoutes({ commonPrefix: false }).split('\n')) {
      const m = /^([│ ]*)[├└]── (\S+)(?: \(([A-Z, ]+)\))?/.exec(line);
      if (m === null) continue;
      const depth = (m[1] as string).length / 4;
      stack.length = depth;
      stack.push(m[2] as string);
      const url = stack.join('');
      if (m[3] !== undefined && url.startsWith('/console'))
        for (const method of m[3].split(', ')) if (method !== 'HEAD') registered.push(`${method} ${url}`);
    }
    expect(new Set(registered)).toEqual(new Set(ROUTES.map((r) => `${r.method} ${r.url}`)));
  });

  it('never answers 5xx, and answers a page, a redirect to sign in, or a catalogue problem', async () => {
    let sent = 0;
    for (const route of ROUTES) {
      const urls = route.url.includes(':')
        ? PARAMS.map((p) => route.url.replace(/:[a-z]+/, p))
        : QUERIES.map((q) => `${route.url}${q}`);
      for (const url of urls)
        for (const cookie of [
          undefined,
          'sg_console=forged',
          `sg_console=${session}`,
          `sg_console=${'x'.repeat(5_000)}`,
        ])
          for (const body of route.method === 'POST' ? BODIES : [undefined]) {
            const res = await gw.app.inject({
              method: route.method,
              url,
              headers: {
                ...(cookie === undefined ? {} : { cookie }),
                ...(body === undefined ? {} : { 'content-type': body.type }),
              },
              ...(body === undefined ? {} : { payload: body.payload }),
            });
            sent++;
            const label = `${route.method} ${url.slice(0, 80)} ${cookie?.slice(0, 20) ?? 'no cookie'} ${body?.type ?? ''}`;
            expect(res.statusCode, label).toBeLessThan(500);
            const type = String(res.headers['content-type'] ?? '');
            if (res.statusCode === 303) expect(res.headers.location, label).toMatch(/^\/console/);
            else if (type.startsWith('application/problem+json'))
              expect(isErrorCode(res.json().code), label).toBe(true);
            else if (res.statusCode >= 400) expect(type, label).toMatch(/^text\/html/);
            // Without a live session no page with data answers.
            if (route.needsSession && cookie !== `sg_console=${session}`)
              expect([303, 401, 403, 404, 400, 413, 415], label).toContain(res.statusCode);
          }
    }
    expect(sent).toBeGreaterThan(300);
    expect((await gw.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    // The session survives the barrage: hostile input ends nothing it should not.
    const page = await gw.app.inject({ method: 'GET', url: '/console', headers: { cookie: `sg_console=${session}` } });
    expect(page.statusCode).toBe(200);
  });
});
