// The flush step of the consent log's group commit: validates each write against the state as of every write
// before it, then assigns seq and prevHash in submission order, seals, and commits the whole batch at once, so the
// event and audit chains stay gapless under any concurrency (a single-writer log, as in Kafka or a WAL).
import { randomUUID } from 'node:crypto';
import { GatewayError } from '../core/errors.ts';
import { sealAuditEntry, type AuditEntry, type AuditInput } from './audit.ts';
import type { Clock } from '../core/clock.ts';
import { currentRowOf, type ChainHead, type CommitBatch } from './commit-batch.ts';
import type { ConsentStore } from './consent-store.ts';
import { applyDelegationEvent, type DelegationState } from './delegation.ts';
import { attachSignature, hashEvent, signingBytes, type HashedEvent, type UnsealedEvent } from './event.ts';
import { applyConsentEvent, type ConsentState } from './lifecycle.ts';
import type { ConsentProjection } from './projection.ts';
import type { Signer } from './signer.ts';

/** Consent and delegation state including writes staged earlier in the same batch. */
export type StagedView = {
  consent(recordId: string): ConsentState | undefined;
  delegation(delegationId: string): DelegationState | undefined;
};

export type Plan = {
  events: UnsealedEvent[];
  /** Audit entries for this write; they reference the events by hash. */
  audit(events: readonly HashedEvent[]): AuditInput[];
  /** The JSON result returned to the caller and stored for idempotent replays. Runs after the state is staged. */
  respond(events: readonly HashedEvent[], audit: readonly AuditEntry[]): unknown;
};

export type WriteIntent = {
  /** Scoped key and hash of the request; a repeat with the same hash replays the stored response. */
  idempotency: { key: string; requestHash: string } | null;
  /**
   * Ids of the existing consent records `plan` reads through the view. Their states are read from the log (one
   * read per batch) before the batch is sequenced: the projection keeps no record objects.
   */
  touches: readonly string[];
  /** Builds the write from current state; throws (e.g. CONFLICT) to reject this write alone. `at` is the write time. */
  plan(view: StagedView, at: string): Plan;
};

export type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

export type SequencerDeps = {
  store: ConsentStore;
  projection: ConsentProjection;
  signer: Signer;
  clock: Clock;
  /** The current states of these records, folded from the log; unknown ids are left out. */
  loadStates(recordIds: readonly string[]): Promise<Map<string, ConsentState>>;
};

type StagedConsent = { state: ConsentState; isNew: boolean };

const SIGN_CHUNK = 128;

/** Returns the group committer's flush: one outcome per intent, in order; throws only if the COMMIT fails. */
export function createSequencer({
  store,
  projection,
  signer,
  clock,
  loadStates,
}: SequencerDeps): (intents: WriteIntent[]) => Promise<Outcome[]> {
  return async (intents) => {
    const keys = [...new Set(intents.flatMap((i) => (i.idempotency === null ? [] : [i.idempotency.key])))];
    const known = await store.findIdempotency(keys);
    const loaded = await loadStates([...new Set(intents.flatMap((i) => i.touches))]);
    const stored = (id: string): ConsentState | undefined => {
      const state = loaded.get(id);
      // A plan that reads a record it did not declare would see "no such record": a bug, not the client's error.
      if (state === undefined && projection.recordSeqs(id) !== undefined)
        throw new GatewayError('INTERNAL', 'a write read a consent record it did not declare', { recordId: id });
      return state;
    };
    let eventHead: ChainHead = { ...store.heads.events };
    let auditHead: ChainHead = { ...store.heads.audit };
    const consents = new Map<string, StagedConsent>();
    const delegations = new Map<string, DelegationState>();
    const hashed: HashedEvent[] = [];
    // With a bulk signer (a worker thread), chunks are sent off while later intents are still being hashed,
    // so signing overlaps hashing instead of adding to it.
    const signed: Promise<Uint8Array[]>[] = [];
    let unsent: Uint8Array[] = [];
    const sendChunk = () => {
      if (signer.signBatch === undefined || unsent.length === 0) return;
      signed.push(signer.signBatch(unsent));
      unsent = [];
    };
    const batch: CommitBatch = { events: [], audit: [], idempotency: [], current: [] };
    const view: StagedView = {
      consent: (id) => consents.get(id)?.state ?? stored(id),
      delegation: (id) => delegations.get(id) ?? projection.delegationState(id),
    };

    const sequence = (intent: WriteIntent): unknown => {
      const idem = intent.idempotency;
      const prior = idem === null ? undefined : known.get(idem.key);
      if (idem !== null && prior !== undefined) {
        if (prior.requestHash !== idem.requestHash) {
          throw new GatewayError('IDEMPOTENCY_MISMATCH', 'idempotency key was used for a different request');
        }
        return JSON.parse(prior.response);
      }
      const at = clock.now().toISOString();
      const plan = intent.plan(view, at);

      // Dry-run the lifecycle on copies first, so a rejected write leaves nothing staged.
      const nextConsents = new Map<string, StagedConsent>();
      const nextDelegations = new Map<string, DelegationState>();
      for (const event of plan.events) {
        if (event.kind === 'consent') {
          const before = nextConsents.get(event.recordId) ?? consents.get(event.recordId);
          const state = before?.state ?? stored(event.recordId);
          nextConsents.set(event.recordId, {
            state: applyConsentEvent(state, event),
            isNew: before?.isNew ?? state === undefined,
          });
        } else {
          const state = nextDelegations.get(event.recordId) ?? view.delegation(event.recordId);
          nextDelegations.set(event.recordId, applyDelegationEvent(state, event));
        }
      }

      let head = eventHead;
      const sealed = plan.events.map((event) => {
        const e = hashEvent(event, head.hash, head.seq + 1, signer.keyId);
        head = { seq: e.seq, hash: e.hash, id: e.eventId };
        return e;
      });
      let aHead = auditHead;
      const audit = plan.audit(sealed).map((input) => {
        const entry = sealAuditEntry({ ...input, entryId: randomUUID(), at }, aHead.hash, aHead.seq + 1);
        aHead = { seq: entry.seq, hash: entry.hash, id: entry.entryId };
        return entry;
      });

      // Everything for this write is valid: stage it.
      for (const [id, staged] of nextConsents) consents.set(id, staged);
      for (const [id, state] of nextDelegations) delegations.set(id, state);
      eventHead = head;
      auditHead = aHead;
      hashed.push(...sealed);
      if (signer.signBatch !== undefined) {
        unsent.push(...sealed.map(signingBytes));
        if (unsent.length >= SIGN_CHUNK) sendChunk();
      }
      batch.audit.push(...audit);
      const value = plan.respond(sealed, audit) ?? null;
      if (idem !== null) {
        const response = JSON.stringify(value);
        batch.idempotency.push({ key: idem.key, requestHash: idem.requestHash, response, createdAt: at });
        known.set(idem.key, { requestHash: idem.requestHash, response });
      }
      return value;
    };

    const outcomes = intents.map((intent): Outcome => {
      try {
        return { ok: true, value: sequence(intent) };
      } catch (error) {
        return { ok: false, error };
      }
    });
    if (hashed.length > 0 || batch.audit.length > 0 || batch.idempotency.length > 0) {
      // Signatures do not feed the chain (prevHash links hashes), so they can be made in parallel with hashing.
      sendChunk();
      const signedBatch = async (): Promise<CommitBatch> => {
        const signatures =
          signer.signBatch === undefined
            ? hashed.map((e) => signer.sign(signingBytes(e)))
            : (await Promise.all(signed)).flat();
        if (signatures.length !== hashed.length)
          throw new GatewayError('INTERNAL', 'signer returned the wrong number of signatures');
        batch.events = hashed.map((e, i) => attachSignature(e, signatures[i] as Uint8Array));
        batch.current = [...consents.values()].map(({ state, isNew }) => ({ row: currentRowOf(state), isNew }));
        return batch;
      };
      // Handed over unsigned: the store takes its turn in seq order now and the rows once signed (ConsentStore.commit).
      const pending = signedBatch();
      // A store that fails before taking the rows leaves this unawaited; the failure is the store's to report.
      pending.catch(() => undefined);
      await store.commit(pending);
      // Only committed events reach the read side: a failed COMMIT leaves projection and heads untouched.
      for (const event of batch.events) projection.apply(event);
    }
    return outcomes;
  };
}
