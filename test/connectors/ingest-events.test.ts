// Signed event ingest end to end: a correctly signed batch is committed to disk with subject ids
// pseudonymized, and everything else (bad or stale signature, replayed eventId, oversized batch,
// unknown stream, undeclared field, wrong role) is refused with its exact code and stores nothing.
import { describe, expect, it } from 'vitest';
import { signIngestBody } from '../../connectors/ingest-signature.ts';
import { fixedClock } from '../../core/clock.ts';
import { pseudonymize } from '../../consent/pseudonym.ts';
import { bearer } from '../fixtures/gateway-fixture.ts';
import {
  FATE_GUEST,
  fateGuestView,
  makeConnectorGateway,
  queryDataFile,
  readDataFileBytes,
  type ConnectorGateway,
} from './connector-fixture.ts';

const START = '2026-03-01T12:00:00Z';

const CLICKS = {
  name: 'app_clicks',
  fields: [
    { name: 'screen', type: 'string', classification: 'feature', isNullable: false },
    { name: 'durationMs', type: 'integer', classification: 'feature' },
    { name: 'amount', type: 'double', classification: 'sensitive' },
    { name: 'isLive', type: 'boolean', classification: 'feature' },
    { name: 'day', type: 'date', classification: 'feature' },
    { name: 'shownAt', type: 'timestamp', classification: 'feature' },
  ],
};

type Setup = AsyncDisposable & {
  gw: ConnectorGateway;
  clock: ReturnType<typeof fixedClock>;
  secret: string;
  collector: string;
};

/** A connector gateway with the app_clicks stream; disposing of the set-up closes the gateway. */
async function setUp(): Promise<Setup> {
  const clock = fixedClock(START);
  const gw = await makeConnectorGateway({ clock });
  try {
    const created = await gw.app.inject({
      method: 'POST',
      url: '/v1/connectors/streams',
      headers: bearer(gw.stewardToken),
      payload: CLICKS,
    });
    expect(created.statusCode).toBe(201);
    const collector = await gw.tokenFor('collector');
    return { gw, clock, secret: created.json().secret, collector, [Symbol.asyncDispose]: gw.close };
  } catch (error) {
    await gw.close();
    throw error;
  }
}

const event = (n: number, extra: Record<string, unknown> = {}) => ({
  eventId: `evt-${n}`,
  subjectId: `RAWUSER-${n}`,
  occurredAt: '2026-03-01T11:59:00+08:00',
  screen: 'live-room',
  durationMs: 1200 + n,
  amount: n % 2 === 0 ? null : 9.5,
  isLive: true,
  day: '2026-03-01',
  shownAt: '2026-03-01T11:58:00.250+02:00',
  ...extra,
});

function send(
  s: Setup,
  body: string,
  options: { stream?: string; token?: string; signature?: string; contentType?: string } = {},
) {
  return s.gw.app.inject({
    method: 'POST',
    url: `/v1/ingest/${options.stream ?? 'app_clicks'}`,
    payload: body,
    headers: {
      ...bearer(options.token ?? s.collector),
      'content-type': options.contentType ?? 'application/json',
      'x-sealgate-signature': options.signature ?? signIngestBody(s.secret, body, s.clock.now()),
    },
  });
}

async function storedCount(s: Setup): Promise<number> {
  const [listed] = await s.gw.connectors.streams.list();
  return listed?.events ?? -1;
}

describe('signed event ingest', () => {
  it('commits a signed event and a batch; subjects are pseudonyms and raw ids never reach the file', async () => {
    await using s = await setUp();
    const one = await send(s, JSON.stringify(event(1)));
    expect(one.statusCode).toBe(202);
    expect(one.json()).toEqual({ stream: 'app_clicks', accepted: 1, receivedAt: new Date(START).toISOString() });
    const batch = await send(s, JSON.stringify([event(2), event(3), event(4)]));
    expect(batch.json()).toMatchObject({ accepted: 3 });

    const dataPath = s.gw.connectors.dataPath;
    await s.gw.connectors.close();
    const rows = await queryDataFile(
      dataPath,
      `SELECT event_id, subject, strftime(occurred_at, '%Y-%m-%dT%H:%M:%SZ') AS occurred, durationMs, amount, isLive,
      CAST(day AS VARCHAR) AS day, strftime(shownAt, '%Y-%m-%dT%H:%M:%S.%gZ') AS shown FROM events_app_clicks ORDER BY event_id`,
    );
    const key = s.gw.ctx.identity.subjectKey;
    expect(rows).toEqual(
      [1, 2, 3, 4].map((n) => ({
        event_id: `evt-${n}`,
        subject: pseudonymize(key, `RAWUSER-${n}`),
        occurred: '2026-03-01T03:59:00Z',
        durationMs: BigInt(1200 + n),
        amount: n % 2 === 0 ? null : 9.5,
        isLive: true,
        day: '2026-03-01',
        shown: '2026-03-01T09:58:00.250Z',
      })),
    );
    const bytes = readDataFileBytes(dataPath);
    expect(bytes.includes('live-room')).toBe(true);
    expect(bytes.includes('RAWUSER-')).toBe(false);
  });

  it('refuses a bad signature and a stale one with 401, storing nothing', async () => {
    await using s = await setUp();
    const body = JSON.stringify(event(1));
    const forged = await send(s, body, { signature: signIngestBody('sgi_not-the-secret', body, s.clock.now()) });
    expect(forged.statusCode).toBe(401);
    expect(forged.json()).toMatchObject({ code: 'BAD_SIGNATURE', context: { reason: 'mismatch' } });
    // The signature covers the exact bytes: re-serializing the same JSON differently breaks it.
    const respaced = await send(s, JSON.stringify(event(1), null, 1), {
      signature: signIngestBody(s.secret, body, s.clock.now()),
    });
    expect(respaced.json()).toMatchObject({ code: 'BAD_SIGNATURE' });

    const signedThen = signIngestBody(s.secret, body, s.clock.now());
    s.clock.advance(301_000);
    const stale = await send(s, body, { signature: signedThen });
    expect(stale.statusCode).toBe(401);
    expect(stale.json()).toMatchObject({ code: 'BAD_SIGNATURE', context: { reason: 'stale' } });
    const missing = await s.gw.app.inject({
      method: 'POST',
      url: '/v1/ingest/app_clicks',
      payload: body,
      headers: { ...bearer(s.collector), 'content-type': 'application/json' },
    });
    expect(missing.json()).toMatchObject({ code: 'BAD_SIGNATURE', context: { reason: 'missing' } });
    expect(await storedCount(s)).toBe(0);
  });

  it('rejects a replayed eventId with 409 and appends nothing from that batch', async () => {
    await using s = await setUp();
    expect((await send(s, JSON.stringify([event(1), event(2)]))).statusCode).toBe(202);
    s.clock.advance(60_000);
    const replay = await send(s, JSON.stringify(event(1)));
    expect(replay.statusCode).toBe(409);
    expect(replay.json()).toMatchObject({
      code: 'CONFLICT',
      context: { stream: 'app_clicks', duplicates: ['evt-1'], duplicateCount: 1 },
    });
    const mixed = await send(s, JSON.stringify([event(3), event(2)]));
    expect(mixed.json()).toMatchObject({ code: 'CONFLICT', context: { duplicates: ['evt-2'] } });
    expect(await storedCount(s)).toBe(2);
    expect((await send(s, JSON.stringify(event(3)))).statusCode).toBe(202);
    expect(await storedCount(s)).toBe(3);
  });

  it('refuses a batch over 1000 events with 413, and an unknown stream with 404', async () => {
    await using s = await setUp();
    const big = await send(
      s,
      JSON.stringify(
        Array.from({ length: 1001 }, (_, i) => ({ eventId: `e${i}`, subjectId: 'u', occurredAt: START, screen: 's' })),
      ),
    );
    expect(big.statusCode).toBe(413);
    expect(big.json()).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', context: { maxEvents: 1000, events: 1001 } });
    const atLimit = await send(
      s,
      JSON.stringify(
        Array.from({ length: 1000 }, (_, i) => ({
          eventId: `e${i}`,
          subjectId: `u${i}`,
          occurredAt: START,
          screen: 's',
        })),
      ),
    );
    expect(atLimit.statusCode).toBe(202);

    const unknown = await send(s, JSON.stringify(event(1)), { stream: 'nope' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().code).toBe('NOT_FOUND');
  });

  it('refuses undeclared fields, wrong types, repeated eventIds and non-JSON with 400, and other media types with 415', async () => {
    await using s = await setUp();
    const undeclared = await send(s, JSON.stringify(event(1, { email: 'x@example.com' })));
    expect(undeclared.statusCode).toBe(400);
    expect(undeclared.json().errors).toEqual([{ in: 'body', pointer: '/email', detail: 'unknown field' }]);
    const wrongType = await send(s, JSON.stringify([event(1), event(2, { durationMs: 1.5 })]));
    expect(wrongType.json()).toMatchObject({ code: 'BAD_INPUT', errors: [{ pointer: '/1/durationMs' }] });
    const required = await send(s, JSON.stringify(event(1, { screen: null })));
    expect(required.json()).toMatchObject({ code: 'BAD_INPUT', errors: [{ pointer: '/screen' }] });
    const repeated = await send(s, JSON.stringify([event(1), event(1)]));
    expect(repeated.json()).toMatchObject({ code: 'BAD_INPUT', context: { repeated: ['evt-1'] } });
    const notJson = await send(s, '{"eventId": ');
    expect(notJson.json()).toMatchObject({ code: 'BAD_INPUT', detail: 'request body is not valid JSON' });
    const text = await send(s, 'eventId=1', { contentType: 'text/plain' });
    expect(text.statusCode).toBe(415);
    expect(await storedCount(s)).toBe(0);
  });

  it('only collectors ingest; only stewards and admins create and list streams; the secret is shown once', async () => {
    await using s = await setUp();
    const body = JSON.stringify(event(1));
    expect((await send(s, body, { token: s.gw.stewardToken })).statusCode).toBe(403);
    const anonymous = await s.gw.app.inject({
      method: 'POST',
      url: '/v1/ingest/app_clicks',
      payload: body,
      headers: { 'content-type': 'application/json' },
    });
    expect(anonymous.statusCode).toBe(401);
    expect(
      (
        await s.gw.app.inject({
          method: 'POST',
          url: '/v1/connectors/streams',
          headers: bearer(s.collector),
          payload: { ...CLICKS, name: 'other' },
        })
      ).statusCode,
    ).toBe(403);

    const listed = await s.gw.app.inject({
      method: 'GET',
      url: '/v1/connectors/streams',
      headers: bearer(s.gw.adminToken),
    });
    expect(listed.json()).toEqual({
      streams: [expect.objectContaining({ events: 0, createdAt: new Date(START).toISOString() })],
    });
    expect(listed.body).not.toContain(s.secret);
    expect(listed.body).not.toContain('sgi_');

    const again = await s.gw.app.inject({
      method: 'POST',
      url: '/v1/connectors/streams',
      headers: bearer(s.gw.stewardToken),
      payload: CLICKS,
    });
    expect(again.statusCode).toBe(409);
    const reserved = await s.gw.app.inject({
      method: 'POST',
      url: '/v1/connectors/streams',
      headers: bearer(s.gw.stewardToken),
      payload: { name: 'x', fields: [{ name: 'subjectId', type: 'string', classification: 'feature' }] },
    });
    expect(reserved.statusCode).toBe(400);
    const audit = await s.gw.ctx.consent.listAudit({ kind: 'connector' });
    expect(audit.map((e) => [e.action, e.outcome, e.refs[0]])).toEqual([
      ['stream-create', 'ok', 'app_clicks'],
      ['stream-create', 'rejected', 'app_clicks'],
    ]);
  });

  it('is not queued behind a running view import (separate connections of the connector database)', async () => {
    await using s = await setUp();
    s.gw.stage(FATE_GUEST, 'guest.csv');
    let isImportDone = false;
    const importing = s.gw.connectors.views.register(fateGuestView('guest', 'guest.csv')).then((view) => {
      isImportDone = true;
      return view;
    });
    const receipt = await send(s, JSON.stringify(event(1)));
    expect(receipt.statusCode).toBe(202);
    expect(isImportDone).toBe(false);
    expect((await importing).rows).toBe(30_000);
  }, 60_000);

  it('verifies with the same secret after a restart (the secret is derived, not stored)', async () => {
    await using s = await setUp();
    expect((await send(s, JSON.stringify(event(1)))).statusCode).toBe(202);
    await s.gw.connectors.close();
    const { openConnectors } = await import('../../connectors/connectors.ts');
    const reopened = await openConnectors({
      dataDir: s.gw.ctx.config.dataDir,
      subjectKey: s.gw.ctx.identity.subjectKey,
      clock: s.clock,
      purposes: () => ({}),
    });
    try {
      const body = JSON.stringify(event(2));
      const receipt = await reopened.streams.ingest(
        'app_clicks',
        Buffer.from(body),
        signIngestBody(s.secret, body, s.clock.now()),
      );
      expect(receipt.accepted).toBe(1);
      expect((await reopened.streams.list())[0]?.events).toBe(2);
      const bytes = readDataFileBytes(reopened.dataPath);
      expect(bytes.includes(s.secret.slice(4))).toBe(false);
    } finally {
      await reopened.close();
    }
  });
});
