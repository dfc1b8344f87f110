// Benchmark 1: decision latency in process. decide() with the consent chain check against the real projection of
// a real, durable consent log (many subjects granted plus a delegation) and Cedar through the compiled default
// bundle: memo warm, memo off (every request first-seen), and a raw statefulIsAuthorized call as the baseline.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { preparsePolicySet, preparseSchema, statefulIsAuthorized } from '@cedar-policy/cedar-wasm/nodejs';
import { compilePolicyBundle, type Authorizer } from '../consent/cedar.ts';
import { systemClock } from '../core/clock.ts';
import { openConsentLog, type ConsentLog } from '../consent/consent-log.ts';
import { openConsentStore } from '../consent/consent-store.ts';
import { decide, type DecisionRequest } from '../consent/decision.ts';
import { DEFAULT_POLICY_BUNDLE } from '../consent/default-policy-bundle.ts';
import { createWorkerSigner } from '../consent/signing-worker.ts';
import { openDatabase } from '../core/database.ts';
import { measure, type LatencySummary } from './latency.ts';
import { CONTROLLER, decisionBody, delegationBody, grantBody } from './request-bodies.ts';

export type DecisionLatencyOptions = { subjects: number; decisions: number; coldDecisions: number; warmup: number };

export type DecisionLatencyResult = {
  subjects: number;
  /** In-process group-commit grant rate while populating the log (every grant COMMITted to a file). */
  populateGrantsPerSecond: number;
  warm: LatencySummary;
  cold: LatencySummary;
  rawCedar: LatencySummary;
  memo: { hits: number; misses: number; size: number };
};

const POPULATE_CONCURRENCY = 1024;

/** Grants `count` subjects through the consent log with a fixed number of concurrent writers; returns pseudonyms. */
async function populate(log: ConsentLog, count: number): Promise<string[]> {
  const subjects = new Array<string>(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(POPULATE_CONCURRENCY, count) }, async () => {
      while (next < count) {
        const i = next++;
        subjects[i] = (await log.grant(grantBody(`bench-subject-${i}`), { actor: 'bench' })).record.subject;
      }
    }),
  );
  return subjects;
}

/** The same call cedar.ts makes on a memo miss, against a set preparsed here, so nothing of sealgate is in it. */
function rawCedarCall(engineId: string, request: DecisionRequest) {
  return statefulIsAuthorized({
    principal: { type: request.principal.type, id: request.principal.id },
    action: { type: 'Action', id: request.action },
    resource: { type: request.resource.type, id: request.resource.id },
    context: { purpose: request.context.purpose, scene: request.context.scene },
    entities: [
      {
        uid: { type: request.principal.type, id: request.principal.id },
        attrs: { ...request.principal.attrs },
        parents: [],
      },
      {
        uid: { type: request.resource.type, id: request.resource.id },
        attrs: { ...request.resource.attrs },
        parents: [],
      },
    ],
    preparsedPolicySetId: engineId,
    preparsedSchemaName: engineId,
    validateRequest: true,
  });
}

export async function measureDecisionLatency(options: DecisionLatencyOptions): Promise<DecisionLatencyResult> {
  const dir = mkdtempSync(join(tmpdir(), 'sealgate-bench-decide-'));
  const db = await openDatabase(join(dir, 'bench.duckdb'));
  const signer = createWorkerSigner(generateKeyPairSync('ed25519').privateKey);
  const store = await openConsentStore(db);
  const log = await openConsentLog({
    store,
    signer,
    clock: systemClock,
    controllerId: CONTROLLER,
    subjectKey: randomBytes(32),
  });
  try {
    const started = performance.now();
    const subjects = await populate(log, options.subjects);
    const populateGrantsPerSecond = options.subjects / ((performance.now() - started) / 1000);
    await log.delegate(delegationBody(), { actor: 'bench' });

    const bundle = DEFAULT_POLICY_BUNDLE;
    const warmAuthorizer = compilePolicyBundle(bundle);
    const coldAuthorizer = compilePolicyBundle(bundle, { memoSize: 0 });
    const requests: DecisionRequest[] = Array.from(
      { length: Math.max(options.decisions, options.coldDecisions) },
      (_, i) => decisionBody(subjects, i),
    );
    const at = (i: number) => requests[i % requests.length] as DecisionRequest;
    // As the route does: the dependencies, including the decision time, are gathered per request.
    const decideWith = (authorizer: Authorizer) => (i: number) =>
      decide(at(i), {
        authorizer,
        purposes: bundle.purposes,
        view: log.view,
        controllerId: CONTROLLER,
        now: new Date(),
      });
    const isPermit = (d: unknown) => (d as { decision: string }).decision === 'permit';

    // Warm-up: JIT tiers, the memo's handful of keys, and a first check that this is the permit path.
    const warmDecide = decideWith(warmAuthorizer);
    for (let i = 0; i < options.warmup; i++) {
      const d = warmDecide(i);
      if (!isPermit(d)) throw new Error(`benchmark set-up is wrong: decision ${i} was ${JSON.stringify(d)}`);
    }
    const warm = measure(options.decisions, warmDecide);
    const coldDecide = decideWith(coldAuthorizer);
    for (let i = 0; i < Math.min(options.warmup, 2_000); i++) coldDecide(i);
    const cold = measure(options.coldDecisions, coldDecide);
    if (![...warm.sink, ...cold.sink].every(isPermit))
      throw new Error('benchmark set-up is wrong: a measured decision was not a permit');

    const engineId = `bench-raw-${warmAuthorizer.version}`;
    const pset = preparsePolicySet(engineId, { staticPolicies: bundle.policies });
    const schema = preparseSchema(engineId, bundle.schema);
    if (pset.type !== 'success' || schema.type !== 'success')
      throw new Error('raw Cedar baseline: bundle did not preparse');
    const raw = (i: number) => rawCedarCall(engineId, at(i));
    for (let i = 0; i < Math.min(options.warmup, 2_000); i++) raw(i);
    const rawCedar = measure(options.coldDecisions, raw);
    const isAllow = (a: unknown) =>
      (a as { type: string; response?: { decision: string } }).response?.decision === 'allow';
    if (!rawCedar.sink.every(isAllow)) throw new Error('raw Cedar baseline: a call did not allow');

    return {
      subjects: subjects.length,
      populateGrantsPerSecond,
      warm: warm.summary,
      cold: cold.summary,
      rawCedar: rawCedar.summary,
      memo: warmAuthorizer.memoStats(),
    };
  } finally {
    await log.close();
    await store.close();
    await signer.close();
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
