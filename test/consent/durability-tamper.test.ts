// Tampering with the DuckDB file while the gateway is down is caught after restart: an edited event,
// an edited audit entry and a cut-off last event each make GET /v1/audit/verify name the chain, the
// exact seq and the reason. The file is edited with @duckdb/node-api directly, as an attacker with
// disk access would; chain and table names follow consent/consent-store.ts.
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { DATABASE_FILE } from '../../gateway/services/context.ts';
import { grantInput } from '../fixtures/consent-log-fixture.ts';
import { startChildGateway, type ChildGateway } from '../fixtures/child-gateway.ts';
import { callJson, issueTokens } from './gateway-http.ts';
import { makeDataDir } from '../fixtures/gateway-fixture.ts';

type Tokens = { 'collector': string; 'compliance-officer': string };
type EventRow = { seq: number; eventId: string; hash: string };

const golden = makeDataDir();
const copies: ReturnType<typeof makeDataDir>[] = [];
let tokens: Tokens;
/** The event chain as the gateway reported it while writing: seq -> event. */
const written = new Map<number, EventRow>();
let auditCount = 0;
let running: ChildGateway | undefined;

/** Writes four grants and one withdraw (events 1..5, audit 1..5), then stops the gateway cleanly. */
beforeAll(async () => {
  const gw = await startChildGateway({ dataDir: golden.dataDir });
  try {
    tokens = await issueTokens(gw.url, gw.adminToken as string, ['collector', 'compliance-officer'] as const);
    const record = (res: { body: Record<string, unknown> }) => {
      for (const e of res.body.events as EventRow[]) written.set(e.seq, e);
      return (res.body.record as { recordId: string }).recordId;
    };
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await callJson({
        baseUrl: gw.url,
        method: 'POST',
        path: '/v1/consents',
        token: tokens.collector,
        body: grantInput({ subjectId: `tamper-${i}`, expiresAt: '2099-01-01T00:00:00.000Z' }),
      });
      expect(res.status).toBe(201);
      ids.push(record(res));
    }
    record(
      await callJson({
        baseUrl: gw.url,
        method: 'POST',
        path: `/v1/consents/${ids[1]}/withdraw`,
        token: tokens.collector,
        body: {
          reason: 'changed my mind',
        },
      }),
    );
    const verify = await callJson({
      baseUrl: gw.url,
      method: 'GET',
      path: '/v1/audit/verify',
      token: tokens['compliance-officer'],
    });
    expect(verify.body).toEqual({ ok: true, events: 5, audit: 5 });
    auditCount = verify.body.audit as number;
    expect([...written.keys()]).toEqual([1, 2, 3, 4, 5]);
  } finally {
    await gw.kill('SIGTERM');
  }
});

afterAll(async () => {
  await running?.kill('SIGKILL');
  golden.remove();
  for (const c of copies) c.remove();
});

/** A copy of the stopped gateway's data directory with `sql` applied straight to its DuckDB file. */
async function tamperedCopy(...statements: string[]): Promise<string> {
  const copy = makeDataDir();
  copies.push(copy);
  cpSync(golden.dataDir, copy.dataDir, { recursive: true });
  const instance = await DuckDBInstance.create(join(copy.dataDir, DATABASE_FILE));
  const connection = await instance.connect();
  try {
    for (const sql of statements) await connection.run(sql);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  return copy.dataDir;
}

async function verifyAfterRestart(dataDir: string): Promise<Record<string, unknown>> {
  const gw = await startChildGateway({ dataDir });
  running = gw;
  onTestFailed(() => {
    console.error(gw.output());
  });
  expect(gw.adminToken).toBeUndefined();
  const res = await callJson({
    baseUrl: gw.url,
    method: 'GET',
    path: '/v1/audit/verify',
    token: tokens['compliance-officer'],
  });
  await gw.kill('SIGKILL');
  running = undefined;
  expect(res.status).toBe(200);
  return res.body;
}

describe("tampering with the stopped gateway's database", () => {
  it('an untouched copy verifies (the copy itself is not what trips the check)', async () => {
    expect(await verifyAfterRestart(await tamperedCopy())).toEqual({ ok: true, events: 5, audit: auditCount });
  });

  it('an edited event payload is named: chain events, its seq, hash-mismatch', async () => {
    const dataDir = await tamperedCopy(
      `UPDATE events SET payload = replace(payload, 'joint-modeling', 'marketing') WHERE seq = 3`,
    );
    expect(await verifyAfterRestart(dataDir)).toEqual({
      ok: false,
      chain: 'events',
      seq: 3,
      id: written.get(3)?.eventId,
      reason: 'hash-mismatch',
    });
  });

  it('an edited audit entry is named: chain audit, its seq, hash-mismatch', async () => {
    const dataDir = await tamperedCopy(`UPDATE audit SET actor = 'token:tok_forgedforgedforg' WHERE seq = 2`);
    const result = await verifyAfterRestart(dataDir);
    expect(result).toMatchObject({ ok: false, chain: 'audit', seq: 2, reason: 'hash-mismatch' });
    expect(result.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('deleting the last event is detected even though the process that wrote it is gone', async () => {
    const dataDir = await tamperedCopy('DELETE FROM events WHERE seq = 5');
    // The rest of the event chain is intact, so it is the audit entry naming event 5 that gives the cut away.
    expect(await verifyAfterRestart(dataDir)).toEqual({
      ok: false,
      chain: 'events',
      seq: 5,
      id: null,
      reason: 'truncated',
    });
  });

  it('deleting the last audit entry is detected the same way, from the event it vouched for', async () => {
    const dataDir = await tamperedCopy(`DELETE FROM audit WHERE seq = ${auditCount}`);
    expect(await verifyAfterRestart(dataDir)).toEqual({
      ok: false,
      chain: 'audit',
      seq: auditCount,
      id: null,
      reason: 'truncated',
    });
  });

  it('a hole in the middle of the event log stops start-up: no decisions are served from it', async () => {
    const dataDir = await tamperedCopy('DELETE FROM events WHERE seq = 2');
    await expect(startChildGateway({ dataDir })).rejects.toThrow(
      /exited with 1 before listening[\s\S]*expected event seq 2, found 3/,
    );
  });
});
