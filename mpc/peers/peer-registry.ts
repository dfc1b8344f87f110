// The partner registry (DESIGN.md §3): each peer gateway's party id, base URL, Ed25519 public key
// (RFC 8032, 32 bytes) and roles, kept in DuckDB and mirrored in memory for per-request lookups.
// When this gateway has a ledger, a new key is checked against the on-chain GatewayRegistry.
import { z } from 'zod';
import type { Clock } from '../../core/clock.ts';
import type { GatewayRegistryClient } from '../../contracts/gateway-registry-client.ts';
import { timestampText, type Database } from '../../core/database.ts';
import { GatewayError } from '../../core/errors.ts';
import { PeerId } from './peer-signature.ts';

/** scheme://host[:port] only: the signed path is the request target, so a base path would be ambiguous behind a proxy. */
export const PeerBaseUrl = z
  .string()
  .max(2048)
  .refine(isOriginUrl, {
    message:
      'expected an http(s) origin such as https://insurer.example:8443, without credentials, path, query or fragment',
  })
  .transform((s) => new URL(s).origin);

/** 32 bytes as 64 hex digits; a 0x prefix and upper case are accepted and normalised away. */
export const Ed25519PublicKeyHex = z
  .string()
  .regex(/^(0x)?[0-9a-fA-F]{64}$/, 'expected 64 hex digits (32 bytes)')
  .transform((s) => s.replace(/^0x/, '').toLowerCase())
  .refine((s) => !/^0+$/.test(s), 'the all-zero key is not a key');

export const PeerRole = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,31}$/, 'expected a role id such as guest, host or label-holder');

const PeerRoles = z
  .array(PeerRole)
  .max(16)
  .refine((r) => new Set(r).size === r.length, 'roles must be unique');

export const PeerInput = z.strictObject({
  id: PeerId,
  baseUrl: PeerBaseUrl,
  ed25519PublicKey: Ed25519PublicKeyHex,
  roles: PeerRoles.default([]),
});
export type PeerInput = z.input<typeof PeerInput>;

export const PeerUpdate = z
  .strictObject({
    baseUrl: PeerBaseUrl.optional(),
    roles: PeerRoles.optional(),
  })
  .refine((u) => u.baseUrl !== undefined || u.roles !== undefined, 'give baseUrl, roles or both');
export type PeerUpdate = z.input<typeof PeerUpdate>;

export const PeerStatus = z.enum(['active', 'disabled']);
/** 'confirmed': the ledger's GatewayRegistry holds this key for this id. Otherwise the note says why not. */
export const PeerConfirmation = z.enum(['confirmed', 'unconfirmed']);
export const ConfirmationNote = z.enum(['ledger', 'ledger-off', 'not-registered']);

export const Peer = z.object({
  id: PeerId,
  baseUrl: z.string(),
  ed25519PublicKey: z.string().regex(/^[0-9a-f]{64}$/),
  roles: z.array(z.string()),
  status: PeerStatus,
  confirmation: PeerConfirmation,
  confirmationNote: ConfirmationNote,
  /** The EVM account the registry lists for this party, when confirmed. */
  evmAccount: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  disabledAt: z.string().nullable(),
});
export type Peer = z.infer<typeof Peer>;

export type PeerRegistry = {
  /**
   * Registers a peer, or re-activates a disabled one with new details. Adding an active peer again
   * with identical details is a no-op. Throws BAD_INPUT (own id, malformed), CONFLICT (active with
   * other details, or revoked on the ledger), PEER_KEY_MISMATCH, LEDGER_UNAVAILABLE.
   */
  add(input: unknown): Promise<{ peer: Peer; isCreated: boolean }>;
  /** Throws NOT_FOUND, BAD_INPUT. The key never changes here: disable and add again to rotate it. */
  update(id: string, patch: unknown): Promise<Peer>;
  /** Idempotent. Throws NOT_FOUND. Takes effect for the next request. */
  disable(id: string): Promise<Peer>;
  get(id: string): Peer | undefined;
  list(): Peer[];
  /** The 32-byte key of an active peer; null for unknown and disabled peers, which verify nothing. */
  activeKey(id: string): Uint8Array | null;
};

export type PeerRegistryOptions = {
  db: Database;
  clock: Clock;
  /** This gateway's party id: it cannot be its own peer. */
  selfId: string;
  /** The ledger's registry reader, or null when the ledger is off; asked at each `add`. */
  chain: () => Pick<GatewayRegistryClient, 'getGateway'> | null;
};

const MIGRATIONS = [
  {
    id: '001-peers',
    sql: `CREATE TABLE peers (
    id VARCHAR PRIMARY KEY,
    base_url VARCHAR NOT NULL,
    ed25519_public_key VARCHAR NOT NULL,
    roles VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    confirmation VARCHAR NOT NULL,
    confirmation_note VARCHAR NOT NULL,
    evm_account VARCHAR,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    disabled_at TIMESTAMPTZ
  )`,
  },
];

const COLUMNS =
  'id, base_url, ed25519_public_key, roles, status, confirmation, confirmation_note, evm_account, created_at, updated_at, disabled_at';

export async function openPeerRegistry(options: PeerRegistryOptions): Promise<PeerRegistry> {
  const { db, clock, selfId, chain } = options;
  await db.migrate('peers', MIGRATIONS);
  const peers = new Map<string, Peer>();
  for (const row of await db.all(`SELECT ${COLUMNS} FROM peers`)) {
    const peer = toPeer(row);
    peers.set(peer.id, peer);
  }
  // Mutations one at a time: two admins adding the same id must not both pass the existence check.
  let tail: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(work: () => Promise<T>): Promise<T> => {
    const next = tail.then(work, work);
    tail = next.catch(() => undefined);
    return next;
  };

  const reload = async (id: string): Promise<Peer> => {
    const row = (await db.all(`SELECT ${COLUMNS} FROM peers WHERE id = $1`, [id]))[0];
    if (row === undefined) throw new GatewayError('NOT_FOUND', 'no such peer');
    const peer = toPeer(row);
    peers.set(id, peer);
    return peer;
  };

  const confirm = async (
    id: string,
    key: string,
  ): Promise<Pick<Peer, 'confirmation' | 'confirmationNote' | 'evmAccount'>> => {
    const reader = chain();
    if (reader === null) return { confirmation: 'unconfirmed', confirmationNote: 'ledger-off', evmAccount: null };
    const entry = await reader.getGateway(id);
    if (entry === null) return { confirmation: 'unconfirmed', confirmationNote: 'not-registered', evmAccount: null };
    if (entry.status !== 'Active')
      throw new GatewayError('CONFLICT', "the ledger's gateway registry marks this party revoked", { peer: id });
    if (entry.ed25519PublicKey.replace(/^0x/, '').toLowerCase() !== key) {
      throw new GatewayError(
        'PEER_KEY_MISMATCH',
        "the key differs from the one the ledger's gateway registry holds for this party",
        { peer: id },
      );
    }
    return { confirmation: 'confirmed', confirmationNote: 'ledger', evmAccount: entry.evmAccount };
  };

  return {
    add: (input) =>
      exclusive(async () => {
        const peer = parseOrThrow(PeerInput, input);
        if (peer.id === selfId) throw new GatewayError('BAD_INPUT', 'a gateway cannot be its own peer');
        const existing = peers.get(peer.id);
        if (existing?.status === 'active') {
          const isSame =
            existing.baseUrl === peer.baseUrl &&
            existing.ed25519PublicKey === peer.ed25519PublicKey &&
            JSON.stringify(existing.roles) === JSON.stringify(peer.roles);
          if (isSame) return { peer: existing, isCreated: false };
          throw new GatewayError(
            'CONFLICT',
            'peer is already registered with other details: update its base URL or roles, or disable it to replace its key',
            { peer: peer.id },
          );
        }
        const confirmed = await confirm(peer.id, peer.ed25519PublicKey);
        const at = clock.now().toISOString();
        const values = [
          peer.baseUrl,
          peer.ed25519PublicKey,
          JSON.stringify(peer.roles),
          confirmed.confirmation,
          confirmed.confirmationNote,
          confirmed.evmAccount,
          at,
        ];
        await db.transaction((tx) =>
          existing === undefined
            ? tx.run(
                `INSERT INTO peers (${COLUMNS}) VALUES ($1, $2, $3, $4, 'active', $5, $6, $7, $8::TIMESTAMPTZ, $8::TIMESTAMPTZ, NULL)`,
                [peer.id, ...values],
              )
            : tx.run(
                `UPDATE peers SET base_url = $2, ed25519_public_key = $3, roles = $4, status = 'active', confirmation = $5,
            confirmation_note = $6, evm_account = $7, updated_at = $8::TIMESTAMPTZ, disabled_at = NULL WHERE id = $1`,
                [peer.id, ...values],
              ),
        );
        return { peer: await reload(peer.id), isCreated: existing === undefined };
      }),

    update: (id, patch) =>
      exclusive(async () => {
        if (peers.get(id) === undefined) throw new GatewayError('NOT_FOUND', 'no such peer');
        const change = parseOrThrow(PeerUpdate, patch);
        const at = clock.now().toISOString();
        await db.transaction((tx) =>
          tx.run(
            'UPDATE peers SET base_url = coalesce($2::VARCHAR, base_url), roles = coalesce($3::VARCHAR, roles), updated_at = $4::TIMESTAMPTZ WHERE id = $1',
            [id, change.baseUrl ?? null, change.roles === undefined ? null : JSON.stringify(change.roles), at],
          ),
        );
        return reload(id);
      }),

    disable: (id) =>
      exclusive(async () => {
        const existing = peers.get(id);
        if (existing === undefined) throw new GatewayError('NOT_FOUND', 'no such peer');
        if (existing.status === 'disabled') return existing;
        // Memory first: a request verified while the write is queued must already be refused.
        peers.set(id, { ...existing, status: 'disabled' });
        const at = clock.now().toISOString();
        await db.transaction((tx) =>
          tx.run(
            `UPDATE peers SET status = 'disabled', disabled_at = $2::TIMESTAMPTZ, updated_at = $2::TIMESTAMPTZ WHERE id = $1`,
            [id, at],
          ),
        );
        return reload(id);
      }),

    get: (id) => peers.get(id),
    list: () => [...peers.values()].sort((a, b) => a.id.localeCompare(b.id)),
    activeKey(id) {
      const peer = peers.get(id);
      return peer?.status === 'active' ? new Uint8Array(Buffer.from(peer.ed25519PublicKey, 'hex')) : null;
    },
  };
}

function isOriginUrl(text: string): boolean {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return false;
  }
  return (
    (url.protocol === 'http:' || url.protocol === 'https:') &&
    url.username === '' &&
    url.password === '' &&
    url.pathname === '/' &&
    url.search === '' &&
    url.hash === '' &&
    !/[?#]/.test(text)
  );
}

function parseOrThrow<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const errors = result.error.issues.map((i) => ({
    in: 'body',
    pointer: i.path.map((p) => `/${String(p)}`).join(''),
    detail: i.message,
  }));
  throw new GatewayError(
    'BAD_INPUT',
    `invalid peer: ${errors.map((e) => `${e.pointer || '/'} ${e.detail}`).join('; ')}`,
    { errors },
  );
}

function toPeer(row: Record<string, unknown>): Peer {
  const parsed = Peer.safeParse({
    id: row.id,
    baseUrl: row.base_url,
    ed25519PublicKey: row.ed25519_public_key,
    roles: safeJson(String(row.roles)),
    status: row.status,
    confirmation: row.confirmation,
    confirmationNote: row.confirmation_note,
    evmAccount: row.evm_account ?? null,
    createdAt: timestampText(row.created_at),
    updatedAt: timestampText(row.updated_at),
    disabledAt: row.disabled_at === null || row.disabled_at === undefined ? null : timestampText(row.disabled_at),
  });
  // A row this build cannot read is not silently skipped (that would hide it) nor trusted.
  if (!parsed.success)
    throw new GatewayError('INTEGRITY_VIOLATION', 'a stored peer row is malformed', { table: 'peers' });
  return parsed.data;
}

const safeJson = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};
