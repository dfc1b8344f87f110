// The messages of secure aggregation (Bonawitz et al., CCS 2017, Fig. 4, rounds 0-4) and their codec to and from the
// `{ kind, meta, blobs }` shape of framed messages (mpc/jobs/framed-messages.ts): small JSON in `meta` (session,
// phase, party ids), every byte string in `blobs`. Decoding validates with zod and exact byte lengths, bounds every
// count by the round's party list, and refuses a message of another session or phase with SECAGG_WRONG_ROUND before
// anyone acts on it. Encoding is canonical (lists in sorted order), so a message sent twice encodes alike and a
// retry can be told from an equivocation by its bytes.
//
// Client → coordinator: advertise (keys, commitment, signature) · shares (sealed bundles, one per holder) ·
// masked-input (y) · consistency (signature over the survivor set) · unmask (one share per party asked).
// Coordinator → client: roster (signed advertisements) · inbox (bundles for this party, and U2) · survivors (U3) ·
// unmask-request (U4 with signatures, and what to reveal). A coordinator's message carries the phase it opens.
import { z } from 'zod';
import { GatewayError } from '../../core/errors.ts';
import { PartyId } from '../../core/party-id.ts';
import { sealedBytes } from './key-agreement.ts';
import { vectorFromBytes, vectorToBytes, type RingVector } from './ring.ts';
import type { SecAggConfig, SecAggPhase } from './secagg-config.ts';
import { SHARE_BYTES } from './seed-shares.ts';

/** A sealed share bundle: the s_sk share and the b share, 33 bytes each, under AES-256-GCM. */
export const BUNDLE_BYTES = sealedBytes(2 * SHARE_BYTES);
const KEY = 32;
const SIGNATURE = 64;

export type Advertisement = {
  party: string;
  /** X25519 public key for sealing shares (c_pk). */
  cPk: Uint8Array;
  /** X25519 public key for pairwise masks (s_pk). */
  sPk: Uint8Array;
  /** SHA-256 commitment to the self-mask seed b (seed-shares.ts). */
  commitB: Uint8Array;
  /** The party's Ed25519 attestation over `advertisementStatement`. */
  signature: Uint8Array;
};
type Header<K extends string, P extends SecAggPhase> = { kind: K; session: string; phase: P };

export type AdvertiseMessage = Header<'advertise', 'advertise'> & Omit<Advertisement, 'party'>;
export type SharesMessage = Header<'shares', 'share'> & { shares: { to: string; ciphertext: Uint8Array }[] };
export type MaskedInputMessage = Header<'masked-input', 'masked-input'> & { vector: RingVector };
export type ConsistencyMessage = Header<'consistency', 'consistency'> & { signature: Uint8Array };
export type SecretKind = 'b' | 's';
export type UnmaskMessage = Header<'unmask', 'unmask'> & {
  shares: { party: string; secret: SecretKind; share: Uint8Array }[];
};
export type ClientMessage = AdvertiseMessage | SharesMessage | MaskedInputMessage | ConsistencyMessage | UnmaskMessage;

export type RosterMessage = Header<'roster', 'share'> & { advertisements: Advertisement[] };
/** `shared` is U2: the parties whose shares went out. */
export type InboxMessage = Header<'inbox', 'masked-input'> & {
  shared: string[];
  shares: { from: string; ciphertext: Uint8Array }[];
};
/** `survivors` is U3: the parties whose masked inputs are in the sum. */
export type SurvivorsMessage = Header<'survivors', 'consistency'> & { survivors: string[] };
/** `signatures` is U4 with each one's signature over U3; `asks` says which share of which party to reveal. */
export type UnmaskRequestMessage = Header<'unmask-request', 'unmask'> & {
  signatures: { party: string; signature: Uint8Array }[];
  asks: { party: string; secret: SecretKind }[];
};
export type ServerMessage = RosterMessage | InboxMessage | SurvivorsMessage | UnmaskRequestMessage;
export type SecAggMessage = ClientMessage | ServerMessage;

export const CLIENT_KIND_OF_PHASE = {
  'advertise': 'advertise',
  'share': 'shares',
  'masked-input': 'masked-input',
  'consistency': 'consistency',
  'unmask': 'unmask',
} as const satisfies Record<SecAggPhase, ClientMessage['kind']>;

const PHASE_OF_KIND = {
  'advertise': 'advertise',
  'shares': 'share',
  'masked-input': 'masked-input',
  'consistency': 'consistency',
  'unmask': 'unmask',
  'roster': 'share',
  'inbox': 'masked-input',
  'survivors': 'consistency',
  'unmask-request': 'unmask',
} as const satisfies Record<SecAggMessage['kind'], SecAggPhase>;

// What each signature covers. The attestation adds its own prefix and context (mpc/peers/attestation.ts).
export const ADVERTISE_CONTEXT = 'secagg-advertise';
export const SURVIVORS_CONTEXT = 'secagg-survivors';

/** The bytes a party signs to advertise its keys and commitment in `session`. */
export const advertisementStatement = (session: string, ad: Omit<Advertisement, 'signature'>): Uint8Array =>
  Buffer.concat([Buffer.from(`${session}\u0000${ad.party}\u0000`), ad.cPk, ad.sPk, ad.commitB]);

/** The bytes a party signs to say which parties' inputs the sum of `session` contains (U3, any order). */
export const survivorsStatement = (session: string, survivors: readonly string[]): Uint8Array =>
  Buffer.from(JSON.stringify({ session, survivors: [...survivors].sort() }));

export type EncodedMessage = { kind: SecAggMessage['kind']; meta: Record<string, unknown>; blobs: Uint8Array[] };

const byParty =
  <T>(key: (item: T) => string) =>
  (a: T, b: T) =>
    key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;
const sorted = (ids: readonly string[]) => [...ids].sort();

/** The message as `{ kind, meta, blobs }`, lists in party order. */
export function encodeMessage(message: SecAggMessage): EncodedMessage {
  const head = { session: message.session, phase: message.phase };
  switch (message.kind) {
    case 'advertise':
      return { kind: message.kind, meta: head, blobs: [message.cPk, message.sPk, message.commitB, message.signature] };
    case 'shares': {
      const shares = [...message.shares].sort(byParty((s) => s.to));
      return {
        kind: message.kind,
        meta: { ...head, to: shares.map((s) => s.to) },
        blobs: shares.map((s) => s.ciphertext),
      };
    }
    case 'masked-input':
      return { kind: message.kind, meta: head, blobs: [vectorToBytes(message.vector)] };
    case 'consistency':
      return { kind: message.kind, meta: head, blobs: [message.signature] };
    case 'unmask': {
      const pick = (secret: SecretKind) =>
        message.shares.filter((s) => s.secret === secret).sort(byParty((s) => s.party));
      const [b, s] = [pick('b'), pick('s')];
      return {
        kind: message.kind,
        meta: { ...head, b: b.map((x) => x.party), s: s.map((x) => x.party) },
        blobs: [...b, ...s].map((x) => x.share),
      };
    }
    case 'roster': {
      const ads = [...message.advertisements].sort(byParty((a) => a.party));
      return {
        kind: message.kind,
        meta: { ...head, parties: ads.map((a) => a.party) },
        blobs: ads.flatMap((a) => [a.cPk, a.sPk, a.commitB, a.signature]),
      };
    }
    case 'inbox': {
      const shares = [...message.shares].sort(byParty((s) => s.from));
      return {
        kind: message.kind,
        meta: { ...head, shared: sorted(message.shared), from: shares.map((s) => s.from) },
        blobs: shares.map((s) => s.ciphertext),
      };
    }
    case 'survivors':
      return { kind: message.kind, meta: { ...head, survivors: sorted(message.survivors) }, blobs: [] };
    case 'unmask-request': {
      const signatures = [...message.signatures].sort(byParty((s) => s.party));
      const asked = (secret: SecretKind) => sorted(message.asks.filter((a) => a.secret === secret).map((a) => a.party));
      return {
        kind: message.kind,
        meta: { ...head, signers: signatures.map((s) => s.party), b: asked('b'), s: asked('s') },
        blobs: signatures.map((s) => s.signature),
      };
    }
  }
}

/** Whether two messages encode to the same kind, meta and bytes: a retry rather than an equivocation. */
export function isSameMessage(a: SecAggMessage, b: SecAggMessage): boolean {
  const [x, y] = [encodeMessage(a), encodeMessage(b)];
  return (
    x.kind === y.kind &&
    JSON.stringify(x.meta) === JSON.stringify(y.meta) &&
    x.blobs.length === y.blobs.length &&
    x.blobs.every((blob, i) => Buffer.from(blob).equals(y.blobs[i] as Uint8Array))
  );
}

const bad = (reason: string, detail: Record<string, unknown> = {}) =>
  new GatewayError('JOB_BAD_MESSAGE', `secure-aggregation message refused: ${reason}`, { reason, ...detail });

const Ids = z.array(PartyId).max(255);
const Head = { session: z.string().max(200), phase: z.string().max(32) };
const META = {
  'advertise': z.strictObject(Head),
  'shares': z.strictObject({ ...Head, to: Ids }),
  'masked-input': z.strictObject(Head),
  'consistency': z.strictObject(Head),
  'unmask': z.strictObject({ ...Head, b: Ids, s: Ids }),
  'roster': z.strictObject({ ...Head, parties: Ids }),
  'inbox': z.strictObject({ ...Head, shared: Ids, from: Ids }),
  'survivors': z.strictObject({ ...Head, survivors: Ids }),
  'unmask-request': z.strictObject({ ...Head, signers: Ids, b: Ids, s: Ids }),
} as const;

const isKind = (kind: string): kind is SecAggMessage['kind'] => Object.hasOwn(META, kind);

/**
 * The message a peer sent, checked against `config`. JOB_BAD_MESSAGE for an unknown kind, malformed meta, a wrong
 * blob count or key/signature length, a repeated or unknown party id; SECAGG_WRONG_ROUND for another session or
 * phase; SECAGG_BAD_SHARE for a share of the wrong length; SECAGG_BAD_VECTOR for a vector of the wrong length.
 */
export function decodeMessage(
  kind: string,
  meta: unknown,
  blobs: readonly Uint8Array[],
  config: Pick<SecAggConfig, 'session' | 'parties' | 'dimension' | 'ring'>,
): SecAggMessage {
  if (!isKind(kind)) throw bad('unknown kind', { kind: String(kind).slice(0, 32) });
  const parsed = META[kind].safeParse(meta);
  if (!parsed.success)
    throw bad('meta is malformed', { kind, fields: parsed.error.issues.map((i) => i.path.join('.')) });
  const m = parsed.data as Record<string, unknown> & { session: string; phase: string };
  const phase = PHASE_OF_KIND[kind];
  if (m.session !== config.session || m.phase !== phase)
    throw new GatewayError(
      'SECAGG_WRONG_ROUND',
      `a ${kind} message of ${m.phase === phase ? 'another session' : `phase ${m.phase.slice(0, 32)}`} is not for this round`,
      { kind, phase: m.phase.slice(0, 32), expectedPhase: phase },
    );
  const members = new Set(config.parties);
  const ids = (field: string): string[] => {
    const list = m[field] as string[];
    if (new Set(list).size !== list.length) throw bad('a party is listed twice', { kind, field });
    const stranger = list.find((id) => !members.has(id));
    if (stranger !== undefined) throw bad('names a party not in the round', { kind, field, party: stranger });
    return list;
  };
  const expectBlobs = (count: number) => {
    if (blobs.length !== count) throw bad(`expected ${count} blobs, got ${blobs.length}`, { kind });
  };
  const exact = (blob: Uint8Array, bytes: number, what: string) => {
    if (blob.length !== bytes) throw bad(`${what} has ${blob.length} bytes, not ${bytes}`, { kind });
    return Uint8Array.from(blob);
  };
  const share = (blob: Uint8Array, bytes: number, party: string) => {
    if (blob.length !== bytes)
      throw new GatewayError('SECAGG_BAD_SHARE', `a share of ${party} has ${blob.length} bytes, not ${bytes}`, {
        party,
        reason: 'share length',
      });
    return Uint8Array.from(blob);
  };
  const blob = (i: number) => blobs[i] as Uint8Array;
  const head = { session: m.session, phase };
  switch (kind) {
    case 'advertise':
      expectBlobs(4);
      return {
        kind,
        ...head,
        phase: 'advertise',
        cPk: exact(blob(0), KEY, 'c_pk'),
        sPk: exact(blob(1), KEY, 's_pk'),
        commitB: exact(blob(2), KEY, 'commitment'),
        signature: exact(blob(3), SIGNATURE, 'signature'),
      };
    case 'shares': {
      const to = ids('to');
      expectBlobs(to.length);
      return {
        kind,
        ...head,
        phase: 'share',
        shares: to.map((party, i) => ({ to: party, ciphertext: share(blob(i), BUNDLE_BYTES, party) })),
      };
    }
    case 'masked-input':
      expectBlobs(1);
      return { kind, ...head, phase: 'masked-input', vector: vectorFromBytes(blob(0), config) };
    case 'consistency':
      expectBlobs(1);
      return { kind, ...head, phase: 'consistency', signature: exact(blob(0), SIGNATURE, 'signature') };
    case 'unmask': {
      const [b, s] = [ids('b'), ids('s')];
      expectBlobs(b.length + s.length);
      const entries = [...b.map((p) => [p, 'b'] as const), ...s.map((p) => [p, 's'] as const)];
      return {
        kind,
        ...head,
        phase: 'unmask',
        shares: entries.map(([party, secret], i) => ({ party, secret, share: share(blob(i), SHARE_BYTES, party) })),
      };
    }
    case 'roster': {
      const parties = ids('parties');
      expectBlobs(4 * parties.length);
      return {
        kind,
        ...head,
        phase: 'share',
        advertisements: parties.map((party, i) => ({
          party,
          cPk: exact(blob(4 * i), KEY, 'c_pk'),
          sPk: exact(blob(4 * i + 1), KEY, 's_pk'),
          commitB: exact(blob(4 * i + 2), KEY, 'commitment'),
          signature: exact(blob(4 * i + 3), SIGNATURE, 'signature'),
        })),
      };
    }
    case 'inbox': {
      const [shared, from] = [ids('shared'), ids('from')];
      expectBlobs(from.length);
      return {
        kind,
        ...head,
        phase: 'masked-input',
        shared,
        shares: from.map((party, i) => ({ from: party, ciphertext: share(blob(i), BUNDLE_BYTES, party) })),
      };
    }
    case 'survivors':
      expectBlobs(0);
      return { kind, ...head, phase: 'consistency', survivors: ids('survivors') };
    case 'unmask-request': {
      const [signers, b, s] = [ids('signers'), ids('b'), ids('s')];
      expectBlobs(signers.length);
      return {
        kind,
        ...head,
        phase: 'unmask',
        signatures: signers.map((party, i) => ({ party, signature: exact(blob(i), SIGNATURE, 'signature') })),
        asks: [
          ...b.map((party) => ({ party, secret: 'b' as const })),
          ...s.map((party) => ({ party, secret: 's' as const })),
        ],
      };
    }
  }
}
