// The secp256k1 EVM account used for anchoring: address = last 20 bytes of keccak256 of the
// uncompressed public key (Ethereum Yellow Paper, eq. 284), written with the EIP-55 checksum.
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { abytes } from '../../core/bytes.ts';
import { GatewayError } from '../../core/errors.ts';

/** A fresh private key, uniformly below the curve order (noble rejects 0 and values >= n). */
export function generateEvmPrivateKey(): Uint8Array {
  return secp256k1.utils.randomSecretKey();
}

/** The checksummed address of a 32-byte secp256k1 private key. */
export function evmAddressOf(privateKey: Uint8Array): string {
  // The key is the gateway's own (generateEvmPrivateKey, kept in the key store): a wrong length is a programmer error.
  abytes(privateKey, 32, 'privateKey');
  if (!secp256k1.utils.isValidSecretKey(privateKey)) {
    throw new GatewayError('BAD_INPUT', 'privateKey must be a valid 32-byte secp256k1 secret key');
  }
  // Uncompressed SEC1 encoding is 0x04 || X || Y; the address hashes X || Y only.
  const publicKey = secp256k1.getPublicKey(privateKey, false).subarray(1);
  const hash = keccak_256(publicKey);
  return toChecksumAddress(Buffer.from(hash.subarray(12)).toString('hex'));
}

/** EIP-55: uppercase each hex letter whose nibble in keccak256(lowercase address) is >= 8. */
export function toChecksumAddress(address: string): string {
  const hex = address.replace(/^0x/i, '');
  if (!/^[0-9a-fA-F]{40}$/.test(hex)) throw new GatewayError('BAD_INPUT', 'address must be 20 bytes of hex');
  const lower = hex.toLowerCase();
  const digest = Buffer.from(keccak_256(Buffer.from(lower, 'ascii'))).toString('hex');
  let out = '0x';
  for (let i = 0; i < 40; i++) {
    const c = lower[i] as string;
    out += parseInt(digest[i] as string, 16) >= 8 ? c.toUpperCase() : c;
  }
  return out;
}
