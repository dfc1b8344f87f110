// What /metrics tells an operator (docs/operations.md): consent writes, decisions and failed peer calls counted as
// they happen, with low-cardinality labels only; readiness, the ledger, the anchoring backlog and the jobs read from
// their components at scrape time; a source that fails leaves its series out instead of failing the scrape.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fixedClock } from '../../../core/clock.ts';
import { createMetrics } from '../../../gateway/http/metrics.ts';
import { ed25519FromSeed } from '../../../gateway/identity/identity.ts';
import { grantBody, decisionBody } from '../../fixtures/consent-bodies.ts';
import { bearer, makeTestGateway, type TestGateway } from '../../fixtures/gateway-fixture.ts';
import { dumpedBlockNumber, waitUntil } from '../../contracts/local-chain-fixture.ts';
import { parseSamples, parseTypes, sampleValue } from '../../fixtures/prometheus-text.ts';

const scrape = async (gw: TestGateway) => {
  const res = await gw.app.inject({ method: 'GET', url: '/metrics' });
  expect(res.statusCode).toBe(200);
  return { text: res.body, samples: parseSamples(res.body), types: parseTypes(res.body) };
};

describe('/metrics for operators', () => {
  it('counts consent writes by kind and outcome, decisions by outcome and failed peer calls by peer and code', async () => {
    await using gw = await makeTestGateway({ SEALGATE_PARTY_ID: 'dealer-4s' });
    const [collector, steward] = [await gw.tokenFor('collector'), await gw.tokenFor('data-steward')];
    const post = async (url: string, token: string, payload: unknown, status: number) => {
      const res = await gw.app.inject({ method: 'POST', url, headers: bearer(token), payload: payload as object });
      expect(res.statusCode, res.body).toBe(status);
      return res.json();
    };

    const first = (await post('/v1/consents', collector, grantBody('customer-0001'), 201)).record;
    const second = (await post('/v1/consents', collector, grantBody('customer-0002'), 201)).record;
    await post(`/v1/consents/${first.recordId}/withdraw`, collector, {}, 200);
    await post(`/v1/consents/${randomUUID()}/revoke`, steward, {}, 404);
    await post(`/v1/consents/${second.recordId}/renew`, collector, { expiresAt: '2099-12-01T00:00:00.000Z' }, 200);
    await post(`/v1/consents/${second.recordId}/supersede`, collector, grantBody('customer-0002'), 201);
    expect((await post('/v1/decisions', steward, decisionBody(second.subject), 200)).decision).toBe('deny');
    await post(
      '/v1/delegations',
      steward,
      {
        partner: 'insurer-a',
        purposes: ['joint-modeling-clv'],
        fieldAllowlist: ['customer_age', 'vehicle_model'],
        expiresAt: '2099-06-01T00:00:00.000Z',
      },
      201,
    );
    expect((await post('/v1/decisions', steward, decisionBody(second.subject), 200)).decision).toBe('permit');

    // A registered partner nobody listens for: the call is refused at connect, with no retry.
    const partnerKey = Buffer.from(ed25519FromSeed(Buffer.alloc(32, 7)).publicKeyRaw).toString('hex');
    await gw.ctx.peers.registry.add({ id: 'insurer-a', baseUrl: 'http://127.0.0.1:9', ed25519PublicKey: partnerKey });
    await expect(
      gw.ctx.peers.client.request({
        peerId: 'insurer-a',
        method: 'GET',
        path: '/peer/v1/ping',
        options: { retries: 0 },
      }),
    ).rejects.toMatchObject({ code: 'PEER_UNAVAILABLE' });

    const { text, samples, types } = await scrape(gw);
    const writes = (kind: string, outcome: string) =>
      sampleValue(samples, 'sealgate_consent_writes_total', { kind, outcome, party: 'dealer-4s' });
    expect(types.get('sealgate_consent_writes_total')).toBe('counter');
    expect(writes('grant', 'ok')).toBe(2);
    expect(writes('withdraw', 'ok')).toBe(1);
    expect(writes('revoke', 'NOT_FOUND')).toBe(1);
    // Every kind's 'ok' series is there from the start, so a rate over it needs no first write.
    expect(writes('revoke', 'ok')).toBe(0);
    expect(writes('renew', 'ok')).toBe(1);
    expect(writes('supersede', 'ok')).toBe(1);
    expect(samples.filter((s) => s.name === 'sealgate_consent_writes_total')).toHaveLength(6);

    expect(sampleValue(samples, 'sealgate_decisions_total', { outcome: 'permit' })).toBe(1);
    expect(sampleValue(samples, 'sealgate_decisions_total', { outcome: 'deny' })).toBe(1);
    expect(
      sampleValue(samples, 'sealgate_peer_call_failures_total', { peer: 'insurer-a', code: 'PEER_UNAVAILABLE' }),
    ).toBe(1);

    // No label carries an identifier: not a subject pseudonym, a record id, a token, nor the raw subject id.
    for (const secret of [first.subject, first.recordId, second.recordId, collector, steward, 'customer-0001'])
      expect(text).not.toContain(secret);
    for (const sample of samples.filter((s) => s.name.startsWith('sealgate_')))
      for (const value of Object.values(sample.labels)) expect(value).not.toMatch(/^(sp_|tok_|sgt_)|[0-9a-f]{8}-/);
  });

  it('reads readiness, the ledger, the anchoring backlog and the jobs from their components at scrape time', async () => {
    const clock = fixedClock('2027-01-04T10:00:00.000Z');
    await using gw = await makeTestGateway({ SEALGATE_PARTY_ID: 'dealer-4s' }, { clock });
    const before = (await scrape(gw)).samples;
    expect(sampleValue(before, 'sealgate_anchoring_pending_records')).toBe(0);
    expect(sampleValue(before, 'sealgate_anchoring_lag_seconds')).toBe(0);

    // One grant is one consent event and one audit entry; with SEALGATE_LEDGER=off neither is ever anchored.
    await gw.ctx.consent.grant(grantBody('customer-0001'), { actor: 'token:test' });
    clock.advance(90_000);
    const { samples, types } = await scrape(gw);
    expect(sampleValue(samples, 'sealgate_anchoring_pending_records', { party: 'dealer-4s' })).toBe(2);
    expect(sampleValue(samples, 'sealgate_anchoring_lag_seconds')).toBe(90);
    expect(sampleValue(samples, 'sealgate_audit_journal_pending_entries')).toBe(0);

    expect(sampleValue(samples, 'sealgate_ledger_up', { mode: 'off' })).toBe(0);
    // There is no embedded chain to restart.
    expect(types.get('sealgate_ledger_chain_restarts_total')).toBe('counter');
    expect(sampleValue(samples, 'sealgate_ledger_chain_restarts_total')).toBe(0);

    // The fixture's ledger is off, which /ready reports as degraded: still ready.
    expect(sampleValue(samples, 'sealgate_ready')).toBe(1);
    const state = (component: string, s: string) =>
      sampleValue(samples, 'sealgate_component_state', { component, state: s });
    expect([state('ledger', 'ok'), state('ledger', 'degraded'), state('ledger', 'down')]).toEqual([0, 1, 0]);
    expect([state('database', 'ok'), state('audit-journal', 'ok')]).toEqual([1, 1]);

    // Every state of every protocol the gateway runs, at zero before any job.
    const jobs = samples.filter((s) => s.name === 'sealgate_jobs');
    const protocols = [...new Set(jobs.map((s) => s.labels.protocol))].sort();
    expect(protocols).toEqual([
      'hfl-fedavg',
      'joint-stats',
      'psi',
      'secagg',
      'vfl-linear',
      'vfl-logistic',
      'vfl-score',
    ]);
    for (const protocol of protocols)
      expect(
        jobs
          .filter((s) => s.labels.protocol === protocol)
          .map((s) => s.labels.state)
          .sort(),
        protocol,
      ).toEqual(['accepted', 'cancelled', 'completed', 'failed', 'proposed', 'running']);
    expect(jobs.every((s) => s.value === 0)).toBe(true);
    expect(types.get('sealgate_job_step_duration_seconds')).toBe('histogram');
    expect(types.get('sealgate_job_parties_dropped_total')).toBe('counter');

    // A component going down shows at the next scrape, as /ready would answer it.
    gw.ctx.readiness.set('peer-client', () => {
      throw new Error('probe exploded');
    });
    const down = (await scrape(gw)).samples;
    expect(sampleValue(down, 'sealgate_ready')).toBe(0);
    expect(sampleValue(down, 'sealgate_component_state', { component: 'peer-client', state: 'down' })).toBe(1);
  });

  it('leaves out the series of a source that fails, and says which, while the rest of the scrape answers', async () => {
    const failed: string[] = [];
    const metrics = createMetrics(
      'insurer-1',
      {
        auditJournalPending: () => 3,
        jobs: async () => {
          throw new Error('database closed');
        },
        ledger: () => ({ mode: 'local', isUp: true, chainRestarts: 2 }),
      },
      (metric) => failed.push(metric),
    );
    const text = await metrics.registry.metrics();
    const samples = parseSamples(text);
    expect(failed).toEqual(['sealgate_jobs']);
    expect(samples.filter((s) => s.name === 'sealgate_jobs')).toEqual([]);
    expect(sampleValue(samples, 'sealgate_audit_journal_pending_entries', { party: 'insurer-1' })).toBe(3);
    expect(sampleValue(samples, 'sealgate_ledger_up', { mode: 'local' })).toBe(1);
    expect(sampleValue(samples, 'sealgate_ledger_chain_restarts_total')).toBe(2);
  });

  it('with the embedded chain: the ledger is up, anchoring drains the backlog, and a chain restart is counted', async () => {
    await using gw = await makeTestGateway({
      SEALGATE_PARTY_ID: 'dealer-4s',
      SEALGATE_LEDGER: 'local',
      SEALGATE_CHAIN_STATE_INTERVAL_S: '1',
      // Nothing is batched before the test flushes: the backlog is seen before it drains.
      SEALGATE_ANCHOR_INTERVAL_MS: '3600000',
    });
    const anchoring = gw.ctx.ledger.anchoring;
    const chain = gw.ctx.ledger.ledger?.localChain;
    if (anchoring === null || chain === null || chain === undefined) throw new Error('expected an embedded chain');

    await gw.ctx.consent.grant(grantBody('customer-0001'), { actor: 'token:test' });
    const waiting = (await scrape(gw)).samples;
    expect(sampleValue(waiting, 'sealgate_anchoring_pending_records')).toBe(2);
    expect(sampleValue(waiting, 'sealgate_anchoring_lag_seconds')).toBeGreaterThanOrEqual(0);
    expect((await anchoring.flushNow()).error).toBeNull();
    const anchored = (await scrape(gw)).samples;
    expect(sampleValue(anchored, 'sealgate_anchoring_pending_records')).toBe(0);
    expect(sampleValue(anchored, 'sealgate_anchoring_lag_seconds')).toBe(0);
    expect(sampleValue(anchored, 'sealgate_ledger_up', { mode: 'local' })).toBe(1);
    expect(sampleValue(anchored, 'sealgate_ledger_chain_restarts_total')).toBe(0);

    // The chain restarts only from a state dump (an empty one would be another ledger). Then the test kills its own
    // child process, as a crash would.
    await waitUntil('a state dump', () => dumpedBlockNumber(chain.statePath) >= 1);
    process.kill(chain.pid, 'SIGKILL');
    await waitUntil('anvil to be started again', () => chain.restarts === 1 && chain.isRunning(), 20_000);
    expect(sampleValue((await scrape(gw)).samples, 'sealgate_ledger_chain_restarts_total')).toBe(1);
  });
});
