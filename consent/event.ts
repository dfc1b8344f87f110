// The envelope of the one append-only, hash-chained and Ed25519-signed log (RFC 8785 canonical JSON, SHA-256,
// RFC 8032) holding every consent and delegation event of this gateway.
import { z } from 'zod';
import { GatewayError } from '../core/errors.ts';
import { canonicalHash, GENESIS_HASH } from './canonical.ts';
import { RecordId, Sha256Hex } from './record.ts';
import { keyIdOf, verifySignature, type Signer } from './signer.ts';

/** `Date#toISOString()` output: the one spelling the database round-trips byte for byte, so hashes survive reload. */
export const UtcTimestamp = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/, 'expected a UTC timestamp from toISOString()');

/** Who caused a write: a token id or principal, never a raw personal identifier. */
export const Actor = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,255}$/, 'expected an actor id');

export const EventKind = z.enum(['consent', 'delegation']);
export type EventKind = z.infer<typeof EventKind>;

export const CONSENT_EVENT_TYPES = ['grant', 'withdraw', 'revoke', 'expire', 'renew', 'supersede'] as const;
export const DELEGATION_EVENT_TYPES = ['delegate', 'revoke-delegation'] as const;
export const EventType = z.enum([...CONSENT_EVENT_TYPES, ...DELEGATION_EVENT_TYPES]);
export type EventType = z.infer<typeof EventType>;

const KIND_OF_TYPE: Readonly<Record<EventType, EventKind>> = {
  'grant': 'consent',
  'withdraw': 'consent',
  'revoke': 'consent',
  'expire': 'consent',
  'renew': 'consent',
  'supersede': 'consent',
  'delegate': 'delegation',
  'revoke-delegation': 'delegation',
};

const bodyShape = {
  eventId: RecordId,
  kind: EventKind,
  type: EventType,
  /** The subject pseudonym for consent events, the partner party id for delegation events. */
  subjectOrPartner: z.string().min(1).max(128),
  /** The consent recordId, or the delegationId for delegation events. */
  recordId: RecordId,
  at: UtcTimestamp,
  actor: Actor,
  /** The record (grant), delegation (delegate) or the change; validated per type by the lifecycle rules. */
  payload: z.unknown(),
};

const kindMatchesType = (e: { kind: EventKind; type: EventType }) => KIND_OF_TYPE[e.type] === e.kind;

export const UnsealedEvent = z
  .object(bodyShape)
  .strict()
  .refine(kindMatchesType, { message: 'type does not belong to kind', path: ['type'] });
export type UnsealedEvent = z.infer<typeof UnsealedEvent>;

export const LogEvent = z
  .object({
    seq: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    ...bodyShape,
    prevHash: Sha256Hex,
    hash: Sha256Hex,
    /** Hex Ed25519 signature over the 32 raw bytes of `hash`. */
    signature: z.string().regex(/^[0-9a-f]{128}$/),
    keyId: z.string().regex(/^[0-9a-f]{16}$/),
  })
  .strict()
  .refine(kindMatchesType, { message: 'type does not belong to kind', path: ['type'] });
export type LogEvent = z.infer<typeof LogEvent>;

export type EventChainBreak = 'hash-mismatch' | 'bad-signature' | 'broken-link' | 'seq-gap';
export type EventChainResult =
  { ok: true; count: number } | { ok: false; seq: number; eventId: string; reason: EventChainBreak };
/** Where a chain segment starts: the seq and hash of the event before it (0 and GENESIS_HASH for a whole log). */
export type ChainPoint = { seq: number; hash: string };

/** The hashed content: every field except hash and signature, so seq, link and keyId are all covered. */
function hashOf(event: Omit<LogEvent, 'hash' | 'signature'>): string {
  return canonicalHash(event);
}

/** An event with seq, link and hash assigned but not yet signed (signing may happen in a batch elsewhere). */
export type HashedEvent = Omit<LogEvent, 'signature'>;

/** Assigns seq, link and keyId and hashes (SHA-256 over RFC 8785 JSON). Throws BAD_INPUT on a malformed event. */
export function hashEvent(unsealed: UnsealedEvent, prevHash: string, seq: number, keyId: string): HashedEvent {
  if (!Number.isSafeInteger(seq) || seq < 1) throw new GatewayError('BAD_INPUT', 'seq must be a positive integer');
  if (!Sha256Hex.safeParse(prevHash).success)
    throw new GatewayError('BAD_INPUT', 'prevHash must be a hex SHA-256 digest');
  if (!/^[0-9a-f]{16}$/.test(keyId)) throw new GatewayError('BAD_INPUT', 'keyId must be 16 hex characters');
  const body = { seq, ...UnsealedEvent.parse(unsealed), prevHash, keyId };
  return { ...body, hash: hashOf(body) };
}

/** What gets signed: the 32 raw bytes of the event hash. */
export const signingBytes = (event: HashedEvent): Buffer => Buffer.from(event.hash, 'hex');

/** Attaches a signature made over `signingBytes(event)`. */
export function attachSignature(event: HashedEvent, signature: Uint8Array): LogEvent {
  return { ...event, signature: Buffer.from(signature).toString('hex') };
}

/** Assigns seq and link, hashes and signs in one step. */
export function sealEvent(unsealed: UnsealedEvent, prevHash: string, seq: number, signer: Signer): LogEvent {
  const hashed = hashEvent(unsealed, prevHash, seq, signer.keyId);
  return attachSignature(hashed, signer.sign(signingBytes(hashed)));
}

/** The key to check an event with: one public key, or a lookup by key id across the gateway's keys. */
export type EventKeys = Uint8Array | { publicKeyOf(keyId: string): Uint8Array | null };

const keyFor = (keys: EventKeys, keyId: string): Uint8Array | null =>
  keys instanceof Uint8Array ? keys : keys.publicKeyOf(keyId);

/** Checks one event's own hash and signature (not its link). Returns the reason it fails, or null. */
export function verifyEvent(event: LogEvent, keys: EventKeys): 'hash-mismatch' | 'bad-signature' | null {
  const publicKey = keyFor(keys, event.keyId);
  const { hash, signature } = event;
  if (hashMismatch(event) !== null) return 'hash-mismatch';
  if (publicKey === null) return 'bad-signature';
  if (event.keyId !== keyIdOf(publicKey) || !/^[0-9a-f]{128}$/.test(signature)) return 'bad-signature';
  return verifySignature(publicKey, Buffer.from(hash, 'hex'), Buffer.from(signature, 'hex')) ? null : 'bad-signature';
}

/**
 * Walks a chain (or a segment starting after `from`) and names the FIRST broken link: a missing seq, a prevHash
 * that does not match the previous hash, a recomputed hash that differs, or a signature that does not verify.
 */
export function verifyEventChain(
  events: readonly LogEvent[],
  keys: EventKeys,
  from: ChainPoint = { seq: 0, hash: GENESIS_HASH },
): EventChainResult {
  return walkEventChain(events, from, (event) => verifyEvent(event, keys));
}

/**
 * The same walk without signatures: seq, link and recomputed hash. For a reader of this gateway's own fsync'd
 * journal, which has no key at hand and looks for where an interrupted append starts; the signatures are checked
 * by verifyEventChain once the events are in the table.
 */
export function verifyEventLinks(events: readonly LogEvent[], from: ChainPoint): EventChainResult {
  return walkEventChain(events, from, hashMismatch);
}

function hashMismatch(event: LogEvent): 'hash-mismatch' | null {
  const { hash, signature: _signature, ...body } = event;
  try {
    return hashOf(body) === hash ? null : 'hash-mismatch';
  } catch {
    // Content that cannot be canonicalized (e.g. a number JSON cannot hold) cannot have produced the hash.
    return 'hash-mismatch';
  }
}

function walkEventChain(
  events: readonly LogEvent[],
  from: ChainPoint,
  check: (event: LogEvent) => EventChainBreak | null,
): EventChainResult {
  let previous = from;
  for (const event of events) {
    const broken = (reason: EventChainBreak): EventChainResult => ({
      ok: false,
      seq: event.seq,
      eventId: event.eventId,
      reason,
    });
    if (event.seq !== previous.seq + 1) return broken('seq-gap');
    if (event.prevHash !== previous.hash) return broken('broken-link');
    const reason = check(event);
    if (reason !== null) return broken(reason);
    previous = { seq: event.seq, hash: event.hash };
  }
  return { ok: true, count: events.length };
}
