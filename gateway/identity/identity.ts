// The party identity: an Ed25519 signing key (RFC 8032), a secp256k1 EVM account and the
// subject-pseudonym HMAC key, created on first start and kept sealed in <dataDir>/keys.json.
import { createPrivateKey, createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import { keyIdOf } from '../../consent/signer.ts';
import { abytes } from '../../core/bytes.ts';
import { GatewayError } from '../../core/errors.ts';
import { evmAddressOf, generateEvmPrivateKey } from './evm-account.ts';
import { openSecret, sealSecret } from './key-vault.ts';
import type { GatewayConfig } from '../config.ts';

export const KEYS_FILE = 'keys.json';
export const DEV_PASSPHRASE_FILE = 'passphrase';

export type Identity = {
  partyId: string;
  /** `keyId` is keyIdOf(publicKeyRaw): the id receipts, consent events and record signatures carry. */
  ed25519: { privateKey: KeyObject; publicKey: KeyObject; publicKeyRaw: Uint8Array; keyId: string };
  /** Public keys the gateway signed with before (oldest first): its older events are checked with them. */
  retiredEd25519Keys: Uint8Array[];
  /** True while a key rotation is begun and not finished (`sealgate keys rotate` finishes it). */
  isRotationPending: boolean;
  /** `privateKeyHex` is non-enumerable: JSON.stringify, spreads and loggers never see it. */
  evm: { address: string; privateKeyHex: string };
  /** Non-enumerable on the identity for the same reason. 32 bytes. */
  subjectKey: Uint8Array;
};

/**
 * The one id of a gateway's Ed25519 key (consent/signer.ts keyIdOf): 16 hex characters, the first 8 bytes of
 * SHA-256 of the raw 32-byte public key. Receipts, consent events, `keys show`, the peer identity and the audit
 * report all show this id.
 */
export const KeyId = z.string().regex(/^[0-9a-f]{16}$/);

/** What `keys show` and peers may see. */
export const PublicIdentity = z.object({
  partyId: z.string(),
  ed25519PublicKeyHex: z.string().regex(/^[0-9a-f]{64}$/),
  keyId: KeyId,
  evmAddress: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
  /** Ids of the keys rotated away from, oldest first. */
  retiredKeyIds: z.array(KeyId).optional(),
});
export type PublicIdentity = z.infer<typeof PublicIdentity>;

const b64 = (bytes: number) =>
  z.string().refine((s) => /^[A-Za-z0-9_-]+$/.test(s) && Buffer.from(s, 'base64url').length === bytes);

/**
 * The plaintext inside the sealed envelope. Version 2 adds the key history: the public keys rotated away from, and the
 * successor's seed while a rotation is under way. A version 1 file loads as version 2 with neither.
 */
const StoredKeysV1 = z.strictObject({
  v: z.literal(1),
  partyId: z.string(),
  createdAt: z.string(),
  ed25519Seed: b64(32),
  evmPrivateKey: z.string().regex(/^0x[0-9a-f]{64}$/),
  subjectKey: b64(32),
});
const StoredKeysV2 = StoredKeysV1.extend({
  v: z.literal(2),
  retiredEd25519PublicKeys: z.array(z.string().regex(/^[0-9a-f]{64}$/)),
  pendingEd25519Seed: b64(32).nullable(),
});
const StoredKeys = z
  .union([StoredKeysV1, StoredKeysV2])
  .transform((k): StoredKeys =>
    k.v === 2 ? k : { ...k, v: 2, retiredEd25519PublicKeys: [], pendingEd25519Seed: null },
  );
type StoredKeys = z.infer<typeof StoredKeysV2>;

// RFC 8410 §7: PKCS#8 for Ed25519 is this fixed DER prefix followed by the 32-byte seed.
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** Rebuilds an Ed25519 key pair from its RFC 8032 32-byte seed. */
export function ed25519FromSeed(seed: Uint8Array): {
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicKeyRaw: Uint8Array;
} {
  // The seed is the gateway's own, generated into its key store: a wrong one is a programmer error.
  abytes(seed, 32, 'seed');
  const privateKey = createPrivateKey({
    key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  });
  const publicKey = createPublicKey(privateKey);
  const jwk = publicKey.export({ format: 'jwk' });
  return { privateKey, publicKey, publicKeyRaw: new Uint8Array(Buffer.from(String(jwk.x), 'base64url')) };
}

export function describeIdentity(identity: Identity): PublicIdentity {
  return {
    partyId: identity.partyId,
    ed25519PublicKeyHex: Buffer.from(identity.ed25519.publicKeyRaw).toString('hex'),
    keyId: identity.ed25519.keyId,
    evmAddress: identity.evm.address,
    ...(identity.retiredEd25519Keys.length === 0 ? {} : { retiredKeyIds: identity.retiredEd25519Keys.map(keyIdOf) }),
  };
}

type IdentityOptions = Pick<GatewayConfig, 'dataDir' | 'partyId' | 'passphrase' | 'env'>;

/**
 * Loads the sealed keys from `dataDir`, creating them on first start. Throws KEYSTORE_LOCKED when
 * they cannot be unlocked, BAD_INPUT when production has no passphrase, CONFLICT when the keys
 * belong to another party id.
 */
export async function loadOrCreateIdentity(options: IdentityOptions, log: Logger): Promise<Identity> {
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const keysPath = join(options.dataDir, KEYS_FILE);
  const passphrase = resolvePassphrase(options, existsSync(keysPath), log);

  if (!existsSync(keysPath)) {
    const fresh = generateKeys(options.partyId);
    const envelope = await sealSecret(JSON.stringify(fresh), passphrase);
    if (writeFileExclusive(keysPath, `${JSON.stringify(envelope, null, 2)}\n`)) {
      log.info({ keysFile: keysPath }, 'created party identity keys');
      return toIdentity(fresh);
    }
    // Another process created the file first: its keys win, so every process signs with one identity.
  }
  const identity = toIdentity(await readStoredKeys(keysPath, passphrase, options, log));
  if (identity.isRotationPending)
    log.warn(
      { keysFile: keysPath },
      'a key rotation was begun and not finished: run `sealgate keys rotate` to finish it',
    );
  return identity;
}

async function readStoredKeys(
  keysPath: string,
  passphrase: string,
  options: IdentityOptions,
  log: Logger,
): Promise<StoredKeys> {
  warnIfReadableByOthers(keysPath, log);
  let envelope: unknown;
  try {
    envelope = JSON.parse(readFileSync(keysPath, 'utf8'));
  } catch (cause) {
    throw new GatewayError('KEYSTORE_LOCKED', `${KEYS_FILE} is not valid JSON`, {}, { cause });
  }
  const plaintext = await openSecret(envelope, passphrase);
  const stored = StoredKeys.safeParse(safeJson(Buffer.from(plaintext).toString('utf8')));
  plaintext.fill(0);
  if (!stored.success) throw new GatewayError('KEYSTORE_LOCKED', `${KEYS_FILE} holds an unknown key format`);
  if (stored.data.partyId !== options.partyId) {
    // Signing as a party the keys were not created for would make every record misattributed.
    throw new GatewayError(
      'CONFLICT',
      `data directory ${options.dataDir} belongs to party "${stored.data.partyId}" but SEALGATE_PARTY_ID is ` +
        `"${options.partyId}": start with SEALGATE_PARTY_ID=${stored.data.partyId}, or give party ` +
        `"${options.partyId}" its own directory with SEALGATE_DATA_DIR`,
      { dataDir: options.dataDir, storedPartyId: stored.data.partyId },
    );
  }
  return stored.data;
}

/** The two keys of a rotation under way: the current one and its successor. */
export type KeyRotationKeys = { current: Identity['ed25519']; next: Identity['ed25519'] };

/**
 * Step one of a key rotation: a successor seed, kept sealed beside the current key before anything is sent, so a
 * crash at any later step can resume with the same successor. Resumes the pending one if there is one.
 */
export async function beginKeyRotation(options: IdentityOptions, log: Logger): Promise<KeyRotationKeys> {
  const keysPath = join(options.dataDir, KEYS_FILE);
  if (!existsSync(keysPath)) throw new GatewayError('NOT_FOUND', `no ${KEYS_FILE} in ${options.dataDir}`);
  const passphrase = resolvePassphrase(options, true, log);
  let stored = await readStoredKeys(keysPath, passphrase, options, log);
  if (stored.pendingEd25519Seed === null) {
    stored = { ...stored, pendingEd25519Seed: randomBytes(32).toString('base64url') };
    await replaceStoredKeys(keysPath, stored, passphrase);
  }
  return { current: ed25519Of(stored.ed25519Seed), next: ed25519Of(stored.pendingEd25519Seed!) };
}

/** The last step, once the registry lists the successor: it becomes the key, the old public key is retired. */
export async function finishKeyRotation(options: IdentityOptions, log: Logger): Promise<Identity> {
  const keysPath = join(options.dataDir, KEYS_FILE);
  const passphrase = resolvePassphrase(options, true, log);
  const stored = await readStoredKeys(keysPath, passphrase, options, log);
  if (stored.pendingEd25519Seed === null)
    throw new GatewayError('CONFLICT', 'no key rotation is under way', { reason: 'no-rotation' });
  const retired = Buffer.from(ed25519Of(stored.ed25519Seed).publicKeyRaw).toString('hex');
  const finished: StoredKeys = {
    ...stored,
    ed25519Seed: stored.pendingEd25519Seed,
    pendingEd25519Seed: null,
    retiredEd25519PublicKeys: [...stored.retiredEd25519PublicKeys, retired],
  };
  await replaceStoredKeys(keysPath, finished, passphrase);
  return toIdentity(finished);
}

/** Durable replace: sealed to a temp file, fsync'd, renamed over the old one, directory fsync'd. */
async function replaceStoredKeys(path: string, keys: StoredKeys, passphrase: string): Promise<void> {
  const envelope = await sealSecret(JSON.stringify(keys), passphrase);
  const temp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(temp, 'wx', 0o600);
  try {
    writeSync(fd, `${JSON.stringify(envelope, null, 2)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
  syncDirectory(dirname(path));
}

const ed25519Of = (seed: string): Identity['ed25519'] => {
  const ed = ed25519FromSeed(Buffer.from(seed, 'base64url'));
  return { ...ed, keyId: keyIdOf(ed.publicKeyRaw) };
};

/** The configured passphrase, or in development a generated one kept next to the keys. */
function resolvePassphrase(options: IdentityOptions, hasKeys: boolean, log: Logger): string {
  if (options.passphrase !== undefined) return options.passphrase;
  if (options.env === 'production') {
    throw new GatewayError(
      'BAD_INPUT',
      'invalid configuration: SEALGATE_PASSPHRASE: required when SEALGATE_ENV=production',
    );
  }
  const file = join(options.dataDir, DEV_PASSPHRASE_FILE);
  if (!existsSync(file)) {
    if (hasKeys) {
      throw new GatewayError(
        'KEYSTORE_LOCKED',
        `${KEYS_FILE} exists but no passphrase is available: set SEALGATE_PASSPHRASE`,
      );
    }
    writeFileExclusive(file, `${randomBytes(32).toString('base64url')}\n`);
  }
  log.warn(
    { passphraseFile: file },
    '!!! DEVELOPMENT ONLY: keys are sealed with a generated passphrase stored next to them, which protects nothing. ' +
      'Set SEALGATE_PASSPHRASE (and SEALGATE_ENV=production) for any real deployment. !!!',
  );
  const text = readFileSync(file, 'utf8').trim();
  if (text.length < 12) throw new GatewayError('KEYSTORE_LOCKED', `${file} does not hold a usable passphrase`);
  return text;
}

function generateKeys(partyId: string): StoredKeys {
  return {
    v: 2,
    retiredEd25519PublicKeys: [],
    pendingEd25519Seed: null,
    partyId,
    createdAt: new Date().toISOString(),
    ed25519Seed: randomBytes(32).toString('base64url'),
    evmPrivateKey: `0x${Buffer.from(generateEvmPrivateKey()).toString('hex')}`,
    subjectKey: randomBytes(32).toString('base64url'),
  };
}

function toIdentity(stored: StoredKeys): Identity {
  const evmKey = Buffer.from(stored.evmPrivateKey.slice(2), 'hex');
  const evm = { address: evmAddressOf(evmKey) } as Identity['evm'];
  Object.defineProperty(evm, 'privateKeyHex', { value: stored.evmPrivateKey, enumerable: false });
  const identity = {
    partyId: stored.partyId,
    // Always derived from the public key, never read from disk: keys.json holds only the seed, so a key store
    // written when the id was an RFC 7638 thumbprint loads unchanged and gets the keyIdOf id like every other.
    ed25519: ed25519Of(stored.ed25519Seed),
    retiredEd25519Keys: stored.retiredEd25519PublicKeys.map((hex) => new Uint8Array(Buffer.from(hex, 'hex'))),
    isRotationPending: stored.pendingEd25519Seed !== null,
    evm,
  } as Identity;
  Object.defineProperty(identity, 'subjectKey', {
    value: new Uint8Array(Buffer.from(stored.subjectKey, 'base64url')),
    enumerable: false,
  });
  return identity;
}

/**
 * Durable create-if-absent: write a temp file (0600), fsync it, then hard-link it into place, which
 * fails with EEXIST instead of overwriting (a plain rename would let a racing start-up replace keys
 * another process is already signing with). Returns false when the file already existed.
 */
function writeFileExclusive(path: string, data: string): boolean {
  const temp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(temp, 'wx', 0o600);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  let isCreated = true;
  try {
    linkSync(temp, path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') isCreated = false;
    else if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOSYS') {
      // File systems without hard links: fall back to rename, checking first (not atomic, best effort).
      if (existsSync(path)) isCreated = false;
      else {
        renameSync(temp, path);
        syncDirectory(dirname(path));
        return true;
      }
    } else {
      unlinkSync(temp);
      throw error;
    }
  }
  unlinkSync(temp);
  syncDirectory(dirname(path));
  return isCreated;
}

function syncDirectory(dir: string): void {
  // Makes the new directory entry durable; some platforms cannot open directories, which is harmless there.
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    /* not supported on this platform */
  }
}

function warnIfReadableByOthers(path: string, log: Logger): void {
  if (process.platform !== 'win32' && (statSync(path).mode & 0o077) !== 0) {
    log.warn({ keysFile: path }, 'keys file is readable by group or others; run chmod 600 on it');
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
