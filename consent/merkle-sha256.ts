// Fixed-length SHA-256 (FIPS 180-4 §6.2) for the two Merkle message shapes, prefix‖32 bytes and
// prefix‖64 bytes, used only to build large trees fast. Everything that verifies uses node:crypto.
//
// Why not node:crypto here: a one-shot `crypto.hash('sha256', …)` costs ~2.1 µs per call on this
// machine, almost all of it call overhead, so a 1,000,000-leaf tree (≈2,000,000 digests) takes
// ≈4.2 s. These two shapes have fixed padding, so the message schedule is built straight from the
// input words and the whole digest runs in ~0.7 µs (leaf) / ~1.0 µs (node) without allocating.
// Equality with node:crypto is checked by property tests (test/consent/merkle-tree.test.ts).

/** FIPS 180-4 §4.2.2: first 32 bits of the fractional parts of the cube roots of the first 64 primes. */
const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);

/** FIPS 180-4 §5.3.3: initial hash value. */
const IV = new Int32Array([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);

// Module-level scratch: the functions are synchronous and never re-enter, so sharing is safe.
const W = new Int32Array(64);
const H = new Int32Array(8);

/** One compression of the block already in W[0..15] into H (FIPS 180-4 §6.2.2). */
function compress(): void {
  for (let t = 16; t < 64; t++) {
    const w15 = W[t - 15]!;
    const w2 = W[t - 2]!;
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    W[t] = (s1 + W[t - 7]! + s0 + W[t - 16]!) | 0;
  }
  let a = H[0]!,
    b = H[1]!,
    c = H[2]!,
    d = H[3]!,
    e = H[4]!,
    f = H[5]!,
    g = H[6]!,
    h = H[7]!;
  for (let t = 0; t < 64; t++) {
    const sigma1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const ch = (e & f) ^ (~e & g);
    const t1 = (h + sigma1 + ch + K[t]! + W[t]!) | 0;
    const sigma0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const maj = (a & b) ^ (a & c) ^ (b & c);
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + sigma0 + maj) | 0;
  }
  H[0] = (H[0]! + a) | 0;
  H[1] = (H[1]! + b) | 0;
  H[2] = (H[2]! + c) | 0;
  H[3] = (H[3]! + d) | 0;
  H[4] = (H[4]! + e) | 0;
  H[5] = (H[5]! + f) | 0;
  H[6] = (H[6]! + g) | 0;
  H[7] = (H[7]! + h) | 0;
}

/**
 * Loads 8 big-endian words from `src` at `offset` into W[first..first+7], shifted right by one byte
 * because every message starts with a one-byte prefix. Returns the byte that spilled over.
 */
function loadShifted(src: DataView, offset: number, first: number, carry: number): number {
  let spill = carry;
  for (let j = 0; j < 8; j++) {
    const word = src.getUint32(offset + 4 * j);
    W[first + j] = (spill << 24) | (word >>> 8);
    spill = word & 0xff;
  }
  return spill;
}

function store(dst: DataView, offset: number): void {
  for (let j = 0; j < 8; j++) dst.setUint32(offset + 4 * j, H[j]!);
}

/** dst[dstOffset..+32] = SHA-256(prefix ‖ src[offset..+32]); a 33-byte message fits one block. */
// eslint-disable-next-line max-params -- hot kernel: once per leaf digest, a million per tree; no object per call
export function sha256Prefixed32(
  prefix: number,
  src: DataView,
  offset: number,
  dst: DataView,
  dstOffset: number,
): void {
  H.set(IV);
  const spill = loadShifted(src, offset, 0, prefix & 0xff);
  // Padding (FIPS 180-4 §5.1.1): 0x80 after the last byte, then the bit length 33·8 = 264.
  W[8] = (spill << 24) | 0x800000;
  W.fill(0, 9, 15);
  W[15] = 264;
  compress();
  store(dst, dstOffset);
}

/**
 * dst[dstOffset..+32] = SHA-256(prefix ‖ src[left..+32] ‖ src[right..+32]). A 65-byte message needs
 * two blocks: the first holds prefix and 63 bytes, the second the last byte and the padding.
 */
// eslint-disable-next-line max-params -- hot kernel: once per node digest, a million per tree; no object per call
export function sha256Prefixed64(
  prefix: number,
  src: DataView,
  left: number,
  right: number,
  dst: DataView,
  dstOffset: number,
): void {
  H.set(IV);
  let spill = loadShifted(src, left, 0, prefix & 0xff);
  spill = loadShifted(src, right, 8, spill);
  compress();
  W[0] = (spill << 24) | 0x800000;
  W.fill(0, 1, 15);
  W[15] = 520; // 65·8 bits
  compress();
  store(dst, dstOffset);
}
