// Compute-to-data deliveries as a service (docs/exchange.md, "Deliveries"). A buyer starts one under an order; what it
// asks is checked (an algorithm the order bought, outputs that algorithm may return, fields of the package) before
// anything is stored, and a refusal is audited with its rule. A delivery that passes is on disk, counted against the
// order's jobs and audited before the answer; it then runs in the background:
//   1. the decision point admits the buyer again (delegations and policies may have changed since the order);
//   2. the listing's consent basis is checked again (flagging and revaluing it past its threshold);
//   3. the consent filter admits the package's subjects whose consent in force covers the order's purpose for the
//      buyer: a subject who withdrew before this point is out; they and their records are counted against the quota
//      and stored, so every use traces back to each subject's consent;
//   4. the algorithm runs on those rows at this gateway, and only its result, shaped to pass the output check, is
//      stored for the buyer.
// Every step's outcome is audited with the order, the listing and the delivery as refs. A stop leaves a delivery
// running on disk; the next start runs it again from step 1, counting its subjects once.
import { randomUUID } from 'node:crypto';
import type { ConsentLog } from '../consent/consent-log.ts';
import { pseudonymize } from '../consent/pseudonym.ts';
import { findPurpose } from '../consent/purpose.ts';
import type { PolicyHolder } from '../consent/policy-holder.ts';
import type { Connectors } from '../connectors/connectors.ts';
import type { ViewRow } from '../connectors/view-reader.ts';
import type { Clock } from '../core/clock.ts';
import { GatewayError } from '../core/errors.ts';
import { parseRequest } from './parse-request.ts';
import type { Logger } from 'pino';
import { admitBuyer, type BuyerAdmissionDeps } from './buyer-admission.ts';
import { consentBasisOf } from './consent-basis.ts';
import type { ConsentBases } from './consent-bases.ts';
import { ALGORITHM_OUTPUTS, DeliveryRequest, fieldsRead, isDeliveryAlgorithm } from './delivery.ts';
import { scoreRow, segmentAggregates, trainModel, type TrainedModel } from './delivery-compute.ts';
import type { DeliveryConsent, DeliveryFailure, DeliveryStore, StoredDelivery, SubjectUse } from './delivery-store.ts';
import type { LiftCertificates } from './lift-certificates.ts';
import type { Listings } from './listings.ts';
import { ALGORITHM_ACTION } from './order.ts';
import type { OrderAsker, Orders } from './orders.ts';
import { outputRefusedError, refusedOutput } from './output-check.ts';
import type { StoredOrder } from './order-store.ts';
import { canonicalHash } from '../consent/canonical.ts';

export type Deliveries = {
  /**
   * Starts a delivery under an order. NOT_FOUND (order), ALGORITHM_NOT_ALLOWED, BAD_INPUT, OUTPUT_REFUSED, CONFLICT
   * (listing not listed, licence ended), QUOTA_EXCEEDED (no job left). Answers once it is stored and counted.
   */
  start(orderId: string, input: unknown, asker: OrderAsker): Promise<StoredDelivery>;
  /** NOT_FOUND for an unknown delivery and for another buyer token's. */
  get(deliveryId: string, asker: OrderAsker): Promise<StoredDelivery>;
  byOrder(orderId: string, asker: OrderAsker, limit: number): Promise<StoredDelivery[]>;
  /** The deliveries that read a subject's rows (seller's side, the compliance console), newest first. */
  usesOfSubject(subject: string, limit: number): Promise<SubjectUse[]>;
  /** The consent records a delivery's rows were read under (seller's side), after a record id. */
  consents(deliveryId: string, after: string | null, limit: number): Promise<DeliveryConsent[]>;
  /** Resolves once the delivery is no longer running here (tests, the CLI). */
  settled(deliveryId: string): Promise<StoredDelivery>;
  /** Runs again the deliveries a stop interrupted. */
  recover(): Promise<void>;
  /** Waits for running deliveries to reach a stored state; later starts are refused. */
  close(): Promise<void>;
};

export type DeliveriesOptions = {
  store: DeliveryStore;
  orders: Pick<Orders, 'get'>;
  listings: Pick<Listings, 'get'>;
  bases: Pick<ConsentBases, 'source' | 'check'>;
  certificates: Pick<LiftCertificates, 'issued' | 'proof'>;
  admission: BuyerAdmissionDeps;
  policies: PolicyHolder;
  consent: Pick<ConsentLog, 'filterSubjects' | 'coveringRecords'>;
  connectors: Pick<Connectors, 'reader'>;
  subjectKey: Uint8Array;
  clock: Clock;
  log: Logger;
  audit(entry: {
    actor: string;
    action: string;
    outcome: 'ok' | 'deny' | 'error';
    refs: string[];
    detail: Record<string, string | number | null>;
  }): Promise<void>;
};

/** Codes that mean the delivery was refused (nothing ran, its job is given back) rather than failed. */
const REFUSALS: ReadonlySet<string> = new Set([
  'QUOTA_EXCEEDED',
  'CONSENT_DENIED',
  'COLUMN_DENIED',
  'OUTPUT_REFUSED',
  'BAD_INPUT',
  'CONFLICT',
]);
const SUBJECT_CHUNK = 10_000;
/** How long settled() waits for a delivery that is running but not yet picked up here, and how often it looks. */
const SETTLE_WAIT_MS = 60_000;
const SETTLE_POLL_MS = 50;
const SYSTEM = { id: 'system:delivery', role: 'exchange' } as const;

export function createDeliveries(options: DeliveriesOptions): Deliveries {
  const { store, clock } = options;
  const inFlight = new Map<string, Promise<void>>();
  let isClosed = false;
  // Aborted by close(): a delivery still computing is left running on disk, to run again at the next start, rather
  // than holding the stop up (its rows are read again then, under the consent in force then).
  const stopping = new AbortController();
  const stopped = new Promise<never>((_, reject) => {
    stopping.signal.addEventListener('abort', () => reject(new GatewayError('STORE_UNAVAILABLE', 'stopping')));
  });
  stopped.catch(() => undefined);

  const find = async (deliveryId: string): Promise<StoredDelivery> => {
    const found = await store.get(deliveryId);
    if (found === null) throw new GatewayError('NOT_FOUND', 'no such delivery', { deliveryId });
    return found;
  };

  const refuse = async (
    error: GatewayError,
    refs: string[],
    asker: OrderAsker,
    detail: Record<string, string | null>,
  ): Promise<never> => {
    await options.audit({
      actor: asker.actor,
      action: 'delivery-refuse',
      outcome: 'deny',
      refs,
      detail: { ...detail, code: error.code, message: error.message, rule: String(error.detail.rule ?? '') },
    });
    throw error;
  };

  /** The order's subjects whose consent covers its purpose for the buyer now, among `candidates` (all when null). */
  const admitted = async (order: StoredOrder, view: string, candidates: readonly string[] | null) => {
    const at = clock.now();
    const subjects: string[] = [];
    const records: DeliveryConsent[] = [];
    const take = async (chunk: readonly string[]) => {
      const covered = await options.consent.filterSubjects(chunk, order.purpose, order.buyer, at);
      subjects.push(...covered);
      records.push(...(await options.consent.coveringRecords(covered, [order.purpose], at, order.buyer)));
    };
    if (candidates === null)
      for await (const chunk of options.connectors.reader.streamSubjects(view, SUBJECT_CHUNK)) await take(chunk);
    else for (let i = 0; i < candidates.length; i += SUBJECT_CHUNK) await take(candidates.slice(i, i + SUBJECT_CHUNK));
    return { subjects, records };
  };

  const readRows = async (order: StoredOrder, view: string, fields: string[], subjects: readonly string[]) => {
    const grant = await options.connectors.reader.readViewColumns(view, fields, order.purpose);
    const rows: ViewRow[] = [];
    for await (const chunk of options.connectors.reader.readColumnsFor(grant, subjects)) rows.push(...chunk);
    return rows;
  };

  /** Steps 1 to 4 of the header; returns the result to store. */
  const compute = async (delivery: StoredDelivery, order: StoredOrder): Promise<unknown> => {
    const request = DeliveryRequest.parse(delivery.request);
    const source = await options.bases.source(order.packageId);
    const purpose = findPurpose(options.policies.bundle.purposes, order.purpose);
    if (purpose === undefined)
      throw new GatewayError('CONSENT_DENIED', `purpose ${order.purpose} is no longer in the catalogue`, {
        reason: 'PURPOSE_UNKNOWN',
      });
    const listing = await options.listings.get(order.listingId, 'exchange');
    await admitBuyer(options.admission, {
      buyer: order.buyer,
      purpose: order.purpose,
      actions: [ALGORITHM_ACTION[request.algorithm]],
      source,
      cohortSize: listing.content.consentBasis.subjects,
      actor: delivery.createdBy,
    });
    await options.bases.check(order.listingId, `delivery:${delivery.deliveryId}`, SYSTEM);
    const ref = { deliveryId: delivery.deliveryId, orderId: order.orderId };

    if (request.algorithm === 'lift-certificate') {
      const issued = await options.certificates.issued(request.certificateId);
      if (issued === null || issued.body.packageId !== order.packageId)
        throw new GatewayError('BAD_INPUT', 'no issued lift certificate of this package has that id', {
          certificateId: request.certificateId,
        });
      await store.admit(ref, 0, consentBasisOf([]), []);
      return { certificate: await options.certificates.proof(request.certificateId) };
    }

    if (request.algorithm === 'score-own-subjects') {
      const model = await store.get(request.modelDelivery);
      if (
        model === null ||
        model.orderId !== order.orderId ||
        model.algorithm !== 'train-model' ||
        model.state !== 'completed'
      )
        throw new GatewayError('BAD_INPUT', 'modelDelivery is not a completed train-model delivery of this order', {
          modelDelivery: request.modelDelivery,
        });
      const trained = (model.result as { model: TrainedModel }).model;
      // The buyer's identifiers as this gateway's pseudonyms: rows are found by pseudonym, and the answer is keyed by
      // the identifier the buyer sent, so it learns nothing about a subject it did not already hold.
      const byPseudonym = new Map(request.subjects.map((id) => [pseudonymize(options.subjectKey, id), id]));
      const { subjects, records } = await admitted(order, source.view, [...byPseudonym.keys()]);
      const rows = await readRows(
        order,
        source.view,
        trained.weights.map((w) => w.feature),
        subjects,
      );
      // Counted before anything is scored: the subjects the package holds among those the buyer sent.
      const present = new Set(rows.map((row) => String(row.subject)));
      const used = records.filter((r) => present.has(r.subject));
      await store.admit(ref, present.size, consentBasisOf(used), used);
      const scores = rows.map((row) => ({
        subject: byPseudonym.get(String(row.subject)) as string,
        score: scoreRow(trained, (f) => (typeof row[f] === 'number' ? (row[f] as number) : null)),
      }));
      return { scores, sent: request.subjects.length, scored: scores.length };
    }

    const fields = fieldsRead(request);
    const { subjects, records } = await admitted(order, source.view, null);
    await store.admit(ref, subjects.length, consentBasisOf(records), records);
    const rows = await readRows(order, source.view, fields, subjects);
    if (request.algorithm === 'segment-aggregates')
      return { aggregates: segmentAggregates(rows, request, purpose.kThreshold) };
    return { model: trainModel(rows, request, purpose.kThreshold) };
  };

  /**
   * The audit entry of a delivery's start or end, built from what is stored, then marked as written. A stop between
   * the two writes it again at the next start: each delivery's start and end are audited at least once.
   */
  const auditStep = async (delivery: StoredDelivery, step: 'start' | 'end'): Promise<void> => {
    const order = await options.orders.get(delivery.orderId, { tokenId: '', role: 'exchange', actor: SYSTEM.id });
    const refs = [delivery.deliveryId, delivery.orderId, delivery.listingId];
    const common = { algorithm: delivery.algorithm, buyer: order.buyer, purpose: order.purpose };
    if (step === 'start')
      await options.audit({ actor: delivery.createdBy, action: 'delivery-start', outcome: 'ok', refs, detail: common });
    else if (delivery.state === 'completed')
      await options.audit({
        actor: delivery.createdBy,
        action: 'delivery-complete',
        outcome: 'ok',
        refs,
        detail: {
          ...common,
          subjects: delivery.subjectsTouched,
          consentRoot: delivery.consentBasis?.root ?? null,
          consentRecords: delivery.consentBasis?.records ?? null,
          resultHash: canonicalHash(delivery.result),
        },
      });
    else
      await options.audit({
        actor: delivery.createdBy,
        action: delivery.state === 'refused' ? 'delivery-refuse' : 'delivery-fail',
        outcome: delivery.state === 'refused' ? 'deny' : 'error',
        refs,
        detail: {
          ...common,
          code: delivery.failure?.code ?? null,
          message: delivery.failure?.message ?? null,
          rule: delivery.failure?.rule ?? null,
        },
      });
    await store.markAudited(delivery.deliveryId, step);
  };

  const run = async (delivery: StoredDelivery): Promise<void> => {
    const ref = { deliveryId: delivery.deliveryId, orderId: delivery.orderId };
    try {
      const order = await options.orders.get(delivery.orderId, { tokenId: '', role: 'exchange', actor: SYSTEM.id });
      const computing = compute(delivery, order);
      // What it does after a stop is abandoned: its end is never recorded.
      computing.catch(() => undefined);
      const result = await Promise.race([computing, stopped]);
      await store.finish(ref, { state: 'completed', result }, clock.now().toISOString());
    } catch (error) {
      if (isClosed) return;
      const failure: DeliveryFailure =
        error instanceof GatewayError
          ? {
              code: error.code,
              message: error.message,
              ...(typeof error.detail.rule === 'string' ? { rule: error.detail.rule } : {}),
            }
          : { code: 'INTERNAL', message: 'the delivery failed' };
      if (!(error instanceof GatewayError))
        options.log.error({ err: error, deliveryId: delivery.deliveryId }, 'a delivery failed');
      const state = REFUSALS.has(failure.code) ? 'refused' : 'failed';
      await store.finish(ref, { state, failure }, clock.now().toISOString());
    }
    await auditStep(await find(delivery.deliveryId), 'end');
  };

  const launch = (delivery: StoredDelivery): void => {
    const running = run(delivery)
      .catch((error: unknown) =>
        options.log.error({ err: error, deliveryId: delivery.deliveryId }, 'a delivery could not record its end'),
      )
      .finally(() => inFlight.delete(delivery.deliveryId));
    inFlight.set(delivery.deliveryId, running);
  };

  return {
    async start(orderId, raw, asker) {
      if (isClosed) throw new GatewayError('STORE_UNAVAILABLE', 'the gateway is stopping');
      const order = await options.orders.get(orderId, asker);
      const refs = [orderId, order.listingId];
      const algorithm = (raw as { algorithm?: unknown } | null)?.algorithm;
      if (!isDeliveryAlgorithm(algorithm) || !order.algorithms.includes(algorithm))
        await refuse(
          new GatewayError('ALGORITHM_NOT_ALLOWED', `the order does not buy ${String(algorithm).slice(0, 64)}`, {
            allowed: order.algorithms,
          }),
          refs,
          asker,
          { algorithm: String(algorithm).slice(0, 64) },
        );
      const request = parseRequest(DeliveryRequest, raw, 'a delivery request');
      const refusal = refusedOutput(request.outputs, ALGORITHM_OUTPUTS[request.algorithm]);
      if (refusal !== null)
        await refuse(outputRefusedError(refusal, `${request.algorithm} delivery`), refs, asker, {
          algorithm: request.algorithm,
        });
      const source = await options.bases.source(order.packageId);
      const outside = fieldsRead(request).filter((f) => !source.fields.includes(f));
      if (outside.length > 0)
        throw new GatewayError('BAD_INPUT', `not fields of the package: ${outside.join(', ')}`, {
          fields: outside,
          packageFields: source.fields,
        });
      const listing = await options.listings.get(order.listingId, 'exchange');
      if (listing.state !== 'listed')
        throw new GatewayError('CONFLICT', `the listing is ${listing.state}: it delivers nothing`, {
          state: listing.state,
        });
      const today = clock.now().toISOString().slice(0, 10);
      if (listing.content.licence.endDate < today)
        throw new GatewayError('CONFLICT', `the licence ended on ${listing.content.licence.endDate}`, {});
      const deliveryId = randomUUID();
      try {
        await store.start({
          deliveryId,
          orderId,
          listingId: order.listingId,
          algorithm: request.algorithm,
          request,
          createdAt: clock.now().toISOString(),
          createdBy: asker.actor,
        });
      } catch (error) {
        if (error instanceof GatewayError && error.code === 'QUOTA_EXCEEDED')
          await refuse(error, refs, asker, { algorithm: request.algorithm });
        throw error;
      }
      const delivery = await find(deliveryId);
      await auditStep(delivery, 'start');
      launch(delivery);
      return delivery;
    },
    async get(deliveryId, asker) {
      const delivery = await find(deliveryId);
      await options.orders.get(delivery.orderId, asker).catch((error: unknown) => {
        if (error instanceof GatewayError && error.code === 'NOT_FOUND')
          throw new GatewayError('NOT_FOUND', 'no such delivery', { deliveryId });
        throw error;
      });
      return delivery;
    },
    async byOrder(orderId, asker, limit) {
      await options.orders.get(orderId, asker);
      return store.byOrder(orderId, limit);
    },
    usesOfSubject: (subject, limit) => store.usesOfSubject(subject, limit),
    async consents(deliveryId, after, limit) {
      await find(deliveryId);
      return store.consents(deliveryId, after, limit);
    },
    async settled(deliveryId) {
      // A running delivery not yet picked up here (recover() has not reached it) is waited for too, within a bound.
      for (let waited = 0; ; waited += SETTLE_POLL_MS) {
        await inFlight.get(deliveryId);
        const delivery = await find(deliveryId);
        if (delivery.state !== 'running' || isClosed || waited >= SETTLE_WAIT_MS) return delivery;
        await new Promise((resolve) => setTimeout(resolve, SETTLE_POLL_MS));
      }
    },
    async recover() {
      for (const delivery of await store.unaudited()) {
        if (inFlight.has(delivery.deliveryId) || isClosed) continue;
        if (!delivery.audited.start) await auditStep(delivery, 'start');
        if (delivery.state !== 'running') {
          if (!delivery.audited.end) await auditStep(delivery, 'end');
          continue;
        }
        options.log.info({ deliveryId: delivery.deliveryId }, 'an interrupted delivery runs again');
        launch(delivery);
      }
    },
    async close() {
      isClosed = true;
      stopping.abort();
      await Promise.all(inFlight.values());
    },
  };
}
