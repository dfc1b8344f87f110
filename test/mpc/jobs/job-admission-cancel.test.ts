// Every party checks a proposed job under its own rules before touching data (DESIGN.md §1.3, §6): a host without a
// delegation to the guest, or whose purpose does not allow `join`, declines with CONSENT_DENIED and the job fails at
// both; the guest refuses, before proposing, a job whose receivers its purpose does not allow. A job cancelled at a
// participant is cancelled everywhere. Job routes keep their roles, and peer routes their signatures.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../gateway/cli/cli.ts';
import { bearer } from '../../fixtures/gateway-fixture.ts';
import {
  allowJoinPurpose,
  delegate,
  getJob,
  grantConsents,
  importCustomers,
  interceptPeerCalls,
  meshJobGateways,
  readOutput,
  removeDataDir,
  settled,
  startJobGateway,
  submitJob,
  type JobGateway,
} from './job-fixture.ts';
import { dropRows, FATE_HOST_CSV, readIds } from '../psi/psi-fixture.ts';

const PARTIES = ['dealer-4s', 'insurer-a'];
let dealer: JobGateway;
let insurer: JobGateway;

beforeAll(async () => {
  const ids = dropRows(await readIds(FATE_HOST_CSV), 'job-admission', 0.02);
  [dealer, insurer] = (await Promise.all(PARTIES.map((p) => startJobGateway(p)))) as [JobGateway, JobGateway];
  await meshJobGateways([dealer, insurer]);
  for (const gw of [dealer, insurer]) {
    await allowJoinPurpose(gw, PARTIES);
    await importCustomers(gw, 'customers', ids);
    await grantConsents(
      gw,
      ids,
      PARTIES.filter((p) => p !== gw.partyId),
    );
  }
}, 240_000);

afterAll(async () => {
  for (const gw of [dealer, insurer]) {
    if (gw === undefined) continue;
    await gw.stop();
    removeDataDir(gw);
  }
});

const request = (receivers = PARTIES) => ({
  protocol: 'psi' as const,
  purpose: 'customer-alignment',
  params: { mode: 'intersection' as const },
  receivers,
  parties: PARTIES.map((id) => ({
    id,
    role: id === 'dealer-4s' ? ('guest' as const) : ('host' as const),
    view: 'customers',
    idColumn: 'vin',
  })),
  deadlines: { stepMs: 60_000 },
});

async function failedEverywhere(body: Record<string, unknown>) {
  const id = String(body.id);
  return Promise.all([settled(dealer, id, 20_000), settled(insurer, id, 20_000)]);
}

describe('job admission at every party', () => {
  it('a host without a delegation to the guest declines: CONSENT_DENIED at both, and no data was read', async () => {
    const submitted = await submitJob(dealer, request());
    expect(submitted.status).toBe(201);
    const [atDealer, atInsurer] = await failedEverywhere(submitted.body);
    expect(atDealer.failure).toMatchObject({ code: 'CONSENT_DENIED', party: 'insurer-a', peer: 'insurer-a' });
    expect(atDealer.failure?.message).toMatch(/delegation/);
    expect(atInsurer.status).toBe('failed');
    expect(atInsurer.failure?.code).toBe('CONSENT_DENIED');
    expect(atDealer.timeline).toEqual([]);
    // The refusal is a decision on the insurer's audit chain.
    const decisions = await insurer.ctx.consent.listAudit({ kind: 'decision', limit: 1000 });
    expect(
      decisions.some((d) => d.outcome === 'deny' && (d.detail.reasons as string[]).includes('NO_DELEGATION')),
    ).toBe(true);
  });

  it('a host whose purpose does not allow join declines with CONSENT_DENIED', async () => {
    await delegate(insurer, 'dealer-4s');
    await allowJoinPurpose(insurer, PARTIES, ['id', 'vin'], ['aggregate']);
    try {
      const [atDealer] = await failedEverywhere((await submitJob(dealer, request())).body);
      expect(atDealer.failure).toMatchObject({ code: 'CONSENT_DENIED', party: 'insurer-a' });
      expect(atDealer.failure?.message).toMatch(/does not allow join/);
    } finally {
      await allowJoinPurpose(insurer, PARTIES);
    }
  });

  it('the guest refuses a job whose receivers its purpose does not name, before proposing it', async () => {
    await allowJoinPurpose(dealer, ['dealer-4s']);
    try {
      const refused = await submitJob(dealer, request());
      expect(refused.status).toBe(403);
      expect(refused.body).toMatchObject({ code: 'CONSENT_DENIED' });
      expect(String(refused.body.detail)).toMatch(/insurer-a/);
    } finally {
      await allowJoinPurpose(dealer, PARTIES);
    }
    const notGuest = await submitJob(dealer, {
      ...request(),
      parties: request().parties.map((p) => ({
        ...p,
        role: p.id === 'dealer-4s' ? ('host' as const) : ('guest' as const),
      })),
    });
    expect(notGuest.status).toBe(400);
    expect(notGuest.body.code).toBe('BAD_INPUT');
  });

  it('a job cancelled at a participant is cancelled at every party and has no output', async () => {
    let cancelling: Promise<unknown> | null = null;
    let jobId = '';
    const restore = interceptPeerCalls(dealer, {
      before: (call) => {
        if (cancelling === null && call.path.startsWith('/peer/v1/jobs/messages')) {
          cancelling = insurer.app.inject({
            method: 'POST',
            url: `/v1/jobs/${jobId}/cancel`,
            headers: bearer(insurer.stewardToken),
          });
        }
        return call.body;
      },
    });
    try {
      const submitted = await submitJob(dealer, request());
      jobId = String(submitted.body.id);
      const views = await Promise.all([settled(dealer, jobId, 20_000), settled(insurer, jobId, 20_000)]);
      expect(views.map((v) => v.status)).toEqual(['cancelled', 'cancelled']);
      expect(((await cancelling) as { statusCode: number } | null)?.statusCode).toBe(200);
      expect((await readOutput(dealer, jobId)).body.code).toBe('CONFLICT');
      const again = await dealer.app.inject({
        method: 'POST',
        url: `/v1/jobs/${jobId}/cancel`,
        headers: bearer(dealer.stewardToken),
      });
      expect(again.statusCode).toBe(409);
      const resumed = await dealer.app.inject({
        method: 'POST',
        url: `/v1/jobs/${jobId}/resume`,
        headers: bearer(dealer.stewardToken),
      });
      expect(resumed.statusCode).toBe(409);
    } finally {
      restore();
    }
    expect((await getJob(dealer, jobId)).status).toBe('cancelled');
  });

  it('keeps job routes to their roles and peer job routes to signed partners', async () => {
    const collector = await dealer.app.inject({
      method: 'GET',
      url: '/v1/jobs',
      headers: bearer(dealer.collectorToken),
    });
    expect(collector.statusCode).toBe(403);
    const officer = await dealer.ctx.tokens.createToken('compliance-officer', 'test');
    expect(
      (await dealer.app.inject({ method: 'GET', url: '/v1/jobs', headers: bearer(officer.token) })).statusCode,
    ).toBe(200);
    const submit = await dealer.app.inject({
      method: 'POST',
      url: '/v1/jobs',
      headers: bearer(officer.token),
      payload: request(),
    });
    expect(submit.statusCode).toBe(403);
    const unsigned = await fetch(`${insurer.url}/peer/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(unsigned.status).toBe(401);
    expect(((await unsigned.json()) as { code: string }).code).toBe('PEER_UNKNOWN');
  });

  it('`sealgate jobs watch` draws the progress bar until the job ends, exiting 0 when it completes and 1 when it fails', async () => {
    const submitted = await submitJob(dealer, request());
    const id = String(submitted.body.id);
    const out: string[] = [];
    const err: string[] = [];
    const io = { stdout: (line: string) => out.push(line), stderr: (line: string) => err.push(line) };
    const code = await main(
      ['jobs', 'watch', id, '--url', dealer.url, '--token', dealer.stewardToken, '--interval', '50'],
      {},
      io,
    );
    expect(code, err.join('\n')).toBe(0);
    expect(out.at(-2)).toMatch(/^\[#{30}\] 100% {2}steps 2\/2 {2}completed$/);
    expect(out.at(-1)).toMatch(new RegExp(`^job ${id} completed: [0-9,]+ subjects in the intersection$`));
    expect(out.slice(0, -1).every((line) => /^\[[#-]{30}\] +\d+% {2}/.test(line))).toBe(true);

    const [declined] = (await dealer.ctx.jobs.list(50)).filter((j) => j.failure?.code === 'CONSENT_DENIED');
    const failed = await main(
      ['jobs', 'watch', String(declined?.id), '--url', dealer.url, '--token', dealer.stewardToken],
      {},
      io,
    );
    expect(failed).toBe(1);
    expect(out.at(-1)).toMatch(/failed: CONSENT_DENIED \(peer insurer-a\)/);
    expect(await main(['jobs', 'watch', id, '--url', dealer.url], {}, io)).toBe(2);
  });
});
