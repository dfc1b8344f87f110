// SPDX-License-Identifier: Apache-2.0
// Ed25519 signature verification (RFC 8032 §5.1.7), so that a contract can require a message to be
// signed by a gateway's Ed25519 identity key. Written from RFC 8032 and FIPS 180-4 (SHA-512).
//
// Verdicts match OpenSSL's (node:crypto verify): S >= L is refused, and the cofactorless equation
// [S]B = R + [k]A is checked by encoding [S]B - [k]A and comparing it with the R bytes, so an R that is
// non-canonical or not on the curve never matches. Public keys are held to stricter rules than OpenSSL's:
// y must be canonical (< p), and none of the 8 points of small order is accepted, since such a key lets
// anyone sign (with A the neutral point, R = B and S = 1 verify for every message). RFC 8032 key
// generation never yields either, so for honest keys the verdict is OpenSSL's.
// Bad input of any kind returns false; nothing here reverts (short of running out of gas).
pragma solidity 0.8.37;

library Ed25519 {
    /// The field prime p = 2^255 - 19.
    uint256 private constant P = 0x7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffed;
    /// The order L = 2^252 + 27742317777372353535851937790883648493 of the base point B.
    uint256 private constant L = 0x1000000000000000000000000000000014def9dea2f79cd65812631a5cf5d3ed;
    /// The curve constant d = -121665/121666 mod p, and 2d (the addition formula's factor).
    uint256 private constant D = 0x52036cee2b6ffe738cc740797779e89800700a4d4141d8ab75eb4dca135978a3;
    uint256 private constant D2 = 0x2406d9dc56dffce7198e80f2eef3d13000e0149a8283b156ebd69b9426b2f159;
    /// 2^((p-1)/4), a square root of -1 mod p.
    uint256 private constant SQRT_M1 = 0x2b8324804fc1df0b2b4d00993dfbd7a72f431806ad2fe478c4ee1b274a0ea0b0;
    /// The base point B = (x, 4/5) with x even.
    uint256 private constant BASE_X = 0x216936d3cd6e53fec0a4e231fdd6dc5c692cc7609525a7b2c9562d608f25d51a;
    uint256 private constant BASE_Y = 0x6666666666666666666666666666666666666666666666666666666666666658;
    /// y of two of the four points of order 8; the other two have p - y. (Order 1, 2 and 4 points have
    /// y = 1, p - 1 and 0.)
    uint256 private constant Y_ORDER_8 = 0x05fc536d880238b13933c6d305acdfd5f098eff289f4c345b027b2c28f95e826;
    /// 2^256 mod L, to reduce a 512-bit hash as high * 2^256 + low.
    uint256 private constant TWO_256_MOD_L = 0x0ffffffffffffffffffffffffffffffec6ef5bf4737dcf70d6ec31748d98951d;

    /// True when (r, s) is a valid Ed25519 signature of `message` under `publicKey`. All three are the
    /// RFC 8032 byte strings as they appear in the 32-byte key and the 64-byte signature R || S.
    function verify(bytes32 publicKey, bytes32 r, bytes32 s, bytes memory message) internal view returns (bool) {
        // §5.1.7 step 1: S < L, so that (R, S + L) is not a second signature of the same message.
        uint256 sScalar = _fromLittleEndian(s);
        if (sScalar >= L) return false;
        (bool isKey, uint256 ax, uint256 ay) = _decodeKey(_fromLittleEndian(publicKey));
        if (!isKey) return false;
        // Step 3: [S]B + [k](-A) must be R. Encoding it and comparing bytes (as OpenSSL does) needs no
        // decoding of R and refuses a non-canonical R for free.
        (uint256 x, uint256 y, uint256 z) =
            _doubleScalarMul(sScalar, _challenge(r, publicKey, message), (P - ax) % P, ay);
        return _isEncodedAs(x, y, z, _fromLittleEndian(r));
    }

    /// §5.1.7 step 2: k = SHA-512(R || A || M) read as a little-endian 512-bit integer, mod L. R and A
    /// are hashed as given, not re-encoded.
    function _challenge(bytes32 r, bytes32 publicKey, bytes memory message) private pure returns (uint256) {
        (bytes32 h0, bytes32 h1) = sha512(abi.encodePacked(r, publicKey, message));
        return addmod(mulmod(_fromLittleEndian(h1), TWO_256_MOD_L, L), _fromLittleEndian(h0), L);
    }

    /// True when X:Y:Z encodes (§5.1.2: y, with x's parity in bit 255) as the integer `encoded`.
    function _isEncodedAs(uint256 x, uint256 y, uint256 z, uint256 encoded) private view returns (bool) {
        (bool isOk, uint256 zInv) = _modExp(z, P - 2);
        // Z is never 0 for curve points (the formulas are complete); the check only keeps a failed
        // precompile call from reading as the point at infinity.
        if (!isOk || zInv == 0) return false;
        x = mulmod(x, zInv, P);
        y = mulmod(y, zInv, P);
        return (y | ((x & 1) << 255)) == encoded;
    }

    /// SHA-512 (FIPS 180-4) of `data`: the 64-byte digest as its first and second 32 bytes.
    function sha512(bytes memory data) internal pure returns (bytes32 high, bytes32 low) {
        assembly ("memory-safe") {
            // Working memory is scratch past the free memory pointer (nothing is allocated), laid out as:
            // the padded message, the packed round constants (kt), the schedule W (w), the state H (hs).
            //
            // §6.4.2 steps 2 to 4 for one block: 80 rounds on a..h, kept on the stack, then H += a..h.
            // Every value is a 64-bit word in a 256-bit slot; sums are masked to 64 bits where they are
            // kept, and a rotation is a shift of the word written twice side by side (the bits this
            // leaves above bit 63 are masked off with the sum; carries only run upwards).
            function compress(hs, w, kt) {
                let a := mload(hs)
                let b := mload(add(hs, 0x20))
                let c := mload(add(hs, 0x40))
                let d := mload(add(hs, 0x60))
                let e := mload(add(hs, 0x80))
                let f := mload(add(hs, 0xa0))
                let g := mload(add(hs, 0xc0))
                let h := mload(add(hs, 0xe0))
                // t counts W's 32-byte slots; K[t] is the top 8 bytes of the word at kt + 8t.
                for { let t := 0 } lt(t, 0xa00) { t := add(t, 0x20) } {
                    // T1 = h + Σ1(e) + Ch(e, f, g) + K[t] + W[t]
                    let x := or(e, shl(64, e))
                    x := add(
                        add(h, xor(xor(shr(14, x), shr(18, x)), shr(41, x))),
                        add(xor(g, and(e, xor(f, g))), add(shr(192, mload(add(kt, shr(2, t)))), mload(add(w, t))))
                    )
                    h := g
                    g := f
                    f := e
                    e := and(add(d, x), 0xffffffffffffffff)
                    d := c
                    c := b
                    b := a
                    // a = T1 + Σ0(a) + Maj(a, b, c), where the old a, b, c are now named b, c, d.
                    a := or(b, shl(64, b))
                    a := add(add(x, xor(xor(shr(28, a), shr(34, a)), shr(39, a))), or(and(b, c), and(d, or(b, c))))
                    a := and(a, 0xffffffffffffffff)
                }
                addTo(hs, a)
                addTo(add(hs, 0x20), b)
                addTo(add(hs, 0x40), c)
                addTo(add(hs, 0x60), d)
                addTo(add(hs, 0x80), e)
                addTo(add(hs, 0xa0), f)
                addTo(add(hs, 0xc0), g)
                addTo(add(hs, 0xe0), h)
            }
            function addTo(slot, v) {
                mstore(slot, and(add(mload(slot), v), 0xffffffffffffffff))
            }
            let len := mload(data)
            // §5.1.2 padding: 0x80, zeros, then the bit length as a 128-bit big-endian integer, to a
            // multiple of 128 bytes.
            let padded := and(add(len, 144), not(127))
            let buf := mload(0x40)
            let src := add(data, 0x20)
            for { let i := 0 } lt(i, len) { i := add(i, 0x20) } { mstore(add(buf, i), mload(add(src, i))) }
            // Scratch may be dirty: clear everything after the data, including what the last copied word
            // brought along. The length goes into the last 16 bytes, which are clear by then.
            for { let i := len } lt(i, padded) { i := add(i, 0x20) } { mstore(add(buf, i), 0) }
            mstore8(add(buf, len), 0x80)
            let lenWord := add(buf, sub(padded, 0x20))
            mstore(lenWord, or(mload(lenWord), shl(3, len)))
            // §4.2.3 round constants K[0..79], 8 bytes each, 4 to a word. The read of K[79] runs 24 bytes
            // past the table, into W's first slot, and uses only its own 8.
            let kt := add(buf, padded)
            mstore(kt, 0x428a2f98d728ae227137449123ef65cdb5c0fbcfec4d3b2fe9b5dba58189dbbc)
            mstore(add(kt, 0x20), 0x3956c25bf348b53859f111f1b605d019923f82a4af194f9bab1c5ed5da6d8118)
            mstore(add(kt, 0x40), 0xd807aa98a303024212835b0145706fbe243185be4ee4b28c550c7dc3d5ffb4e2)
            mstore(add(kt, 0x60), 0x72be5d74f27b896f80deb1fe3b1696b19bdc06a725c71235c19bf174cf692694)
            mstore(add(kt, 0x80), 0xe49b69c19ef14ad2efbe4786384f25e30fc19dc68b8cd5b5240ca1cc77ac9c65)
            mstore(add(kt, 0xa0), 0x2de92c6f592b02754a7484aa6ea6e4835cb0a9dcbd41fbd476f988da831153b5)
            mstore(add(kt, 0xc0), 0x983e5152ee66dfaba831c66d2db43210b00327c898fb213fbf597fc7beef0ee4)
            mstore(add(kt, 0xe0), 0xc6e00bf33da88fc2d5a79147930aa72506ca6351e003826f142929670a0e6e70)
            mstore(add(kt, 0x100), 0x27b70a8546d22ffc2e1b21385c26c9264d2c6dfc5ac42aed53380d139d95b3df)
            mstore(add(kt, 0x120), 0x650a73548baf63de766a0abb3c77b2a881c2c92e47edaee692722c851482353b)
            mstore(add(kt, 0x140), 0xa2bfe8a14cf10364a81a664bbc423001c24b8b70d0f89791c76c51a30654be30)
            mstore(add(kt, 0x160), 0xd192e819d6ef5218d69906245565a910f40e35855771202a106aa07032bbd1b8)
            mstore(add(kt, 0x180), 0x19a4c116b8d2d0c81e376c085141ab532748774cdf8eeb9934b0bcb5e19b48a8)
            mstore(add(kt, 0x1a0), 0x391c0cb3c5c95a634ed8aa4ae3418acb5b9cca4f7763e373682e6ff3d6b2b8a3)
            mstore(add(kt, 0x1c0), 0x748f82ee5defb2fc78a5636f43172f6084c87814a1f0ab728cc702081a6439ec)
            mstore(add(kt, 0x1e0), 0x90befffa23631e28a4506cebde82bde9bef9a3f7b2c67915c67178f2e372532b)
            mstore(add(kt, 0x200), 0xca273eceea26619cd186b8c721c0c207eada7dd6cde0eb1ef57d4f7fee6ed178)
            mstore(add(kt, 0x220), 0x06f067aa72176fba0a637dc5a2c898a6113f9804bef90dae1b710b35131c471b)
            mstore(add(kt, 0x240), 0x28db77f523047d8432caab7b40c724933c9ebe0a15c9bebc431d67c49c100d4c)
            mstore(add(kt, 0x260), 0x4cc5d4becb3e42b6597f299cfc657e2a5fcb6fab3ad6faec6c44198c4a475817)
            let w := add(kt, 0x280)
            // §5.3.5 initial hash value H0..H7.
            let hs := add(w, 0xa00)
            mstore(hs, 0x6a09e667f3bcc908)
            mstore(add(hs, 0x20), 0xbb67ae8584caa73b)
            mstore(add(hs, 0x40), 0x3c6ef372fe94f82b)
            mstore(add(hs, 0x60), 0xa54ff53a5f1d36f1)
            mstore(add(hs, 0x80), 0x510e527fade682d1)
            mstore(add(hs, 0xa0), 0x9b05688c2b3e6c1f)
            mstore(add(hs, 0xc0), 0x1f83d9abfb41bd6b)
            mstore(add(hs, 0xe0), 0x5be0cd19137e2179)
            let end := add(buf, padded)
            for { let blk := buf } lt(blk, end) { blk := add(blk, 0x80) } {
                // §6.4.2 step 1, the message schedule: W[0..15] are the block's big-endian 64-bit words,
                // W[t] = σ1(W[t-2]) + W[t-7] + σ0(W[t-15]) + W[t-16] for t = 16..79.
                for { let t := 0 } lt(t, 16) { t := add(t, 1) } {
                    mstore(add(w, shl(5, t)), shr(192, mload(add(blk, shl(3, t)))))
                }
                for { let wt := add(w, 0x200) } lt(wt, hs) { wt := add(wt, 0x20) } {
                    let x := mload(sub(wt, 0x40))
                    let xx := or(x, shl(64, x))
                    let s1 := xor(xor(shr(19, xx), shr(61, xx)), shr(6, x))
                    x := mload(sub(wt, 0x1e0))
                    xx := or(x, shl(64, x))
                    let s0 := xor(xor(shr(1, xx), shr(8, xx)), shr(7, x))
                    x := add(add(s1, mload(sub(wt, 0xe0))), add(s0, mload(sub(wt, 0x200))))
                    mstore(wt, and(x, 0xffffffffffffffff))
                }
                compress(hs, w, kt)
            }
            high := or(
                or(shl(192, mload(hs)), shl(128, mload(add(hs, 0x20)))),
                or(shl(64, mload(add(hs, 0x40))), mload(add(hs, 0x60)))
            )
            low := or(
                or(shl(192, mload(add(hs, 0x80))), shl(128, mload(add(hs, 0xa0)))),
                or(shl(64, mload(add(hs, 0xc0))), mload(add(hs, 0xe0)))
            )
        }
    }

    /// §5.1.3: the point with this encoding (y, and x's parity in bit 255), refusing non-canonical y,
    /// y with no point on the curve, and the small-order points.
    function _decodeKey(uint256 encoded) private view returns (bool isPoint, uint256 x, uint256 y) {
        y = encoded & ((1 << 255) - 1);
        if (y >= P) return (false, 0, 0);
        // Every y below belongs to small-order points only (both signs of x), including x = 0 with the
        // sign bit set (y = 1 or p - 1), which step 4 would refuse anyway.
        if (y == 1 || y == P - 1 || y == 0 || y == Y_ORDER_8 || y == P - Y_ORDER_8) return (false, 0, 0);
        // x^2 = u / v with u = y^2 - 1, v = d y^2 + 1 (v is never 0: -1/d is not a square).
        uint256 yy = mulmod(y, y, P);
        uint256 u = addmod(yy, P - 1, P);
        uint256 v = addmod(mulmod(D, yy, P), 1, P);
        // Step 2: x = u v^3 (u v^7)^((p-5)/8), a square root of u/v or of -u/v, with one exponentiation
        // and no inversion.
        uint256 v3 = mulmod(mulmod(v, v, P), v, P);
        uint256 uv3 = mulmod(u, v3, P);
        (bool isOk, uint256 power) = _modExp(mulmod(uv3, mulmod(v3, v, P), P), (P - 5) / 8);
        if (!isOk) return (false, 0, 0);
        x = mulmod(uv3, power, P);
        // Step 3: v x^2 = u, or v x^2 = -u and x * sqrt(-1) is the root; otherwise u/v is not a square.
        uint256 vxx = mulmod(v, mulmod(x, x, P), P);
        if (vxx != u) {
            if (addmod(vxx, u, P) != 0) return (false, 0, 0);
            x = mulmod(x, SQRT_M1, P);
        }
        // Step 4: the sign bit picks x or p - x (x is not 0 here: u = 0 only for y = 1 or p - 1).
        if ((x & 1) != (encoded >> 255)) x = P - x;
        return (true, x, y);
    }

    /// [s]B + [k]A for A = (ax, ay), as projective X:Y:Z. Straus' method with 2-bit windows: one pass
    /// of 127 steps doubles twice and adds one of the 15 precomputed points [i]B + [j]A (i, j < 4), so
    /// both scalars (< L < 2^253) cost 254 doublings and at most 127 additions in all.
    function _doubleScalarMul(uint256 s, uint256 k, uint256 ax, uint256 ay)
        private
        pure
        returns (uint256 x, uint256 y, uint256 z)
    {
        assembly ("memory-safe") {
            // Points are extended coordinates (X, Y, Z, T), x = X/Z, y = Y/Z, xy = T/Z (RFC 8032 §5.1.4).
            // Each function copies P to a local once: the optimizer would otherwise rebuild the constant as
            // 2^255 - 19 (five instructions) at every use.
            //
            // Table entries are kept as (Y - X, Y + X, 2d T, 2 Z), the factors the addition formula uses.
            function cache(q, px, py, pz, pt) {
                let p := P
                mstore(q, addmod(py, sub(p, px), p))
                mstore(add(q, 0x20), addmod(py, px, p))
                mstore(add(q, 0x40), mulmod(pt, D2, p))
                mstore(add(q, 0x60), addmod(pz, pz, p))
            }
            // §5.1.4 doubling (T is not an input).
            function dbl(px, py, pz) -> x3, y3, z3, t3 {
                let p := P
                let a := mulmod(px, px, p)
                let b := mulmod(py, py, p)
                let h := addmod(a, b, p) // H = A + B
                let g := addmod(a, sub(p, b), p) // G = A - B
                a := add(px, py)
                a := addmod(h, sub(p, mulmod(a, a, p)), p) // E = H - (X + Y)^2
                b := mulmod(pz, pz, p)
                b := addmod(addmod(b, b, p), g, p) // F = 2 Z^2 + G
                x3 := mulmod(a, b, p)
                y3 := mulmod(g, h, p)
                t3 := mulmod(a, h, p)
                z3 := mulmod(b, g, p)
            }
            // §5.1.4 addition of the cached point at q; complete, so it also adds equal points and the
            // neutral point.
            function padd(px, py, pz, pt, q) -> x3, y3, z3, t3 {
                let p := P
                x3 := mulmod(addmod(py, sub(p, px), p), mload(q), p) // A = (Y1 - X1)(Y2 - X2)
                y3 := mulmod(add(py, px), mload(add(q, 0x20)), p) // B = (Y1 + X1)(Y2 + X2)
                t3 := mulmod(pt, mload(add(q, 0x40)), p) // C = T1 2d T2
                z3 := mulmod(pz, mload(add(q, 0x60)), p) // D = Z1 2 Z2
                px := addmod(y3, sub(p, x3), p) // E = B - A
                py := addmod(y3, x3, p) // H = B + A
                pz := addmod(z3, t3, p) // G = D + C
                pt := addmod(z3, sub(p, t3), p) // F = D - C
                x3 := mulmod(px, pt, p)
                y3 := mulmod(pz, py, p)
                t3 := mulmod(px, py, p)
                z3 := mulmod(pt, pz, p)
            }
            // Caches p, p + A, p + 2A, p + 3A at row, row + 128, row + 256, row + 384 (A cached at a).
            function fillRow(row, a, px, py, pz, pt) {
                cache(row, px, py, pz, pt)
                for { let j := 1 } lt(j, 4) { j := add(j, 1) } {
                    px, py, pz, pt := padd(px, py, pz, pt, a)
                    cache(add(row, shl(7, j)), px, py, pz, pt)
                }
            }
            // Entry 4i + j, at tbl + 128 (4i + j), is [i]B + [j]A; entry 0 (the neutral point) is never read.
            function buildTable(tbl, qx, qy) {
                let a := add(tbl, 0x80)
                cache(a, qx, qy, 1, mulmod(qx, qy, P))
                fillRow(tbl, a, 0, 1, 1, 0)
                // Row i starts from [i]B: B, then B + B, then 2B + B (B is cached at entry 4 by row 1).
                let px := BASE_X
                let py := BASE_Y
                let pz := 1
                let pt := mulmod(BASE_X, BASE_Y, P)
                for { let i := 1 } lt(i, 4) { i := add(i, 1) } {
                    if gt(i, 1) {
                        px, py, pz, pt := padd(px, py, pz, pt, add(tbl, 0x200))
                    }
                    fillRow(add(tbl, shl(9, i)), a, px, py, pz, pt)
                }
            }
            // From the top, per 2-bit window: R = 4R + [i]B + [j]A, with i and j the window's bits of sc
            // and kc. Starts from the neutral point (0, 1, 1, 0).
            function mulAdd(tbl, sc, kc) -> rx, ry, rz {
                rx := 0
                ry := 1
                rz := 1
                let rt := 0
                for { let sh := 254 } sh { } {
                    sh := sub(sh, 2)
                    rx, ry, rz, rt := dbl(rx, ry, rz)
                    rx, ry, rz, rt := dbl(rx, ry, rz)
                    let idx := or(shl(2, and(shr(sh, sc), 3)), and(shr(sh, kc), 3))
                    if idx {
                        rx, ry, rz, rt := padd(rx, ry, rz, rt, add(tbl, shl(7, idx)))
                    }
                }
            }
            let tbl := mload(0x40)
            buildTable(tbl, ax, ay)
            x, y, z := mulAdd(tbl, s, k)
        }
    }

    /// base^exponent mod p through the modexp precompile (EIP-198); false if the call fails.
    function _modExp(uint256 base, uint256 exponent) private view returns (bool isOk, uint256 result) {
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, 0x20)
            mstore(add(m, 0x20), 0x20)
            mstore(add(m, 0x40), 0x20)
            mstore(add(m, 0x60), base)
            mstore(add(m, 0x80), exponent)
            mstore(add(m, 0xa0), P)
            isOk := staticcall(gas(), 0x05, m, 0xc0, m, 0x20)
            // A separate statement: Yul evaluates arguments right to left, so this must follow the call.
            isOk := and(isOk, eq(returndatasize(), 0x20))
            result := mload(m)
        }
    }

    /// The integer that the 32 bytes encode little-endian (RFC 8032 encodes every integer so).
    function _fromLittleEndian(bytes32 b) private pure returns (uint256 v) {
        v = uint256(b);
        v = ((v >> 8) & 0x00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff)
            | ((v & 0x00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff) << 8);
        v = ((v >> 16) & 0x0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff)
            | ((v & 0x0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff) << 16);
        v = ((v >> 32) & 0x00000000ffffffff00000000ffffffff00000000ffffffff00000000ffffffff)
            | ((v & 0x00000000ffffffff00000000ffffffff00000000ffffffff00000000ffffffff) << 32);
        v = ((v >> 64) & 0x0000000000000000ffffffffffffffff0000000000000000ffffffffffffffff)
            | ((v & 0x0000000000000000ffffffffffffffff0000000000000000ffffffffffffffff) << 64);
        v = (v >> 128) | (v << 128);
    }
}
