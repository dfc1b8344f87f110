// contracts/Ed25519.sol (RFC 8032 verification in Solidity) against RFC 8032 §7.1 and node:crypto (OpenSSL): a
// test-only harness (Ed25519Harness.sol) is compiled here with the pinned npm solc and hardhat.config.ts's settings,
// and called on the in-process Hardhat network.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ed25519, ED25519_TORSION_SUBGROUP } from '@noble/curves/ed25519.js';
import { ContractFactory } from 'ethers';
import type { BaseContract, InterfaceAbi } from 'ethers';
import solc from 'solc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import hardhatConfig from '../../hardhat.config.ts';
import { openLedgerConnection } from '../../contracts/ledger-connection.ts';
import type { LedgerConnection } from '../../contracts/ledger-connection.ts';
import { startSimulatedChain } from '../fixtures/contracts-fixture.ts';
import type { SimulatedChain } from '../fixtures/contracts-fixture.ts';

const P = 2n ** 255n - 19n;
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const HARNESS = 'test/contracts/Ed25519Harness.sol';
const LIBRARY = 'contracts/Ed25519.sol';

const hex = (b: Uint8Array): string => `0x${Buffer.from(b).toString('hex')}`;
const fromHex = (h: string): Buffer => Buffer.from(h, 'hex');
/** The 32-byte little-endian encoding RFC 8032 uses for every integer. */
const le32 = (n: bigint): Buffer => Buffer.from(n.toString(16).padStart(64, '0'), 'hex').reverse();
const leToBigInt = (b: Uint8Array): bigint => BigInt(`0x${Buffer.from(b).reverse().toString('hex') || '0'}`);
/** Deterministic bytes for test inputs, so every run checks the same edge cases. */
const bytesOf = (label: string, length: number): Buffer => {
  const chunks: Buffer[] = [];
  for (let i = 0; chunks.length * 64 < length; i++) chunks.push(createHash('sha512').update(`${label}/${i}`).digest());
  return Buffer.concat(chunks).subarray(0, length);
};
const flipBit = (b: Uint8Array, bit: number): Buffer => {
  const out = Buffer.from(b);
  out[bit >> 3]! ^= 1 << (bit & 7);
  return out;
};

const rawPublicKey = (key: KeyObject): Buffer => Buffer.from(key.export({ format: 'jwk' }).x!, 'base64url');
const publicKeyOf = (raw: Uint8Array): KeyObject =>
  createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' });
/** k = SHA-512(R || A || M) mod L, as RFC 8032 §5.1.7 computes it. */
const challengeOf = (r: Uint8Array, key: Uint8Array, message: Uint8Array): bigint =>
  leToBigInt(createHash('sha512').update(r).update(key).update(message).digest()) % L;
/** OpenSSL's verdict, the reference the library must match. */
const opensslVerifies = (key: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean =>
  verify(null, message, publicKeyOf(key), signature);

// RFC 8032 §7.1. The secret keys let the test re-derive each public key and signature with node:crypto, which
// checks the transcription.
const RFC8032_VECTORS = [
  {
    name: 'TEST 1',
    secret: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature:
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    name: 'TEST 2',
    secret: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature:
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
  {
    name: 'TEST 3',
    secret: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    publicKey: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    message: 'af82',
    signature:
      '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  },
  {
    name: 'TEST 1024',
    secret: 'f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5',
    publicKey: '278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e',
    message: [
      '08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98fa6e264bf09efe12ee50f8f54e9f77b1',
      'e355f6c50544e23fb1433ddf73be84d879de7c0046dc4996d9e773f4bc9efe5738829adb26c81b37c93a1b270b20329d',
      '658675fc6ea534e0810a4432826bf58c941efb65d57a338bbd2e26640f89ffbc1a858efcb8550ee3a5e1998bd177e93a',
      '7363c344fe6b199ee5d02e82d522c4feba15452f80288a821a579116ec6dad2b3b310da903401aa62100ab5d1a36553e',
      '06203b33890cc9b832f79ef80560ccb9a39ce767967ed628c6ad573cb116dbefefd75499da96bd68a8a97b928a8bbc10',
      '3b6621fcde2beca1231d206be6cd9ec7aff6f6c94fcd7204ed3455c68c83f4a41da4af2b74ef5c53f1d8ac70bdcb7ed1',
      '85ce81bd84359d44254d95629e9855a94a7c1958d1f8ada5d0532ed8a5aa3fb2d17ba70eb6248e594e1a2297acbbb39d',
      '502f1a8c6eb6f1ce22b3de1a1f40cc24554119a831a9aad6079cad88425de6bde1a9187ebb6092cf67bf2b13fd65f270',
      '88d78b7e883c8759d2c4f5c65adb7553878ad575f9fad878e80a0c9ba63bcbcc2732e69485bbc9c90bfbd62481d9089b',
      'eccf80cfe2df16a2cf65bd92dd597b0707e0917af48bbb75fed413d238f5555a7a569d80c3414a8d0859dc65a46128ba',
      'b27af87a71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51addd3b75a2b1ae0784504df543af8969b',
      'e3ea7082ff7fc9888c144da2af58429ec96031dbcad3dad9af0dcbaaaf268cb8fcffead94f3c7ca495e056a9b47acdb7',
      '51fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301651339e22904cc8c42f58c30c04aafdb038dda0847dd988d',
      'cda6f3bfd15c4b4c4525004aa06eeff8ca61783aacec57fb3d1f92b0fe2fd1a85f6724517b65e614ad6808d6f6ee34df',
      'f7310fdc82aebfd904b01e1dc54b2927094b2db68d6f903b68401adebf5a7e08d78ff4ef5d63653a65040cf9bfd4aca7',
      '984a74d37145986780fc0b16ac451649de6188a7dbdf191f64b5fc5e2ab47b57f7f7276cd419c17a3ca8e1b939ae49e4',
      '88acba6b965610b5480109c8b17b80e1b7b750dfc7598d5d5011fd2dcc5600a32ef5b52a1ecc820e308aa342721aac09',
      '43bf6686b64b2579376504ccc493d97e6aed3fb0f9cd71a43dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5f',
      'b93246f6b1116398a346f1a641f3b041e989f7914f90cc2c7fff357876e506b50d334ba77c225bc307ba537152f3f161',
      '0e4eafe595f6d9d90d11faa933a15ef1369546868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380d',
      'b2eaaa707b4c4185c32eddcdd306705e4dc1ffc872eeee475a64dfac86aba41c0618983f8741c5ef68d3a101e8a3b8ca',
      'c60c905c15fc910840b94c00a0b9d0',
    ].join(''),
    signature:
      '0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350aa5371b1508f9f4528ecea23c436d94b5e8fcd4f681e30a6ac00a9704a188a03',
  },
  {
    name: 'TEST SHA(abc)',
    secret: '833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42',
    publicKey: 'ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf',
    message: createHash('sha512').update('abc').digest('hex'),
    signature:
      'dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704',
  },
];

type SolcOutput = {
  errors?: { severity: string; formattedMessage: string }[];
  contracts?: Record<string, Record<string, { abi: unknown[]; evm: { bytecode: { object: string } } }>>;
};

/** Compiles the harness (and the library it imports) with the settings the ledger contracts are built with. */
function compileHarness(): { abi: unknown[]; bytecode: string } {
  const { solidity } = hardhatConfig;
  if (typeof solidity !== 'object' || !('settings' in solidity)) throw new Error('unexpected hardhat solidity config');
  const { optimizer, evmVersion } = solidity.settings as { optimizer: unknown; evmVersion: string };
  expect(solc.version()).toMatch(new RegExp(`^${solidity.version.replaceAll('.', '\\.')}\\+`));
  const read = (path: string) => ({ content: readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8') });
  const input = {
    language: 'Solidity',
    // The harness imports "../../contracts/Ed25519.sol", which solc resolves to the LIBRARY unit name.
    sources: { [HARNESS]: read(HARNESS), [LIBRARY]: read(LIBRARY) },
    settings: {
      optimizer,
      evmVersion,
      outputSelection: { [HARNESS]: { Ed25519Harness: ['abi', 'evm.bytecode.object'] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input))) as SolcOutput;
  const problems = (output.errors ?? []).filter((e) => e.severity !== 'info');
  expect(problems.map((e) => e.formattedMessage)).toEqual([]);
  const contract = output.contracts?.[HARNESS]?.['Ed25519Harness'];
  if (contract === undefined) throw new Error('the harness did not compile');
  return { abi: contract.abi, bytecode: `0x${contract.evm.bytecode.object}` };
}

let chain: SimulatedChain;
let connection: LedgerConnection;
let harness: BaseContract;

/** The library's verdict; an eth_call that reverted would throw here and fail the test. */
async function solidityVerifies(key: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
  const [r, s] = [signature.subarray(0, 32), signature.subarray(32, 64)];
  return (await harness.getFunction('verify').staticCall(hex(key), hex(r), hex(s), hex(message))) as boolean;
}

/** Both verdicts, for cases where the library must agree with OpenSSL. */
async function bothVerify(key: Uint8Array, message: Uint8Array, signature: Uint8Array) {
  return {
    openssl: opensslVerifies(key, message, signature),
    solidity: await solidityVerifies(key, message, signature),
  };
}

beforeAll(async () => {
  const { abi, bytecode } = compileHarness();
  chain = await startSimulatedChain();
  connection = openLedgerConnection({ provider: chain.provider, account: chain.accounts[0]! });
  const deployed = await new ContractFactory(abi as InterfaceAbi, bytecode, await connection.signer()).deploy();
  await deployed.waitForDeployment();
  harness = deployed;
});

afterAll(async () => {
  connection?.close();
  await chain?.close();
});

describe('Ed25519.sol', () => {
  it('SHA-512 matches node:crypto across the padding boundaries', async () => {
    for (const length of [
      0, 1, 3, 31, 32, 55, 56, 63, 64, 111, 112, 113, 127, 128, 129, 239, 240, 255, 256, 300, 1087,
    ]) {
      const data = bytesOf(`sha/${length}`, length);
      const digest = createHash('sha512').update(data).digest();
      const [high, low] = (await harness.getFunction('sha512').staticCall(hex(data))) as [string, string];
      expect(`${high}${low.slice(2)}`, `length ${length}`).toBe(hex(digest));
    }
  });

  it('accepts the RFC 8032 §7.1 test vectors', async () => {
    for (const v of RFC8032_VECTORS) {
      const secret = createPrivateKey({
        key: {
          kty: 'OKP',
          crv: 'Ed25519',
          d: fromHex(v.secret).toString('base64url'),
          x: fromHex(v.publicKey).toString('base64url'),
        },
        format: 'jwk',
      });
      const message = fromHex(v.message);
      expect(sign(null, message, secret).toString('hex'), v.name).toBe(v.signature);
      expect(await bothVerify(fromHex(v.publicKey), message, fromHex(v.signature)), v.name).toEqual({
        openssl: true,
        solidity: true,
      });
      if (message.length > 0) {
        expect(await solidityVerifies(fromHex(v.publicKey), flipBit(message, 0), fromHex(v.signature)), v.name).toBe(
          false,
        );
      }
    }
  });

  it('agrees with OpenSSL on fresh keys, and refuses any flipped bit and S + L', async () => {
    // With the 64 bytes of R || A, these lengths put the hashed input on SHA-512's block and padding edges
    // (111/112, 127/128, 239/240 bytes), and the list also has the edges of the message alone.
    const lengths = [0, 1, 47, 48, 63, 64, 111, 112, 127, 128, 150, 175, 176, 191, 192, 239, 240, 255, 256, 300];
    for (const [i, length] of lengths.entries()) {
      const { publicKey, privateKey } = generateKeyPairSync('ed25519');
      const key = rawPublicKey(publicKey);
      const message = bytesOf(`message/${i}`, length);
      const signature = sign(null, message, privateKey);
      const at = `length ${length}`;
      expect(await bothVerify(key, message, signature), at).toEqual({ openssl: true, solidity: true });
      // One bit of each part, at a position that varies with the case (bit 255 included: A's and R's sign bit).
      const bit = (i * 37 + 255) % 256;
      const tampered: [string, Buffer, Buffer, Buffer][] = [
        ['R', key, message, Buffer.concat([flipBit(signature.subarray(0, 32), bit), signature.subarray(32)])],
        ['S', key, message, Buffer.concat([signature.subarray(0, 32), flipBit(signature.subarray(32), bit)])],
        ['A', flipBit(key, bit), message, signature],
      ];
      if (length > 0) tampered.push(['M', key, flipBit(message, (i * 131) % (length * 8)), signature]);
      for (const [part, k, m, sig] of tampered) {
        expect(await bothVerify(k, m, sig), `${at}, flipped ${part}`).toEqual({ openssl: false, solidity: false });
      }
      // S + L is the same scalar mod L: a second encoding that OpenSSL and the library refuse.
      const sPlusL = le32(leToBigInt(signature.subarray(32)) + L);
      const malleated = Buffer.concat([signature.subarray(0, 32), sPlusL]);
      expect(await bothVerify(key, message, malleated), `${at}, S + L`).toEqual({ openssl: false, solidity: false });
    }
  });

  it('refuses a key that is not on the curve, a non-canonical S and all-zero input', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const message = Buffer.from('rotate');
    const signature = sign(null, message, privateKey);
    // y = 2: (y^2 - 1)/(d y^2 + 1) is not a square, so no x exists.
    expect(await bothVerify(le32(2n), message, signature)).toEqual({ openssl: false, solidity: false });
    // S = L exactly, and the largest 32-byte S.
    for (const s of [le32(L), Buffer.alloc(32, 0xff)]) {
      const sig = Buffer.concat([signature.subarray(0, 32), s]);
      expect(await solidityVerifies(rawPublicKey(publicKey), message, sig)).toBe(false);
    }
    // The all-zero key decodes to a point of order 4; with the all-zero signature (R that same point, S = 0), OpenSSL
    // accepts the quarter of all messages for which [k]A = -R. The library refuses small-order keys.
    const messages = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((m) => Buffer.from(m));
    const zero = Buffer.alloc(64);
    const verdicts = await Promise.all(messages.map((m) => bothVerify(zero.subarray(0, 32), m, zero)));
    expect(verdicts.map((v) => v.solidity)).toEqual(messages.map(() => false));
    expect(verdicts.some((v) => v.openssl)).toBe(true);
  });

  it('refuses small-order and non-canonical keys, which OpenSSL accepts and anyone could sign for', async () => {
    const base = ed25519.Point.BASE;
    // With A the neutral point, [k]A vanishes: R = [S]B with any S verifies for every message.
    const forged = Buffer.concat([base.multiply(5n).toBytes(), le32(5n)]);
    const message = Buffer.from('any message at all');
    const identityKeys = [
      le32(1n),
      le32(1n | (1n << 255n)), // x = 0 with the sign bit set
      le32(P + 1n), // y = p + 1, a non-canonical y
    ];
    for (const key of identityKeys) {
      expect(await bothVerify(key, message, forged), hex(key)).toEqual({ openssl: true, solidity: false });
    }
    // Every small-order point A (noble's list): (R = [5]B, S = 5) verifies in OpenSSL for the messages whose k makes
    // [k]A vanish, one in ord(A) <= 8, with no secret key involved.
    expect(ED25519_TORSION_SUBGROUP).toHaveLength(8);
    for (const encoded of ED25519_TORSION_SUBGROUP) {
      const key = fromHex(encoded);
      const point = ed25519.Point.fromBytes(key);
      let i = 0;
      while (!point.multiplyUnsafe(challengeOf(forged.subarray(0, 32), key, bytesOf(`small/${i}`, 20))).is0()) i++;
      expect(await bothVerify(key, bytesOf(`small/${i}`, 20), forged), encoded).toEqual({
        openssl: true,
        solidity: false,
      });
    }
  });

  it('agrees with OpenSSL on keys with a small-order component (cofactorless, no special case)', async () => {
    // A = [a]B + T with T of order 8: an honest-looking signature R = [r]B, S = r + k a satisfies the cofactorless
    // equation exactly when [k]T vanishes (k = 0 mod 8). Both verdicts must match, and both outcomes must occur.
    const base = ed25519.Point.BASE;
    const torsion = ed25519.Point.fromBytes(fromHex(ED25519_TORSION_SUBGROUP[1]!));
    expect(torsion.multiplyUnsafe(4n).is0()).toBe(false); // order 8
    const a = leToBigInt(bytesOf('mixed/a', 32)) % L;
    const key = Buffer.from(base.multiply(a).add(torsion).toBytes());
    const seen = new Set<boolean>();
    for (let i = 0; i < 48; i++) {
      const message = bytesOf(`mixed/m/${i}`, 40);
      const r = (leToBigInt(bytesOf(`mixed/r/${i}`, 32)) % (L - 1n)) + 1n;
      const encodedR = base.multiply(r).toBytes();
      const k = challengeOf(encodedR, key, message);
      const sig = Buffer.concat([encodedR, le32((r + k * a) % L)]);
      const verdict = await bothVerify(key, message, sig);
      expect(verdict.solidity, `message ${i}`).toBe(verdict.openssl);
      expect(verdict.openssl, `message ${i}`).toBe(k % 8n === 0n);
      seen.add(verdict.openssl);
    }
    expect([...seen].sort()).toEqual([false, true]);
  });

  it('returns false on arbitrary input, never reverting', async () => {
    // A revert would make the eth_call throw. S is kept below L so that every check up to the final comparison runs.
    const cases: [key: Buffer, signature: Buffer, message: Buffer][] = [
      [Buffer.alloc(32, 0xff), Buffer.alloc(64, 0xff), Buffer.alloc(0)],
      [le32(P), Buffer.concat([le32(P), le32(L - 1n)]), Buffer.from('x')],
      [le32(P - 1n), Buffer.alloc(64), Buffer.alloc(200)],
    ];
    for (let i = 0; i < 16; i++) {
      const s = le32(leToBigInt(bytesOf(`junk/s/${i}`, 32)) % L);
      cases.push([bytesOf(`junk/k/${i}`, 32), Buffer.concat([bytesOf(`junk/r/${i}`, 32), s]), bytesOf('m', i * 23)]);
    }
    for (const [key, signature, message] of cases) {
      expect(await solidityVerifies(key, message, signature), hex(key)).toBe(false);
    }
  });

  it('reports the gas of one verification of a 150-byte message', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const message = bytesOf('gas', 150);
    const signature = sign(null, message, privateKey);
    const [r, s] = [signature.subarray(0, 32), signature.subarray(32, 64)];
    const [isValid, gasUsed] = (await harness
      .getFunction('verifyGas')
      .staticCall(hex(rawPublicKey(publicKey)), hex(r), hex(s), hex(message))) as [boolean, bigint];
    expect(isValid).toBe(true);
    console.log(`Ed25519.verify of a 150-byte message: ${gasUsed} gas`);
    expect(gasUsed).toBeLessThan(400_000n); // about 290k when written
  });
});
