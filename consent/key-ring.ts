// The Ed25519 public keys a gateway has signed with, by key id: the current one and those it rotated away from.
// An event keeps the key id it was signed with (the id is inside its hash), so checking an old event needs the
// old public key, never the current one.
import { keyIdOf } from './signer.ts';

export type KeyRing = {
  /** The raw public key with this key id, or null if the gateway never held it. */
  publicKeyOf(keyId: string): Uint8Array | null;
};

export function keyRingOf(current: Uint8Array, retired: readonly Uint8Array[]): KeyRing {
  const byId = new Map<string, Uint8Array>();
  for (const key of [...retired, current]) byId.set(keyIdOf(key), key);
  return { publicKeyOf: (keyId) => byId.get(keyId) ?? null };
}

/**
 * Domain separation for every signature of the identity key except an event's: the ASCII context, a zero byte, then
 * the 32-byte digest. An event signature covers exactly its 32-byte hash, so none of these can pass for one, and two
 * contexts never collide because the zero byte ends each (docs/receipts.md, "Signatures").
 */
export function withContext(context: string, digest: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(context, 'ascii'), Buffer.from([0]), digest]);
}
