// Controller -> partner delegations (GDPR Art. 26/28 arrangements, PIPL Art. 20/21): which partner may use this
// controller's consented data, for which purposes and fields, until when. Stored as events in the consent log.
import { z } from 'zod';
import { GatewayError } from '../core/errors.ts';
import type { UnsealedEvent } from './event.ts';
import { FieldName, Instant, PartyId, RecordId, TermId } from './record.ts';

const delegationTerms = {
  partner: PartyId,
  purposes: z.array(TermId).min(1).max(64),
  fieldAllowlist: z.array(FieldName).max(256),
};

type Window = { notBefore?: string | undefined; expiresAt: string; purposes: string[] };
function checkWindow(d: Window, ctx: z.RefinementCtx): void {
  if (d.notBefore !== undefined && Date.parse(d.expiresAt) <= Date.parse(d.notBefore)) {
    ctx.addIssue({ code: 'custom', path: ['expiresAt'], message: 'expiresAt must be after notBefore' });
  }
  if (new Set(d.purposes).size !== d.purposes.length)
    ctx.addIssue({ code: 'custom', path: ['purposes'], message: 'purpose listed twice' });
}

export const Delegation = z
  .object({
    delegationId: RecordId,
    controller: PartyId,
    ...delegationTerms,
    notBefore: Instant,
    /** Required: an open-ended delegation would outlive the contract it stands for. */
    expiresAt: Instant,
  })
  .strict()
  .superRefine((d, ctx) => {
    checkWindow(d, ctx);
    if (d.partner === d.controller)
      ctx.addIssue({ code: 'custom', path: ['partner'], message: 'a controller cannot delegate to itself' });
  });
export type Delegation = z.infer<typeof Delegation>;

/** What a data steward sends; the gateway fills in delegationId and controller, notBefore defaults to now. */
export const DelegationInput = z
  .object({
    ...delegationTerms,
    notBefore: Instant.optional(),
    expiresAt: Instant,
  })
  .strict()
  .superRefine(checkWindow);
export type DelegationInput = z.infer<typeof DelegationInput>;

export const RevokeDelegationPayload = z.object({ reason: z.string().min(1).max(512).optional() }).strict();

export type DelegationState = {
  delegation: Delegation;
  isRevoked: boolean;
  updatedAt: string;
  notBeforeMs: number;
  expiresAtMs: number;
};

type EventBody = Pick<UnsealedEvent, 'type' | 'recordId' | 'subjectOrPartner' | 'at' | 'payload'>;

/** Applies one delegation event; CONFLICT for a second delegate or revoke, NOT_FOUND for an unknown delegation. */
export function applyDelegationEvent(state: DelegationState | undefined, event: EventBody): DelegationState {
  if (event.type === 'delegate') {
    if (state !== undefined)
      throw new GatewayError('CONFLICT', 'delegation already exists', { delegationId: event.recordId });
    const delegation = Delegation.parse(event.payload);
    if (delegation.delegationId !== event.recordId || delegation.partner !== event.subjectOrPartner) {
      throw new GatewayError('BAD_INPUT', 'delegate event does not match its delegation', {
        delegationId: event.recordId,
      });
    }
    return {
      delegation,
      isRevoked: false,
      updatedAt: event.at,
      notBeforeMs: Date.parse(delegation.notBefore),
      expiresAtMs: Date.parse(delegation.expiresAt),
    };
  }
  if (event.type !== 'revoke-delegation')
    throw new GatewayError('BAD_INPUT', `event type ${event.type} is not a delegation event`);
  if (state === undefined) throw new GatewayError('NOT_FOUND', 'no such delegation', { delegationId: event.recordId });
  if (state.isRevoked)
    throw new GatewayError('CONFLICT', 'delegation is already revoked', { delegationId: event.recordId });
  RevokeDelegationPayload.parse(event.payload);
  return { ...state, isRevoked: true, updatedAt: event.at };
}

/** In force at `at`: not revoked, notBefore reached, expiresAt not reached. */
export function isDelegationActiveAt(state: DelegationState, at: Date): boolean {
  const t = at.getTime();
  return !state.isRevoked && !Number.isNaN(t) && state.notBeforeMs <= t && t < state.expiresAtMs;
}
