// Benchmark 3: durable consent writes over HTTP. POST /v1/consents with a unique subject per request: validation,
// pseudonymization, hashing, Ed25519 signing and group commit; a 201 is sent only after COMMIT. Afterwards the
// chains are verified from disk and the number of new events must equal the number of 201s exactly.
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServerUnderTest } from './decision-throughput.ts';
import { measureRawDurableInserts, ROWS_PER_TRANSACTION } from './duckdb-baseline.ts';
import { jsonHeaders, verifyAudit, type Tokens, type Verification } from './gateway-client.ts';
import { runLoad, type LoadResult } from './load.ts';
import { grantBody } from './request-bodies.ts';

export type DurableWritesOptions = { connections: number; duration: number; warmup: number };

export type DurableWritesResult = {
  gateway: LoadResult;
  baseline: { rows: number; rowsPerSecond: number; seconds: number; rowsPerTransaction: number };
  ratio: number;
  check: { isOk: boolean; verification: Verification; newEvents: number; acknowledged: number; seconds: number };
};

/** Verifies the chains; throws unless they verify, since a broken chain makes every count meaningless. */
async function verified(url: string, tokens: Tokens): Promise<Verification & { events: number }> {
  const v = await verifyAudit(url, tokens);
  if (!v.ok || typeof v.events !== 'number') throw new Error(`audit verification failed: ${JSON.stringify(v)}`);
  return v as Verification & { events: number };
}

export async function measureDurableWrites(
  server: ServerUnderTest,
  tokens: Tokens,
  options: DurableWritesOptions,
  samplePayload: string,
): Promise<DurableWritesResult> {
  const { url } = server;
  const headers = jsonHeaders(tokens.collector);
  const load = (prefix: string, spec: { duration: number; amount?: number }) =>
    runLoad({
      url,
      serverPid: server.pid,
      connections: options.connections,
      ...spec,
      request: (i) => ({
        method: 'POST',
        path: '/v1/consents',
        headers,
        body: JSON.stringify(grantBody(`${prefix}-${i}`)),
      }),
    });

  const warm = await load('warmup-subject', { duration: options.warmup });
  // Requests cut off when the warm-up stopped still finish on the server: let them land before counting.
  await sleep(1_000);
  const before = await verified(url, tokens);
  // A fixed amount (about `duration` seconds at the warm-up rate) rather than a fixed time: a timed run aborts the
  // requests in flight at its end, whose writes may still commit, and the exact-count check would be blurred.
  const amount = Math.max(options.connections * 20, Math.round(warm.rps * options.duration));
  const gateway = await load('bench-subject', { duration: options.duration, amount });
  const verifyStarted = performance.now();
  const after = await verified(url, tokens);
  const seconds = (performance.now() - verifyStarted) / 1000;
  const newEvents = after.events - before.events;
  const isOk =
    after.ok && gateway.non2xx === 0 && gateway.errors === 0 && newEvents === gateway.ok && gateway.ok === amount;

  const baseline = await measureRawDurableInserts(gateway.ok, samplePayload);
  return {
    gateway,
    baseline: { ...baseline, rowsPerTransaction: ROWS_PER_TRANSACTION },
    ratio: gateway.rps / baseline.rowsPerSecond,
    check: { isOk, verification: after, newEvents, acknowledged: gateway.ok, seconds },
  };
}
