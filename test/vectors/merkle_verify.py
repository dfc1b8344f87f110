#!/usr/bin/env python3
"""Independent Merkle verifier, written from docs/merkle.md only (not from consent/merkle.ts).

Reads JSON on stdin:
  {"cases": [{"recordHashes": [hex, ...],                 # optional: recompute the root
              "proofs": [{"root": hex, "recordHash": hex, "proof": [hex, ...]}, ...]}]}
Writes JSON on stdout:
  {"cases": [{"root": hex or null, "verified": [bool, ...]}]}

Encoding (docs/merkle.md):
  leaf = SHA-256(0x00 || recordHash)
  node = SHA-256(0x01 || min(a, b) || max(a, b)), a and b compared as unsigned big-endian integers
  each level pairs (0,1), (2,3), ...; an unpaired last node moves up unchanged
"""
import hashlib
import json
import sys


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def leaf_hash(record_hash: bytes) -> bytes:
    assert len(record_hash) == 32, "recordHash must be 32 bytes"
    return sha256(b"\x00" + record_hash)


def node_hash(a: bytes, b: bytes) -> bytes:
    assert len(a) == 32 and len(b) == 32, "nodes must be 32 bytes"
    # bytes comparison in Python is lexicographic, which for equal lengths is big-endian order.
    lo, hi = (a, b) if a <= b else (b, a)
    return sha256(b"\x01" + lo + hi)


def root_of(record_hashes: list[bytes]) -> bytes:
    if not record_hashes:
        raise ValueError("empty tree")
    level = [leaf_hash(h) for h in record_hashes]
    while len(level) > 1:
        nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2 == 1:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def verify(root: bytes, record_hash: bytes, proof: list[bytes]) -> bool:
    node = leaf_hash(record_hash)
    for sibling in proof:
        node = node_hash(node, sibling)
    return node == root


def main() -> None:
    request = json.load(sys.stdin)
    results = []
    for case in request["cases"]:
        hashes = case.get("recordHashes")
        root = root_of([bytes.fromhex(h) for h in hashes]).hex() if hashes is not None else None
        verified = [
            verify(bytes.fromhex(p["root"]), bytes.fromhex(p["recordHash"]), [bytes.fromhex(s) for s in p["proof"]])
            for p in case.get("proofs", [])
        ]
        results.append({"root": root, "verified": verified})
    json.dump({"cases": results}, sys.stdout)


if __name__ == "__main__":
    main()
