// A decision is answered only once its audit entry is on disk: the real gateway process is SIGKILLed in the middle of
// a burst of concurrent decisions, and after a restart every answered decision has its audit entry, found by the
// trace id the request carried, and the audit chain verifies. An unaudited answer would be an unprovable use.
// Grants run among the decisions, so the kill can land while a consent write moves the audit journal into the table.
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it, onTestFailed } from 'vitest';
import { decisionBody, grantBody } from '../fixtures/consent-bodies.ts';
import { startChildGateway, type ChildGateway } from '../fixtures/child-gateway.ts';
import { callJson, issueTokens } from './gateway-http.ts';
import { makeDataDir } from '../fixtures/gateway-fixture.ts';

const BURST = 300;
const KILL_AFTER = 60;
// Every GRANT_EVERY-th request of the burst is a grant instead of a decision.
const GRANT_EVERY = 5;
const ENV = { SEALGATE_RATE_LIMIT_MAX: '1000000' };

const dir = makeDataDir();
let gateway: ChildGateway | undefined;
afterAll(async () => {
  await gateway?.kill('SIGKILL');
  dir.remove();
});

/** Every decision audit entry's trace id, read page by page. */
async function auditedTraceIds(gw: ChildGateway, officer: string): Promise<Set<string>> {
  const found = new Set<string>();
  let afterSeq = 0;
  for (;;) {
    const page = await callJson({
      baseUrl: gw.url,
      method: 'GET',
      path: `/v1/audit?kind=decision&limit=1000&afterSeq=${afterSeq}`,
      token: officer,
    });
    expect(page.status).toBe(200);
    for (const entry of page.body.entries as { detail: { traceId?: string } }[])
      if (entry.detail.traceId !== undefined) found.add(entry.detail.traceId);
    if (page.body.nextAfterSeq === null) return found;
    afterSeq = Number(page.body.nextAfterSeq);
  }
}

describe('decision durability under SIGKILL', () => {
  it('has an audit entry on disk for every answered decision, and every acknowledged grant', async () => {
    onTestFailed(() => {
      console.error(
        `gateway exit=${gateway?.process.exitCode} signal=${gateway?.process.signalCode}\n${gateway?.output()}`,
      );
    });
    gateway = await startChildGateway({ dataDir: dir.dataDir, env: ENV });
    const tokens = await issueTokens(
      gateway.url,
      gateway.adminToken as string,
      ['data-steward', 'compliance-officer'] as const,
    );
    const gw = gateway;

    // The decisions' subjects have no consent: every decision is a deny, and a deny is audited like a permit.
    const answered: string[] = [];
    const granted: string[] = [];
    let isKilled = false;
    const killOnce = () => {
      // At least one acknowledged grant, whatever the load: grants are slower to answer than decisions, and a kill
      // before any of them would leave the grant half of the check with nothing to check.
      if (answered.length + granted.length >= KILL_AFTER && granted.length > 0 && !isKilled) {
        isKilled = true;
        gw.process.kill('SIGKILL');
      }
    };
    await Promise.all(
      Array.from({ length: BURST }, async (_, i) => {
        const traceId = randomBytes(16).toString('hex');
        const subject = `sp_${randomBytes(32).toString('base64url').slice(0, 43)}`;
        try {
          if (i % GRANT_EVERY === 0) {
            const res = await callJson({
              baseUrl: gw.url,
              method: 'POST',
              path: '/v1/consents',
              token: tokens['data-steward'],
              body: grantBody(`kill-decisions-${i}`),
            });
            if (res.status !== 201) throw new Error(`grant ${i}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
            granted.push(String((res.body.record as { recordId: string }).recordId));
            killOnce();
            return;
          }
          const res = await callJson({
            baseUrl: gw.url,
            method: 'POST',
            path: '/v1/decisions',
            token: tokens['data-steward'],
            body: decisionBody(subject),
            headers: {
              traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01`,
            },
          });
          if (res.status !== 200) throw new Error(`decision ${i}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
          expect(res.body.decision).toBe('deny');
          // Any answer that reached us counts, even one that arrives after the signal was sent.
          answered.push(traceId);
          killOnce();
        } catch (error) {
          // Connection reset or refused once the process is gone: this decision was never answered.
          if (!isKilled) throw error;
        }
      }),
    );
    await gw.kill('SIGKILL');
    expect(isKilled).toBe(true);
    expect(answered.length + granted.length).toBeGreaterThanOrEqual(KILL_AFTER);
    expect(answered.length + granted.length).toBeLessThan(BURST);
    expect(granted.length).toBeGreaterThan(0);

    gateway = await startChildGateway({ dataDir: dir.dataDir, env: ENV });
    const audited = await auditedTraceIds(gateway, tokens['compliance-officer']);
    expect(answered.filter((traceId) => !audited.has(traceId))).toEqual([]);
    for (const recordId of granted) {
      expect(
        (
          await callJson({
            baseUrl: gateway.url,
            method: 'GET',
            path: `/v1/consents/${recordId}`,
            token: tokens['data-steward'],
          })
        ).status,
        recordId,
      ).toBe(200);
    }
    const verify = await callJson({
      baseUrl: gateway.url,
      method: 'GET',
      path: '/v1/audit/verify',
      token: tokens['compliance-officer'],
    });
    expect(verify.body).toMatchObject({ ok: true });
  });
});
