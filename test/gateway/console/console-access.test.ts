// The compliance console's access and pages (docs/console.md), through the real app: a page without a session sends
// the browser to sign in; signing in needs the form's CSRF token and a compliance officer's token (another role's is
// refused); the session cookie is HttpOnly and SameSite=Strict; every page sends the strict CSP; a customer is found
// by the SHA-256 of their own id, which is all the browser sends; the subject's proofs download as one file that the
// offline verifier accepts; a revoked token or a sign-out ends the session.
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runVerifyCli } from '../../../contracts/verify-cli.ts';
import { pseudonymize } from '../../../consent/pseudonym.ts';
import { CONSOLE_CSP } from '../../../gateway/http/console/console-routes.ts';
import { subjectPage } from '../../../gateway/http/console/console-pages.ts';
import { subjectAuthorizationChain } from '../../../gateway/services/audit-report.ts';
import { grantBody } from '../../fixtures/consent-bodies.ts';
import { bearer, makeDataDir, makeTestGateway, type TestGateway } from '../../fixtures/gateway-fixture.ts';

let gw: TestGateway;
let officer: string;
let steward: string;
let collector: string;
const scratch = makeDataDir();

beforeAll(async () => {
  gw = await makeTestGateway({ SEALGATE_LEDGER: 'local', SEALGATE_ANCHOR_INTERVAL_MS: '500' });
  officer = await gw.tokenFor('compliance-officer');
  steward = await gw.tokenFor('data-steward');
  collector = await gw.tokenFor('collector');
}, 60_000);
afterAll(async () => {
  await gw?.close();
  scratch.remove();
});

const cookieOf = (setCookie: string | string[] | undefined, name: string): string | undefined =>
  [setCookie ?? []]
    .flat()
    .map((c) => c.split(';')[0] as string)
    .find((c) => c.startsWith(`${name}=`))
    ?.slice(name.length + 1);

/** Signs in with `token` through the sign-in form; returns the answer and the session cookie, if any. */
async function signIn(token: string) {
  const form = await gw.app.inject({ method: 'GET', url: '/console/sign-in' });
  const csrf = cookieOf(form.headers['set-cookie'], 'sg_console_csrf') as string;
  expect(form.body).toContain(`name="csrf" value="${csrf}"`);
  const res = await gw.app.inject({
    method: 'POST',
    url: '/console/sign-in',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'cookie': `sg_console_csrf=${csrf}` },
    payload: new URLSearchParams({ csrf, token }).toString(),
  });
  return { res, session: cookieOf(res.headers['set-cookie'], 'sg_console') || undefined };
}

const page = (url: string, session: string) =>
  gw.app.inject({ method: 'GET', url, headers: { cookie: `sg_console=${session}` } });

describe('the compliance console', () => {
  let session: string;

  it('sends a visitor without a session to sign in, and needs the CSRF token to sign in', async () => {
    const res = await gw.app.inject({ method: 'GET', url: '/console' });
    expect([res.statusCode, res.headers.location]).toEqual([303, '/console/sign-in']);
    const form = await gw.app.inject({ method: 'GET', url: '/console/sign-in' });
    expect(form.headers['content-security-policy']).toBe(CONSOLE_CSP);
    expect(form.headers['x-frame-options']).toBe('DENY');
    expect(String(form.headers['set-cookie'])).toMatch(/HttpOnly; SameSite=Strict/);
    expect(form.body).toContain('<label for="token">');
    const forged = await gw.app.inject({
      method: 'POST',
      url: '/console/sign-in',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'cookie': 'sg_console_csrf=a' },
      payload: new URLSearchParams({ csrf: 'b', token: officer }).toString(),
    });
    expect([forged.statusCode, forged.json().code]).toEqual([403, 'FORBIDDEN']);
  });

  it("refuses another role's token and a wrong one, and opens a session for a compliance officer", async () => {
    for (const token of [steward, collector, gw.adminToken]) {
      const { res, session: none } = await signIn(token);
      expect([res.statusCode, none]).toEqual([403, undefined]);
      expect(res.body).toContain('cannot open the console');
    }
    expect((await signIn('sgt_not-a-token')).res.statusCode).toBe(401);
    // A bearer token alone opens no page: the console takes its own session only.
    expect((await gw.app.inject({ method: 'GET', url: '/console', headers: bearer(officer) })).statusCode).toBe(303);

    const signedIn = await signIn(officer);
    expect([signedIn.res.statusCode, signedIn.res.headers.location]).toEqual([303, '/console']);
    expect(String(signedIn.res.headers['set-cookie'])).toMatch(
      /sg_console=[^;]+; Path=\/console; HttpOnly; SameSite=Strict/,
    );
    session = signedIn.session as string;
    const overview = await page('/console', session);
    expect(overview.statusCode).toBe(200);
    expect(overview.headers['content-security-policy']).toBe(CONSOLE_CSP);
    expect(overview.body).toContain('Audit chain');
    expect(overview.body).not.toMatch(/<script>|style="/);
  });

  it('finds a customer by the digest of their own id, shows their chain, and downloads proofs that verify offline', async () => {
    const granted = await gw.app.inject({
      method: 'POST',
      url: '/v1/consents',
      headers: bearer(collector),
      payload: grantBody('customer-7'),
    });
    expect(granted.statusCode).toBe(201);
    const digest = createHash('sha256').update('customer-7').digest('hex');
    const found = await page(`/console/subjects?digest=${digest}`, session);
    const subject = pseudonymize(gw.ctx.identity.subjectKey, 'customer-7');
    expect([found.statusCode, found.headers.location]).toEqual([303, `/console/subjects/${subject}`]);
    const chain = await page(`/console/subjects/${subject}`, session);
    expect(chain.statusCode).toBe(200);
    expect(chain.body).toContain(String((granted.json().record as { recordId: string }).recordId));
    expect(chain.body).toContain('<caption>');

    // Once anchored, the download verifies against the chain with nothing from the gateway.
    await expect
      .poll(async () => (await subjectAuthorizationChain(gw.ctx, subject)).summary.pending, { timeout: 20_000 })
      .toBe(0);
    const proofs = await page(`/console/subjects/${subject}/proofs.json`, session);
    expect(proofs.headers['content-disposition']).toContain('attachment');
    const file = join(scratch.dataDir, 'proofs.json');
    writeFileSync(file, proofs.body);
    const out: string[] = [];
    const rpc = gw.ctx.ledger.ledger!.rpcUrl;
    const code = await runVerifyCli([file, '--rpc', rpc], { out: (l) => out.push(l), err: (l) => out.push(l) });
    expect(code, out.join('\n')).toBe(0);
    expect(out.join('\n')).toContain('verify: OK: all 1 links');
  });

  it('refuses a malformed search with a page, never echoing it', async () => {
    const res = await page('/console/subjects?pseudonym=%3Cscript%3Ealert(1)%3C%2Fscript%3E', session);
    expect(res.statusCode).toBe(400);
    expect(res.body).not.toContain('<script>alert');
  });

  it('refuses hostile input with stable codes', async () => {
    const post = (payload: string, type = 'application/x-www-form-urlencoded') =>
      gw.app.inject({ method: 'POST', url: '/console/sign-in', headers: { 'content-type': type }, payload });
    expect((await post(`csrf=${'x'.repeat(5_000)}`)).statusCode).toBe(413);
    expect((await post('{"token":"x"}', 'application/json')).json().code).toBe('FORBIDDEN');
    expect((await post('<x/>', 'text/xml')).statusCode).toBe(415);
    expect((await post('csrf=&token=')).json().code).toBe('FORBIDDEN');
    expect((await gw.app.inject({ method: 'GET', url: '/console/assets/..%2Fconsole-routes.ts' })).statusCode).toBe(
      400,
    );
    expect((await page('/console/subjects/not-a-pseudonym', session)).json().code).toBe('BAD_INPUT');
    expect((await page('/console/subjects?digest=zz', session)).statusCode).toBe(400);
    expect((await page('/console', 'forged-session')).statusCode).toBe(303);
  });

  it('escapes what it shows', () => {
    const hostile = '<img src=x onerror=alert(1)>';
    const html = subjectPage(
      {
        subject: hostile,
        summary: { links: 1, anchored: 0, pending: 1, broken: 0 },
        links: [
          {
            kind: 'use',
            type: hostile,
            recordId: hostile,
            seq: 1,
            chain: 'audit',
            at: hostile,
            hash: 'h',
            anchor: 'pending',
            isVerified: false,
            failedCheck: hostile,
            detail: hostile,
            receipt: {} as never,
          },
        ],
      },
      { role: 'compliance-officer', csrf: '"><script>' },
    );
    expect(html).not.toContain('<img');
    expect(html).not.toContain('"><script>');
  });

  it('ends the session on sign-out (with the CSRF token) and when the token is revoked', async () => {
    const overview = await page('/console', session);
    const csrf = /name="csrf" value="([^"]+)"/.exec(overview.body)?.[1] as string;
    const forged = await gw.app.inject({
      method: 'POST',
      url: '/console/sign-out',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'cookie': `sg_console=${session}` },
      payload: 'csrf=wrong',
    });
    expect(forged.statusCode).toBe(403);
    const out = await gw.app.inject({
      method: 'POST',
      url: '/console/sign-out',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'cookie': `sg_console=${session}` },
      payload: new URLSearchParams({ csrf }).toString(),
    });
    expect(out.statusCode).toBe(303);
    expect((await page('/console', session)).statusCode).toBe(303);

    const second = (await signIn(officer)).session as string;
    expect((await page('/console', second)).statusCode).toBe(200);
    const [info] = (await gw.ctx.tokens.listTokens()).filter((t) => t.role === 'compliance-officer');
    await gw.ctx.tokens.revokeToken(info!.id);
    expect((await page('/console', second)).statusCode).toBe(303);
  });
});
