// A 201 means the signed grant is on disk: the real gateway process is SIGKILLed in the middle of a
// burst of concurrent grants, twice, and after each restart every acknowledged record is there with
// the same event hash, the chains verify, tokens issued before the kill still work, and retrying
// the unacknowledged requests with their Idempotency-Key never writes a grant twice.
import { afterAll, describe, expect, it, onTestFailed } from 'vitest';
import { grantInput } from '../fixtures/consent-log-fixture.ts';
import { startChildGateway, type ChildGateway } from '../fixtures/child-gateway.ts';
import { callJson, issueTokens } from './gateway-http.ts';
import { makeDataDir } from '../fixtures/gateway-fixture.ts';

const BURST = 200;
const ENV = { SEALGATE_RATE_LIMIT_MAX: '1000000' };

type Ack = { recordId: string; seq: number; hash: string };
type Burst = { acked: Map<number, Ack>; unacked: number[]; inFlightAtKill: number };

const dir = makeDataDir();
let gateway: ChildGateway | undefined;
afterAll(async () => {
  await gateway?.kill('SIGKILL');
  dir.remove();
});

const grantFor = (cycle: number, i: number) =>
  grantInput({ subjectId: `kill-${cycle}-${i}`, expiresAt: '2099-01-01T00:00:00.000Z' });
const keyFor = (cycle: number, i: number) => `kill-${cycle}-${i}`;

/** Fires BURST grants at once and SIGKILLs the process as soon as `killAfter` of them are acknowledged. */
async function burstAndKill(gw: ChildGateway, token: string, cycle: number, killAfter: number): Promise<Burst> {
  const acked = new Map<number, Ack>();
  let settled = 0;
  let inFlightAtKill = -1;
  const requests = Array.from({ length: BURST }, async (_, i) => {
    try {
      const res = await callJson({
        baseUrl: gw.url,
        method: 'POST',
        path: '/v1/consents',
        token,
        body: grantFor(cycle, i),
        headers: {
          'idempotency-key': keyFor(cycle, i),
        },
      });
      // Any 201 that reached us is an acknowledgement, even one that arrives after the signal was sent.
      if (res.status === 201) {
        const record = res.body.record as { recordId: string };
        const [event] = res.body.events as { seq: number; hash: string }[];
        acked.set(i, { recordId: record.recordId, seq: event?.seq ?? -1, hash: event?.hash ?? '' });
        if (acked.size === killAfter && inFlightAtKill < 0) {
          inFlightAtKill = BURST - settled - 1;
          gw.process.kill('SIGKILL');
        }
      }
    } catch {
      // Connection reset or refused: the process is gone; this request is unacknowledged.
    } finally {
      settled++;
    }
  });
  await Promise.all(requests);
  await gw.kill('SIGKILL');
  const unacked = Array.from({ length: BURST }, (_, i) => i).filter((i) => !acked.has(i));
  return { acked, unacked, inFlightAtKill };
}

/** Every acknowledged record is readable with the very event the 201 named. */
async function expectAllPresent(gw: ChildGateway, token: string, acks: Iterable<Ack>): Promise<number> {
  let n = 0;
  for (const ack of acks) {
    const res = await callJson({ baseUrl: gw.url, method: 'GET', path: `/v1/consents/${ack.recordId}`, token });
    expect([ack.recordId, res.status]).toEqual([ack.recordId, 200]);
    const [grant] = res.body.events as { seq: number; hash: string; type: string }[];
    expect(grant).toMatchObject({ type: 'grant', seq: ack.seq, hash: ack.hash });
    n++;
  }
  return n;
}

describe('durability under SIGKILL', () => {
  it('keeps every acknowledged grant across two kill-and-restart cycles', async () => {
    // A failure here is usually a dead child: show what it said and how it ended.
    onTestFailed(() => {
      console.error(
        `gateway exit=${gateway?.process.exitCode} signal=${gateway?.process.signalCode}\n${gateway?.output()}`,
      );
    });
    gateway = await startChildGateway({ dataDir: dir.dataDir, env: ENV });
    expect(gateway.adminToken).toMatch(/^sgt_/);
    const tokens = await issueTokens(
      gateway.url,
      gateway.adminToken as string,
      ['collector', 'compliance-officer'] as const,
    );
    const allAcked: Ack[] = [];

    // Cycle 0 kills once a good share is acknowledged; cycle 1 right after the very first group commit.
    for (const [cycle, killAfter] of [
      [0, 40],
      [1, 1],
    ] as const) {
      const burst = await burstAndKill(gateway, tokens.collector, cycle, killAfter);
      expect(burst.acked.size).toBeGreaterThanOrEqual(killAfter);
      // The kill must land while requests are outstanding, or this test proves nothing about crashes.
      expect(burst.inFlightAtKill).toBeGreaterThan(0);
      allAcked.push(...burst.acked.values());

      gateway = await startChildGateway({ dataDir: dir.dataDir, env: ENV });
      expect(gateway.adminToken).toBeUndefined();
      expect(await expectAllPresent(gateway, tokens['compliance-officer'], allAcked)).toBe(allAcked.length);
      const verify = await callJson({
        baseUrl: gateway.url,
        method: 'GET',
        path: '/v1/audit/verify',
        token: tokens['compliance-officer'],
      });
      expect(verify).toEqual({
        status: 200,
        body: { ok: true, events: expect.any(Number), audit: expect.any(Number) },
      });
      expect(verify.body.events as number).toBeGreaterThanOrEqual(allAcked.length);

      // A client that never saw its answer retries with the same key: a grant that was committed is
      // replayed (same record), one that was not is written now; either way exactly once.
      for (const i of burst.unacked) {
        const retry = await callJson({
          baseUrl: gateway.url,
          method: 'POST',
          path: '/v1/consents',
          token: tokens.collector,
          body: grantFor(cycle, i),
          headers: {
            'idempotency-key': keyFor(cycle, i),
          },
        });
        expect([i, retry.status]).toEqual([i, 201]);
      }
      const replay = [...burst.acked.entries()][0] as [number, Ack];
      const again = await callJson({
        baseUrl: gateway.url,
        method: 'POST',
        path: '/v1/consents',
        token: tokens.collector,
        body: grantFor(cycle, replay[0]),
        headers: {
          'idempotency-key': keyFor(cycle, replay[0]),
        },
      });
      expect((again.body.record as { recordId: string }).recordId).toBe(replay[1].recordId);
      const after = await callJson({
        baseUrl: gateway.url,
        method: 'GET',
        path: '/v1/audit/verify',
        token: tokens['compliance-officer'],
      });
      expect(after.body).toMatchObject({ ok: true, events: BURST * (cycle + 1) });
    }
  }, 90_000);
});
