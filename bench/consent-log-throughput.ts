// Quick local throughput check of durable consent grants through the consent log's group commit, in process (no
// HTTP): `node bench/consent-log-throughput.ts [count] [concurrency]`. A temporary DuckDB file, so every COMMIT fsyncs.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../core/database.ts';
import { systemClock } from '../core/clock.ts';
import { openConsentLog } from '../consent/consent-log.ts';
import { openConsentStore } from '../consent/consent-store.ts';
import { createWorkerSigner } from '../consent/signing-worker.ts';
import { grantInput } from '../test/fixtures/consent-log-fixture.ts';

const count = Number(process.argv[2] ?? 20_000);
const concurrency = Number(process.argv[3] ?? 4096);
const dir = mkdtempSync(join(tmpdir(), 'sealgate-bench-'));
const db = await openDatabase(join(dir, 'bench.duckdb'));
const signer = createWorkerSigner(generateKeyPairSync('ed25519').privateKey);
const store = await openConsentStore(db);
const log = await openConsentLog({
  store,
  signer,
  clock: systemClock,
  controllerId: 'dealer',
  subjectKey: randomBytes(32),
});

// The tests' valid grant, with the subject, indication time and expiry of a grant written today.
const grantFor = (i: number) =>
  grantInput({
    subjectId: `customer-${i}`,
    indication: { method: 'app', by: 'subject', at: new Date().toISOString() },
    expiresAt: '2030-01-01T00:00:00Z',
  });

const started = performance.now();
let next = 0;
// A fixed number of in-flight clients, each granting one record after another, as HTTP handlers would.
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < count) {
      const i = next++;
      await log.grant(grantFor(i), { actor: 'bench', idempotencyKey: `k-${i}` });
    }
  }),
);
const seconds = (performance.now() - started) / 1000;
const verified = await log.verify();
await log.close();
await store.close();
await signer.close();
await db.close();
rmSync(dir, { recursive: true, force: true });
process.stdout.write(
  `${count} durable grants in ${seconds.toFixed(2)} s = ${Math.round(count / seconds)} grants/s; chain ${JSON.stringify(verified)}\n`,
);
