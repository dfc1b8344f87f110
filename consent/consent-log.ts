// The consent log's command side: grant, withdraw, revoke, renew, supersede, expire, delegate, and audit entries,
// each a signed event (RFC 8032 over RFC 8785 JSON) made durable through one group committer. Idempotency keys
// follow the IETF draft "The Idempotency-Key HTTP Header Field".
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { GatewayError } from '../core/errors.ts';
import type { AuditEntry, AuditInput } from './audit.ts';
import { canonicalHash, canonicalize, sha256Hex } from './canonical.ts';
import type { AuthorizationView } from './authorization-view.ts';
import type { Clock } from '../core/clock.ts';
import type { AuditQuery, ChainVerification, ConsentStore, CoveringRecord } from './consent-store.ts';
import type {
  CurrentStatus,
  DelegationResult,
  DelegationView,
  EventRef,
  RecordResult,
  RecordView,
} from './consent-results.ts';
import { Delegation, DelegationInput, isDelegationActiveAt, type DelegationState } from './delegation.ts';
import { Actor, type HashedEvent, type LogEvent, type UnsealedEvent } from './event.ts';
import { createGroupCommitter } from './group-commit.ts';
import {
  checkSupersede,
  foldConsentEvents,
  isActiveAt,
  isExpiryDue,
  planRenewal,
  statusAt,
  type ConsentState,
} from './lifecycle.ts';
import { createProjection } from './projection.ts';
import { pseudonymize } from './pseudonym.ts';
import { ConsentGrantInput, Pseudonym, RecordId, RenewInput, buildGrantRecord } from './record.ts';
import { createSequencer, type Outcome, type Plan, type StagedView, type WriteIntent } from './sequencer.ts';
import type { Signer } from './signer.ts';
import { keyRingOf } from './key-ring.ts';

export const CommandContext = z
  .object({
    actor: Actor,
    idempotencyKey: z
      .string()
      .regex(/^[A-Za-z0-9._:-]{1,128}$/, 'expected an idempotency key of 1-128 safe characters')
      .optional(),
  })
  .strict();
export type CommandContext = z.infer<typeof CommandContext>;

/**
 * The audit summary of one policy decision; ids and pseudonyms only. The decision route builds it from a request its
 * schema validated and from decide()'s output, so it is not parsed again here (a tenth of the route's CPU once):
 * the entry it becomes is checked when sealed, as every audit entry is (sizes, formats of actor and action).
 */
export type DecisionAudit = {
  actor: string;
  action: string;
  outcome: 'permit' | 'deny';
  purpose: string;
  reasons: readonly string[];
  consentIds: readonly string[];
  delegationIds: readonly string[];
  fields?: readonly string[];
  traceId?: string;
};

// Defined by their zod schemas in consent-results.ts; re-exported so callers of the log find its results here.
export type { CurrentStatus, DelegationResult, DelegationView, EventRef, RecordResult, RecordView };
export type AuditRef = { seq: number; entryId: string; hash: string };

export type ConsentLogOptions = {
  store: ConsentStore;
  signer: Signer;
  /** Public keys this gateway signed with before `signer`'s: its older events are checked with them. */
  retiredKeys?: readonly Uint8Array[];
  clock: Clock;
  /** This gateway's party id: the controller of every record and delegation it writes. */
  controllerId: string;
  /** 32-byte HMAC key for pseudonymizing raw subject ids; without it grants must carry `subject`. */
  subjectKey?: Uint8Array;
  maxBatch?: number;
  maxDelayMs?: number;
};

export type ConsentLog = {
  grant(input: unknown, ctx: CommandContext): Promise<RecordResult>;
  /**
   * grant() for `input` that is ConsentGrantInput's parse output already, as a route's validated body is: parsing
   * the same request twice was about a twentieth of a durable write's CPU.
   */
  grantParsed(input: ConsentGrantInput, ctx: CommandContext): Promise<RecordResult>;
  /** A grant whose `supersedes` is `recordId`: the way to change purpose, data categories or notice. */
  supersede(recordId: string, input: unknown, ctx: CommandContext): Promise<RecordResult>;
  withdraw(recordId: string, ctx: CommandContext, reason?: string): Promise<RecordResult>;
  revoke(recordId: string, ctx: CommandContext, reason?: string): Promise<RecordResult>;
  renew(recordId: string, renewal: unknown, ctx: CommandContext): Promise<RecordResult>;
  /** Writes explicit expire events for records past expiresAt; returns their ids. */
  expireDue(ctx?: CommandContext): Promise<string[]>;
  delegate(input: unknown, ctx: CommandContext): Promise<DelegationResult>;
  revokeDelegation(delegationId: string, ctx: CommandContext, reason?: string): Promise<DelegationResult>;
  recordDecision(summary: DecisionAudit): Promise<AuditRef>;
  appendAudit(input: AuditInput): Promise<AuditRef>;
  getRecord(recordId: string): Promise<RecordView>;
  getDelegation(delegationId: string): Promise<DelegationView>;
  subjectHistory(subject: string): Promise<RecordView[]>;
  /** The events with these seqs, in the order given: the newest from memory, older ones from the store. */
  eventsAt(seqs: readonly number[]): Promise<LogEvent[]>;
  filterSubjects(subjects: readonly string[], purpose: string, recipient: string, at?: Date): Promise<string[]>;
  /** The subjects of `subjects` NOT covered: few when most consent holds, so little comes back from the store. */
  uncoveredSubjects(subjects: readonly string[], purpose: string, recipient: string, at?: Date): Promise<string[]>;
  /** The records in force of these subjects that consent to any of `purposes` (for `recipient`, if named). */
  coveringRecords(
    subjects: readonly string[],
    purposes: readonly string[],
    at?: Date,
    recipient?: string,
  ): Promise<CoveringRecord[]>;
  listAudit(query: AuditQuery): Promise<AuditEntry[]>;
  verify(): Promise<ChainVerification>;
  /** The in-memory projection: what the decision point reads for single requests. */
  readonly view: AuthorizationView;
  /** Finishes pending writes and refuses new ones; the database and signer stay with their owner. */
  close(): Promise<void>;
};

const refsOf = (events: readonly HashedEvent[]): EventRef[] =>
  events.map((e) => ({ seq: e.seq, eventId: e.eventId, hash: e.hash }));
const toIso = (s: string) => new Date(s).toISOString();

export function describeState(state: ConsentState, at: Date): CurrentStatus {
  return {
    status: statusAt(state, at),
    isActive: isActiveAt(state, at),
    expiresAt: state.expiresAt,
    terminalReason: state.terminalReason,
    supersededBy: state.supersededBy,
    updatedAt: state.updatedAt,
  };
}

/** Replays the log into a fresh projection, repairs consent_current if needed, and starts the committer. */
export async function openConsentLog(options: ConsentLogOptions): Promise<ConsentLog> {
  const { store, signer, clock, subjectKey } = options;
  const controllerId = Delegation.shape.controller.parse(options.controllerId);
  const projection = createProjection();
  for await (const event of store.streamEvents()) projection.apply(event);
  if (projection.lastSeq !== store.heads.events.seq)
    throw new GatewayError('INTERNAL', 'event log replay stopped short of its head');
  await store.syncCurrent(projection.currentRows(), projection.recordCount);

  const eventsAt = async (seqs: readonly number[]): Promise<LogEvent[]> => {
    const recent = seqs.map((seq) => projection.recentEvent(seq));
    const missing = seqs.filter((_, i) => recent[i] === undefined);
    const read = new Map((await store.readEventsBySeq(missing)).map((e) => [e.seq, e]));
    const events = seqs.map((seq, i) => recent[i] ?? read.get(seq));
    const lost = seqs.find((_, i) => events[i] === undefined);
    // The projection and the store come from the same commits: a seq missing from both is a damaged store.
    if (lost !== undefined)
      throw new GatewayError('INTERNAL', 'an event of the projection is missing from the store', { seq: lost });
    return events as LogEvent[];
  };

  /** Records with their events and folded states, read in one go; unknown ids are left out. */
  const readRecords = async (
    recordIds: readonly string[],
  ): Promise<{ recordId: string; state: ConsentState; events: LogEvent[] }[]> => {
    const known = recordIds.flatMap((recordId) => {
      const seqs = projection.recordSeqs(recordId);
      return seqs === undefined ? [] : [{ recordId, seqs }];
    });
    const events = await eventsAt(known.flatMap((r) => r.seqs));
    let from = 0;
    return known.map(({ recordId, seqs }) => {
      const own = events.slice(from, (from += seqs.length));
      const state = foldConsentEvents(own);
      if (state === undefined) throw new GatewayError('INTERNAL', 'a consent record has no events', { recordId });
      return { recordId, state, events: own };
    });
  };

  const committer = createGroupCommitter<WriteIntent, Outcome>({
    flush: createSequencer({
      store,
      projection,
      signer,
      clock,
      loadStates: async (ids) => new Map((await readRecords(ids)).map((r) => [r.recordId, r.state])),
    }),
    maxBatch: options.maxBatch ?? 2048,
    ...(options.maxDelayMs === undefined ? {} : { maxDelayMs: options.maxDelayMs }),
  });

  const submit = async <T>(
    ctx: CommandContext,
    request: unknown,
    touches: readonly string[],
    plan: WriteIntent['plan'],
  ): Promise<T> => {
    const idempotency =
      ctx.idempotencyKey === undefined
        ? null
        : {
            // Scoped per actor so two clients cannot collide on (or probe) each other's keys.
            key: sha256Hex(canonicalize(['sealgate/idempotency/v1', ctx.actor, ctx.idempotencyKey])),
            requestHash: canonicalHash(request),
          };
    const outcome = await committer.submit({ idempotency, touches, plan });
    if (!outcome.ok) throw outcome.error;
    return outcome.value as T;
  };

  const existing = (view: StagedView, recordId: string): ConsentState => {
    const state = view.consent(recordId);
    if (state === undefined) throw new GatewayError('NOT_FOUND', 'no such consent record', { recordId });
    return state;
  };

  const consentEvent = ({
    state,
    type,
    actor,
    at,
    payload,
  }: {
    state: ConsentState;
    type: UnsealedEvent['type'];
    actor: string;
    at: string;
    payload: unknown;
  }): UnsealedEvent => ({
    eventId: randomUUID(),
    kind: 'consent',
    type,
    subjectOrPartner: state.record.subject,
    recordId: state.record.recordId,
    at,
    actor,
    payload,
  });

  const recordPlan = ({
    view,
    recordId,
    actor,
    at,
    events,
    action,
  }: {
    view: StagedView;
    recordId: string;
    actor: string;
    at: string;
    events: UnsealedEvent[];
    action: string;
  }): Plan => ({
    events,
    audit: (sealed) => [
      {
        kind: 'consent-write',
        actor,
        action,
        outcome: 'ok',
        refs: [...new Set([...sealed.map((e) => e.hash), ...sealed.map((e) => e.recordId)])],
        detail: { types: sealed.map((e) => e.type), seqs: sealed.map((e) => e.seq) },
      },
    ],
    respond: (sealed): RecordResult => {
      const state = existing(view, recordId);
      return { record: state.record, current: describeState(state, new Date(at)), events: refsOf(sealed) };
    },
  });

  const change = async (
    type: 'withdraw' | 'revoke',
    recordId: string,
    rawCtx: CommandContext,
    reason?: string,
  ): Promise<RecordResult> => {
    const ctx = CommandContext.parse(rawCtx);
    const id = RecordId.parse(recordId);
    const payload = reason === undefined ? {} : { reason };
    return submit<RecordResult>(ctx, { op: type, recordId: id, payload }, [id], (view, at) => {
      const event = consentEvent({ state: existing(view, id), type, actor: ctx.actor, at, payload });
      return recordPlan({ view, recordId: id, actor: ctx.actor, at, events: [event], action: type });
    });
  };

  const grant = async (rawInput: unknown, rawCtx: CommandContext): Promise<RecordResult> =>
    grantParsed(ConsentGrantInput.parse(rawInput), rawCtx);

  const grantParsed = async (input: ConsentGrantInput, rawCtx: CommandContext): Promise<RecordResult> => {
    const ctx = CommandContext.parse(rawCtx);
    // Stored unsigned: the signed, hash-chained grant event is the record's proof of origin, and one Ed25519
    // signature per grant instead of two is a large share of the write path's CPU. Receipts handed to subjects
    // get detached signatures from record-signature.ts.
    const now = clock.now();
    const record = buildGrantRecord(input, (i) => {
      if (i.subjectId !== undefined && subjectKey === undefined)
        throw new GatewayError('BAD_INPUT', 'this gateway accepts pseudonyms only');
      if (i.expiresAt !== null && Date.parse(i.expiresAt) <= now.getTime())
        throw new GatewayError('BAD_INPUT', 'expiresAt is already past', { path: ['expiresAt'] });
      return {
        recordId: randomUUID(),
        subject: i.subject ?? pseudonymize(subjectKey as Uint8Array, i.subjectId as string),
        controller: controllerId,
        notBefore: toIso(i.notBefore ?? now.toISOString()),
        expiresAt: i.expiresAt === null ? null : toIso(i.expiresAt),
        supersedes: i.supersedes ?? null,
      };
    });
    const { subjectId: _raw, subject: _given, ...terms } = input;
    const subject = record.subject;
    // The raw subject id never reaches storage, not even inside the idempotency request hash.
    const request = { op: 'grant', subject, ...terms };
    return submit<RecordResult>(ctx, request, record.supersedes === null ? [] : [record.supersedes], (view, at) => {
      const events: UnsealedEvent[] = [
        {
          eventId: randomUUID(),
          kind: 'consent',
          type: 'grant',
          subjectOrPartner: subject,
          recordId: record.recordId,
          at,
          actor: ctx.actor,
          payload: record,
        },
      ];
      if (record.supersedes !== null) {
        const old = existing(view, record.supersedes);
        checkSupersede(old, record);
        const payload = { supersededBy: record.recordId };
        events.push(consentEvent({ state: old, type: 'supersede', actor: ctx.actor, at, payload }));
      }
      const action = record.supersedes === null ? 'grant' : 'supersede';
      return recordPlan({ view, recordId: record.recordId, actor: ctx.actor, at, events, action });
    });
  };

  const delegationResult = (view: StagedView, id: string, sealed: readonly HashedEvent[]): DelegationResult => {
    const state = view.delegation(id) as DelegationState;
    return { delegation: state.delegation, isRevoked: state.isRevoked, events: refsOf(sealed) };
  };

  const delegationPlan = (view: StagedView, event: UnsealedEvent, actor: string): Plan => ({
    events: [event],
    audit: (sealed) => [
      {
        kind: 'consent-write',
        actor,
        action: event.type,
        outcome: 'ok',
        refs: [...sealed.map((e) => e.hash), event.recordId],
        detail: { partner: event.subjectOrPartner },
      },
    ],
    respond: (sealed) => delegationResult(view, event.recordId, sealed),
  });

  // Not parsed here: sealAuditEntry validates every entry as it is sequenced, and a malformed one fails its own write.
  const audit = async (input: AuditInput): Promise<AuditRef> =>
    submit<AuditRef>({ actor: input.actor }, null, [], () => ({
      events: [],
      audit: () => [input],
      respond: (_sealed, entries) => ({ seq: entries[0]?.seq, entryId: entries[0]?.entryId, hash: entries[0]?.hash }),
    }));

  return {
    grant,
    grantParsed,
    supersede: async (recordId, input, ctx) =>
      grant({ ...(input as object), supersedes: RecordId.parse(recordId) }, ctx),
    withdraw: (recordId, ctx, reason) => change('withdraw', recordId, ctx, reason),
    revoke: (recordId, ctx, reason) => change('revoke', recordId, ctx, reason),
    async renew(recordId, renewal, rawCtx) {
      const ctx = CommandContext.parse(rawCtx);
      const id = RecordId.parse(recordId);
      const input = RenewInput.parse(renewal);
      return submit<RecordResult>(ctx, { op: 'renew', recordId: id, input }, [id], (view, at) => {
        const state = existing(view, id);
        const event = consentEvent({ state, type: 'renew', actor: ctx.actor, at, payload: planRenewal(state, input) });
        return recordPlan({ view, recordId: id, actor: ctx.actor, at, events: [event], action: 'renew' });
      });
    },
    async expireDue(rawCtx = { actor: 'system:expiry' }) {
      const ctx = CommandContext.parse(rawCtx);
      const now = clock.now();
      const due = projection.expiryDue(now);
      const results = await Promise.allSettled(
        due.map((id) =>
          submit<RecordResult>({ actor: ctx.actor }, null, [id], (view, at) => {
            const state = existing(view, id);
            // A renewal may have landed since the sweep looked: re-check at write time.
            if (!isExpiryDue(state, new Date(at)))
              throw new GatewayError('CONFLICT', 'record is no longer due to expire', { recordId: id });
            const payload = { expiresAt: state.expiresAt };
            const event = consentEvent({ state, type: 'expire', actor: ctx.actor, at, payload });
            return recordPlan({ view, recordId: id, actor: ctx.actor, at, events: [event], action: 'expire' });
          }),
        ),
      );
      // Losing a race to a renewal is expected (CONFLICT); anything else, such as a failed COMMIT, is not.
      const failure = results.find(
        (r) => r.status === 'rejected' && !(r.reason instanceof GatewayError && r.reason.code === 'CONFLICT'),
      );
      if (failure?.status === 'rejected') throw failure.reason;
      return due.filter((_id, i) => results[i]?.status === 'fulfilled');
    },
    async delegate(input, rawCtx) {
      const ctx = CommandContext.parse(rawCtx);
      const parsed = DelegationInput.parse(input);
      const delegation = Delegation.parse({
        delegationId: randomUUID(),
        controller: controllerId,
        ...parsed,
        notBefore: toIso(parsed.notBefore ?? clock.now().toISOString()),
        expiresAt: toIso(parsed.expiresAt),
      });
      return submit<DelegationResult>(ctx, { op: 'delegate', input: parsed }, [], (view, at) =>
        delegationPlan(
          view,
          {
            eventId: randomUUID(),
            kind: 'delegation',
            type: 'delegate',
            subjectOrPartner: delegation.partner,
            recordId: delegation.delegationId,
            at,
            actor: ctx.actor,
            payload: delegation,
          },
          ctx.actor,
        ),
      );
    },
    async revokeDelegation(delegationId, rawCtx, reason) {
      const ctx = CommandContext.parse(rawCtx);
      const id = RecordId.parse(delegationId);
      const payload = reason === undefined ? {} : { reason };
      return submit<DelegationResult>(ctx, { op: 'revoke-delegation', delegationId: id, payload }, [], (view, at) => {
        const state = view.delegation(id);
        if (state === undefined) throw new GatewayError('NOT_FOUND', 'no such delegation', { delegationId: id });
        return delegationPlan(
          view,
          {
            eventId: randomUUID(),
            kind: 'delegation',
            type: 'revoke-delegation',
            subjectOrPartner: state.delegation.partner,
            recordId: id,
            at,
            actor: ctx.actor,
            payload,
          },
          ctx.actor,
        );
      });
    },
    async recordDecision(s) {
      return audit({
        kind: 'decision',
        actor: s.actor,
        action: s.action,
        outcome: s.outcome,
        refs: [...s.consentIds, ...s.delegationIds],
        detail: {
          purpose: s.purpose,
          reasons: s.reasons,
          ...(s.fields === undefined ? {} : { fields: s.fields }),
          ...(s.traceId === undefined ? {} : { traceId: s.traceId }),
        },
      });
    },
    appendAudit: audit,
    async getRecord(recordId) {
      const [found] = await readRecords([RecordId.parse(recordId)]);
      if (found === undefined) throw new GatewayError('NOT_FOUND', 'no such consent record', { recordId });
      return { record: found.state.record, current: describeState(found.state, clock.now()), events: found.events };
    },
    async getDelegation(delegationId) {
      const history = projection.getDelegation(RecordId.parse(delegationId));
      if (history === undefined) throw new GatewayError('NOT_FOUND', 'no such delegation', { delegationId });
      const { state } = history;
      const events = await eventsAt(history.seqs);
      return {
        delegation: state.delegation,
        isRevoked: state.isRevoked,
        isActive: isDelegationActiveAt(state, clock.now()),
        events,
      };
    },
    async subjectHistory(subject) {
      const now = clock.now();
      // Grant order is seq order; one read for all the subject's records.
      const found = await readRecords(projection.recordsOfSubject(Pseudonym.parse(subject)).map((r) => r.recordId));
      return found.map((r) => ({ record: r.state.record, current: describeState(r.state, now), events: r.events }));
    },
    eventsAt,
    filterSubjects: (subjects, purpose, recipient, at) =>
      store.filterSubjects(subjects, purpose, recipient, at ?? clock.now()),
    uncoveredSubjects: (subjects, purpose, recipient, at) =>
      store.uncoveredSubjects(subjects, purpose, recipient, at ?? clock.now()),
    coveringRecords: (subjects, purposes, at, recipient) =>
      store.coveringRecords(subjects, purposes, at ?? clock.now(), recipient),
    listAudit: (query) => store.listAudit(query),
    verify: () => store.verifyChains(keyRingOf(signer.publicKey, options.retiredKeys ?? [])),
    view: projection,
    close: () => committer.close(),
  };
}
