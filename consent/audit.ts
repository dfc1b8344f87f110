// Audit log entries: a SHA-256 hash chain over RFC 8785 canonical JSON, one entry per consent write, decision,
// policy change, token use or cross-party message, so a compliance officer can prove nothing was dropped or edited.
import { z } from 'zod';
import { GatewayError } from '../core/errors.ts';
import { compilePlainDataValidator } from '../core/plain-data-validator.ts';
import { canonicalHash, GENESIS_HASH } from './canonical.ts';
import { Actor, UtcTimestamp, type ChainPoint } from './event.ts';
import { RecordId, SHA256_HEX, Sha256Hex } from './record.ts';

export const AuditKind = z.enum([
  'consent-write',
  'decision',
  'policy-change',
  'token',
  'message',
  'anchor',
  'job',
  'key',
  'admin',
  'connector',
  'valuation',
  'exchange',
]);
export type AuditKind = z.infer<typeof AuditKind>;

export const AuditOutcome = z.enum(['ok', 'permit', 'deny', 'error', 'rejected']);
export type AuditOutcome = z.infer<typeof AuditOutcome>;

const MAX_DETAIL_CHARS = 4096;

/** True when `value` is plain JSON data: no undefined, function, symbol, BigInt, non-finite number or cycle. */
function isPlainJson(value: unknown, depth = 0): boolean {
  // Deeper than any detail the gateway writes; also what stops a cycle.
  if (depth > 32) return false;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object': {
      if (value === null) return true;
      if (Array.isArray(value)) return value.every((v) => isPlainJson(v, depth + 1));
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return false;
      return Object.values(value).every((v) => isPlainJson(v, depth + 1));
    }
    default:
      return false;
  }
}

/** JSON text length of `value`, or -1 when it is not plain JSON data. */
function jsonLength(value: unknown): number {
  // A walk and a plain JSON.stringify: a replacer function would make JSON.stringify several times slower. The
  // length is the RFC 8785 form's too (same escapes, no whitespace).
  return isPlainJson(value) ? JSON.stringify(value).length : -1;
}

const isDetailWithinBounds = (detail: unknown): boolean => {
  const n = jsonLength(detail);
  return n >= 0 && n <= MAX_DETAIL_CHARS;
};

const DetailRecord = z.record(z.string().min(1).max(64), z.unknown());

/** Small JSON about the entry (purpose, reasons, byte counts). Pseudonyms and ids only: never raw identifiers. */
export const AuditDetail = DetailRecord.refine(
  isDetailWithinBounds,
  `detail must be JSON of at most ${MAX_DETAIL_CHARS} characters`,
);

/** What a caller supplies; the log adds entryId, at, seq and the chain link. */
export const AuditInput = z
  .object({
    kind: AuditKind,
    actor: Actor,
    action: z.string().regex(/^[a-z][a-z0-9:._-]{0,63}$/, 'expected an action id such as grant or read'),
    outcome: AuditOutcome,
    /** Event hashes, consent record ids, delegation ids, job ids the entry relies on. */
    refs: z.array(z.string().min(1).max(128)).max(256),
    detail: AuditDetail,
  })
  .strict();
export type AuditInput = z.infer<typeof AuditInput>;

export const UnsealedAuditEntry = AuditInput.extend({ entryId: RecordId, at: UtcTimestamp }).strict();
export type UnsealedAuditEntry = z.infer<typeof UnsealedAuditEntry>;

export const AuditEntry = UnsealedAuditEntry.extend({
  seq: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  prevHash: Sha256Hex,
  hash: Sha256Hex,
}).strict();
export type AuditEntry = z.infer<typeof AuditEntry>;

export type AuditChainBreak = 'hash-mismatch' | 'broken-link' | 'seq-gap';
export type AuditChainResult =
  { ok: true; count: number } | { ok: false; seq: number; entryId: string; reason: AuditChainBreak };

// Every entry is checked as it is sealed, on the request path, where zod's generic walk cost about as much as the
// entry's hash. So the entry's structure also runs as a compiled validator (core/plain-data-validator.ts), with
// the detail's size bound checked beside it; zod still words every refusal. test/consent/audit-chain.test.ts holds the
// two to the same verdicts.
const isWellFormedStructure = compilePlainDataValidator(UnsealedAuditEntry.extend({ detail: DetailRecord }));

/** `unsealed` when it is a valid UnsealedAuditEntry; otherwise zod's ZodError. */
export function checkedUnsealed(unsealed: UnsealedAuditEntry): UnsealedAuditEntry {
  if (isWellFormedStructure !== null && isWellFormedStructure(unsealed) && isDetailWithinBounds(unsealed.detail))
    return unsealed;
  return UnsealedAuditEntry.parse(unsealed);
}

/** Links and hashes an entry: hash = SHA-256(RFC 8785(entry without hash)). Throws BAD_INPUT on a malformed entry. */
export function sealAuditEntry(unsealed: UnsealedAuditEntry, prevHash: string, seq: number): AuditEntry {
  if (!Number.isSafeInteger(seq) || seq < 1) throw new GatewayError('BAD_INPUT', 'seq must be a positive integer');
  if (typeof prevHash !== 'string' || !SHA256_HEX.test(prevHash))
    throw new GatewayError('BAD_INPUT', 'prevHash must be a hex SHA-256 digest');
  const body = { seq, ...checkedUnsealed(unsealed), prevHash };
  return { ...body, hash: canonicalHash(body) };
}

/** Names the FIRST entry whose seq skips, whose link does not match, or whose recomputed hash differs. */
export function verifyAuditChain(
  entries: readonly AuditEntry[],
  from: ChainPoint = { seq: 0, hash: GENESIS_HASH },
): AuditChainResult {
  let previous = from;
  for (const entry of entries) {
    const broken = (reason: AuditChainBreak): AuditChainResult => ({
      ok: false,
      seq: entry.seq,
      entryId: entry.entryId,
      reason,
    });
    if (entry.seq !== previous.seq + 1) return broken('seq-gap');
    if (entry.prevHash !== previous.hash) return broken('broken-link');
    const { hash, ...body } = entry;
    let recomputed: string;
    try {
      recomputed = canonicalHash(body);
    } catch {
      return broken('hash-mismatch');
    }
    if (recomputed !== hash) return broken('hash-mismatch');
    previous = { seq: entry.seq, hash };
  }
  return { ok: true, count: entries.length };
}
