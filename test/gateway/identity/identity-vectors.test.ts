// Published vectors for the identity key types:
// - RFC 8032 §7.1 TEST 1 (Ed25519 seed, public key, signature over the empty message);
// - the key id of the TEST 1 public key: the first 16 hex characters of its SHA-256 (sha256sum of the 32 raw bytes);
// - EIP-55 "Test Cases" (mixed-case checksum addresses);
// - secp256k1 key -> address pairs: Hardhat/Anvil default account #0 (mnemonic "test test ... junk")
//   and the web3.js `privateKeyToAccount` documentation example.
import { sign, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { evmAddressOf, toChecksumAddress } from '../../../gateway/identity/evm-account.ts';
import { keyIdOf } from '../../../consent/signer.ts';
import { ed25519FromSeed } from '../../../gateway/identity/identity.ts';

const hex = (s: string) => Buffer.from(s, 'hex');

describe('Ed25519 (RFC 8032 TEST 1)', () => {
  const seed = hex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
  const publicKey = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a';
  const signature =
    'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b';

  it('derives the published public key from the seed', () => {
    expect(Buffer.from(ed25519FromSeed(seed).publicKeyRaw).toString('hex')).toBe(publicKey);
  });

  it('produces the published signature and verifies it', () => {
    const keys = ed25519FromSeed(seed);
    expect(sign(null, Buffer.alloc(0), keys.privateKey).toString('hex')).toBe(signature);
    expect(verify(null, Buffer.alloc(0), keys.publicKey, hex(signature))).toBe(true);
  });

  it('key id is the first 8 bytes of SHA-256 of the raw public key, as 16 hex characters', () => {
    // printf d75a…511a | xxd -r -p | sha256sum  ->  21fe31dfa154a261 626bf854…
    expect(keyIdOf(hex(publicKey))).toBe('21fe31dfa154a261');
    expect(keyIdOf(ed25519FromSeed(seed).publicKeyRaw)).toBe('21fe31dfa154a261');
  });

  it('refuses a seed of the wrong length', () => {
    // The seed is the gateway's own (its key store): a wrong length is a programmer error.
    expect(() => ed25519FromSeed(new Uint8Array(31))).toThrow(RangeError);
  });
});

describe('EVM account', () => {
  it.each([
    '0x52908400098527886E0F7030069857D2E4169EE7',
    '0x8617E340B3D01FA5F11F306F4090FD50E238070D',
    '0xde709f2102306220921060314715629080e2fb77',
    '0x27b1fdb04752bbc536007a920d24acb045561c26',
    '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed',
    '0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359',
    '0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB',
    '0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb',
  ])('EIP-55 checksums %s', (address) => {
    expect(toChecksumAddress(address.toLowerCase())).toBe(address);
  });

  it.each([
    ['ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80', '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266'],
    ['4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318', '0x2c7536E3605D9C16a7a3D7b1898e529396a65c23'],
  ])('private key %s has address %s', (privateKey, address) => {
    expect(evmAddressOf(hex(privateKey))).toBe(address);
  });

  it('refuses keys that are not valid secp256k1 scalars', () => {
    expect(() => evmAddressOf(new Uint8Array(32))).toThrow(expect.objectContaining({ code: 'BAD_INPUT' }));
    expect(() => evmAddressOf(new Uint8Array(31).fill(1))).toThrow(RangeError);
    expect(() => toChecksumAddress('0x1234')).toThrow(expect.objectContaining({ code: 'BAD_INPUT' }));
  });
});
