// A subject's whole authorization chain for compliance review: every grant and its lifecycle events,
// the delegations and recorded uses that relied on them, each link with its receipt, anchor status
// and a verification result computed from the receipt and the chain (not from the database alone).
import type { AuditEntry } from './audit.ts';
import type { LogEvent } from './event.ts';
import type { Receipt } from './receipt.ts';
import type { Verification } from './receipt-verifier.ts';

export type ChainLinkKind = 'consent-event' | 'delegation-event' | 'use';

export type ChainLink = {
  kind: ChainLinkKind;
  /** grant, withdraw, ... for events; the decision action for uses. */
  type: string;
  recordId: string;
  seq: number;
  chain: 'events' | 'audit';
  at: string;
  hash: string;
  anchor: 'anchored' | 'pending';
  isVerified: boolean;
  /** The first failing check when not verified (pending links fail 'not-anchored'). */
  failedCheck: string | null;
  detail: string | null;
  receipt: Receipt;
};

export type AuthorizationChain = {
  subject: string;
  links: ChainLink[];
  summary: { links: number; anchored: number; pending: number; broken: number };
};

export type ChainSources = {
  /** Events of every consent record of the subject, in log order. */
  consentEvents: readonly LogEvent[];
  /** Events of the delegations that any use of those records relied on. */
  delegationEvents: readonly LogEvent[];
  /** Audit entries (decisions) that cite one of the subject's records. */
  uses: readonly AuditEntry[];
  issue(ref: { chain: 'events' | 'audit'; seq: number }): Promise<Receipt>;
  verify(receipt: Receipt): Promise<Verification>;
};

/** What a link records of its event or use; the rest comes from its receipt and verification. */
type LinkFields = Pick<ChainLink, 'kind' | 'type' | 'recordId' | 'chain' | 'seq' | 'at' | 'hash'>;

/** Builds the chain link by link; a link that cannot be issued or verified is reported, never skipped. */
export async function buildAuthorizationChain(subject: string, sources: ChainSources): Promise<AuthorizationChain> {
  const links: ChainLink[] = [];
  // Awaits a receipt and its verification per link: per request, not an inner loop, so it takes one named object.
  const add = async ({ kind, type, recordId, chain, seq, at, hash }: LinkFields) => {
    const receipt = await sources.issue({ chain, seq });
    const verification = await sources.verify(receipt);
    links.push({
      kind,
      type,
      recordId,
      seq,
      chain,
      at,
      hash,
      anchor: receipt.status,
      isVerified: verification.ok,
      failedCheck: verification.failure?.name ?? null,
      detail: verification.failure?.detail ?? null,
      receipt,
    });
  };
  for (const { type, recordId, seq, at, hash } of sources.consentEvents) {
    await add({ kind: 'consent-event', type, recordId, chain: 'events', seq, at, hash });
  }
  for (const { type, recordId, seq, at, hash } of sources.delegationEvents) {
    await add({ kind: 'delegation-event', type, recordId, chain: 'events', seq, at, hash });
  }
  for (const u of sources.uses) {
    const type = `${u.action}:${u.outcome}`;
    await add({ kind: 'use', type, recordId: u.refs[0] ?? '', chain: 'audit', seq: u.seq, at: u.at, hash: u.hash });
  }
  links.sort((a, b) => a.at.localeCompare(b.at) || a.seq - b.seq);
  const anchored = links.filter((l) => l.anchor === 'anchored').length;
  return {
    subject,
    links,
    summary: {
      links: links.length,
      anchored,
      pending: links.length - anchored,
      broken: links.filter((l) => !l.isVerified && l.failedCheck !== 'not-anchored').length,
    },
  };
}
