// The compliance console in a real browser (docs/console.md): headless Chromium signs in with a compliance officer's
// token, finds a customer by typing their own id (hashed in the page: the id is never sent), reads their chain,
// downloads their proofs and verifies them offline; a data steward's token is refused; the page runs under its
// Content-Security-Policy without a violation, and moves by keyboard. Screenshots of the pages go to
// test/.artifacts/console/.
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runVerifyCli } from '../../../contracts/verify-cli.ts';
import { subjectAuthorizationChain } from '../../../gateway/services/audit-report.ts';
import { pseudonymize } from '../../../consent/pseudonym.ts';
import { ARTIFACTS, launchChromium } from '../../fixtures/browser.ts';
import { grantBody } from '../../fixtures/consent-bodies.ts';
import { bearer, makeTestGateway, type TestGateway } from '../../fixtures/gateway-fixture.ts';

let gw: TestGateway;
let browser: Browser;
let base: string;
let officer: string;
let steward: string;
const shots = join(ARTIFACTS, 'console');

beforeAll(async () => {
  gw = await makeTestGateway({ SEALGATE_LEDGER: 'local', SEALGATE_ANCHOR_INTERVAL_MS: '500' });
  await gw.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(gw.app.server.address() as AddressInfo).port}`;
  officer = await gw.tokenFor('compliance-officer');
  steward = await gw.tokenFor('data-steward');
  const collector = await gw.tokenFor('collector');
  for (const id of ['customer-1', 'customer-2']) {
    const res = await gw.app.inject({
      method: 'POST',
      url: '/v1/consents',
      headers: bearer(collector),
      payload: grantBody(id),
    });
    expect(res.statusCode).toBe(201);
  }
  const withdrawn = await gw.app.inject({
    method: 'GET',
    url: '/v1/subjects/' + pseudonymize(gw.ctx.identity.subjectKey, 'customer-1') + '/consents',
    headers: bearer(officer),
  });
  const recordId = (withdrawn.json() as { records: { record: { recordId: string } }[] }).records[0]!.record.recordId;
  await gw.app.inject({
    method: 'POST',
    url: `/v1/consents/${recordId}/withdraw`,
    headers: bearer(collector),
    payload: {},
  });
  browser = await launchChromium();
}, 90_000);
afterAll(async () => {
  await browser?.close();
  await gw?.close();
});

/** A fresh page that fails the test on a CSP violation or a script error. */
async function freshPage(): Promise<{ page: Page; problems: string[] }> {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(e.message));
  return { page, problems };
}

async function signIn(page: Page, token: string): Promise<void> {
  await page.goto(`${base}/console`);
  expect(page.url()).toBe(`${base}/console/sign-in`);
  await page.getByLabel('Compliance officer token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

describe('the console in a browser', () => {
  it("refuses a data steward's token", async () => {
    const { page } = await freshPage();
    await signIn(page, steward);
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('cannot open the console');
    expect(page.url()).toBe(`${base}/console/sign-in`);
    await page.screenshot({ path: join(shots, 'sign-in-refused.png'), fullPage: true });
    await page.context().close();
  });

  it('signs in, finds a customer by their own id, reads the chain, and downloads proofs that verify', async () => {
    const { page, problems } = await freshPage();
    await signIn(page, officer);
    await page.waitForURL(`${base}/console`);
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toContain('Gateway');
    await page.screenshot({ path: join(shots, 'overview.png'), fullPage: true });

    // The raw id is hashed in the page: the request that leaves carries only its digest.
    const sent: string[] = [];
    page.on('request', (r) => sent.push(r.url()));
    await page.getByRole('link', { name: 'Subjects' }).click();
    await page.getByLabel("Or the customer's own id").fill('customer-1');
    await page.getByRole('button', { name: 'Find' }).click();
    const subject = pseudonymize(gw.ctx.identity.subjectKey, 'customer-1');
    await page.waitForURL(`${base}/console/subjects/${subject}`);
    expect(sent.join('\n')).not.toContain('customer-1');
    expect(sent.some((u) => u.includes('digest='))).toBe(true);

    const rows = page.getByRole('table').getByRole('row');
    await expect.poll(() => rows.count()).toBe(3); // the header, the grant and the withdrawal
    expect(await page.getByRole('table').textContent()).toMatch(/grant[\s\S]*withdraw/);
    await page.screenshot({ path: join(shots, 'subject-chain.png'), fullPage: true });

    await expect
      .poll(async () => (await subjectAuthorizationChain(gw.ctx, subject)).summary.pending, { timeout: 20_000 })
      .toBe(0);
    await page.reload();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: /Download the receipts/ }).click(),
    ]);
    const file = join(shots, 'proofs.json');
    await download.saveAs(file);
    expect(JSON.parse(readFileSync(file, 'utf8')).kind).toBe('sealgate/subject-proofs/v1');
    const out: string[] = [];
    const code = await runVerifyCli([file, '--rpc', gw.ctx.ledger.ledger!.rpcUrl], {
      out: (l) => out.push(l),
      err: (l) => out.push(l),
    });
    expect(code, out.join('\n')).toBe(0);
    expect(out.join('\n')).toContain('verify: OK: all 2 links');

    // Keyboard alone: the first stop skips to the content, the next is the navigation.
    await page.goto(`${base}/console`);
    const focused = () => page.evaluate('document.activeElement ? document.activeElement.textContent : ""');
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('Skip to the content');
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('Overview');
    expect(problems).toEqual([]);
    await page.context().close();
  });
});
