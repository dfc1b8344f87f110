#!/usr/bin/env python3
"""Independent status-tree verifier, written from the spec in the module comment of consent/status-tree.ts
(not from its code).

Usage: python3 test/vectors/status_verify.py [vectors.json | -]     (default: status-vectors.json beside this file;
"-" reads the document from stdin). Exits 0 when every vector holds, 1 otherwise, naming each failure on stderr.

For each tree it recomputes every leaf's key and valueHash, the root from the values, and the canonical proof of every
proof-carrying check against that root; for every check (including craftedChecks) it recomputes the verdict.

Spec:
  key(id)   = SHA-256(UTF-8 id); bit i = (key[i >> 3] >> (7 - (i & 7))) & 1, 0 = left, 1 = right
  valueHash = SHA-256(RFC 8785 JSON of the value)
  leaf      = SHA-256(0x02 || key || valueHash);  internal = SHA-256(0x03 || left || right);  empty = 32 zero bytes
  H(S, d)   = empty if |S| = 0, leaf if |S| = 1, else internal(H(S with bit d = 0, d+1), H(S with bit d = 1, d+1))
  proof     = {"siblings": [hex, ...] root level first, at most 256, "terminal": null | {"key": hex, "valueHash": hex}}
"""
import hashlib
import json
import re
import sys
from pathlib import Path

HEX64 = re.compile(r"[0-9a-f]{64}")
RECORD_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
CONSENT_TYPES = {"grant", "withdraw", "revoke", "expire", "renew", "supersede"}
DELEGATION_TYPES = {"delegate", "revoke-delegation"}
VALUE_MEMBERS = {"recordId", "kind", "lastEventSeq", "lastEventType", "lastEventHash"}
EMPTY = bytes(32)
MAX_SIBLINGS = 256


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def is_hex64(value) -> bool:
    return isinstance(value, str) and HEX64.fullmatch(value) is not None


def is_record_id(value) -> bool:
    return isinstance(value, str) and RECORD_ID.fullmatch(value) is not None


def is_value(value) -> bool:
    """The value schema (StatusLeafValue): exact members, a record id, kind matching the event type."""
    if not isinstance(value, dict) or set(value) != VALUE_MEMBERS:
        return False
    seq = value["lastEventSeq"]
    types = {"consent": CONSENT_TYPES, "delegation": DELEGATION_TYPES}.get(value["kind"])
    return (
        is_record_id(value["recordId"])
        and types is not None
        and value["lastEventType"] in types
        and isinstance(seq, int)
        and not isinstance(seq, bool)
        and 1 <= seq <= 2**53 - 1
        and is_hex64(value["lastEventHash"])
    )


def is_proof(proof) -> bool:
    if not isinstance(proof, dict) or set(proof) != {"siblings", "terminal"}:
        return False
    siblings, terminal = proof["siblings"], proof["terminal"]
    if not isinstance(siblings, list) or len(siblings) > MAX_SIBLINGS or not all(is_hex64(s) for s in siblings):
        return False
    return terminal is None or (
        isinstance(terminal, dict)
        and set(terminal) == {"key", "valueHash"}
        and is_hex64(terminal["key"])
        and is_hex64(terminal["valueHash"])
    )


def key_of(record_id: str) -> bytes:
    return sha256(record_id.encode("utf-8"))


def value_hash(value: dict) -> bytes:
    # RFC 8785 for these flat objects (ASCII member names, strings without escapes, integers below 2**53) is exactly
    # json.dumps with sorted keys, no whitespace and no \u escaping of non-ASCII; then UTF-8.
    return sha256(json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def bit(key: bytes, i: int) -> int:
    return (key[i >> 3] >> (7 - (i & 7))) & 1


def leaf(key: bytes, vhash: bytes) -> bytes:
    return sha256(b"\x02" + key + vhash)


def internal(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x03" + left + right)


def subtree(entries: list, depth: int) -> bytes:
    """H(S, depth) over entries [(key, valueHash)] that share their first `depth` bits."""
    if not entries:
        return EMPTY
    if len(entries) == 1:
        return leaf(*entries[0])
    if depth >= 256:
        raise ValueError("two leaves with one key")
    left = [e for e in entries if bit(e[0], depth) == 0]
    right = [e for e in entries if bit(e[0], depth) == 1]
    return internal(subtree(left, depth + 1), subtree(right, depth + 1))


def prove(entries: list, key: bytes) -> dict:
    """The canonical proof for `key`: siblings down its path, the terminal if it ends in another key's leaf."""
    siblings, depth = [], 0
    while len(entries) > 1:
        side = [e for e in entries if bit(e[0], depth) == bit(key, depth)]
        other = [e for e in entries if bit(e[0], depth) != bit(key, depth)]
        siblings.append(subtree(other, depth + 1).hex())
        entries, depth = side, depth + 1
    terminal = None
    if entries and entries[0][0] != key:
        terminal = {"key": entries[0][0].hex(), "valueHash": entries[0][1].hex()}
    return {"siblings": siblings, "terminal": terminal}


def fold(key: bytes, node: bytes, siblings: list) -> bytes:
    for i in range(len(siblings) - 1, -1, -1):
        sibling = bytes.fromhex(siblings[i])
        node = internal(node, sibling) if bit(key, i) == 0 else internal(sibling, node)
    return node


def verify_inclusion(root: bytes, value, proof) -> bool:
    if not is_value(value) or not is_proof(proof) or proof["terminal"] is not None:
        return False
    key = key_of(value["recordId"])
    return fold(key, leaf(key, value_hash(value)), proof["siblings"]) == root


def verify_exclusion(root: bytes, record_id, proof) -> bool:
    if not is_record_id(record_id) or not is_proof(proof):
        return False
    key, siblings, terminal = key_of(record_id), proof["siblings"], proof["terminal"]
    if terminal is None:
        return fold(key, EMPTY, siblings) == root
    other = bytes.fromhex(terminal["key"])
    if other == key or any(bit(other, i) != bit(key, i) for i in range(len(siblings))):
        return False
    return fold(key, leaf(other, bytes.fromhex(terminal["valueHash"])), siblings) == root


def verdict(check: dict) -> bool:
    root = bytes.fromhex(check["root"]) if is_hex64(check["root"]) else None
    if root is None:
        return False
    if check["claim"] == "inclusion":
        return verify_inclusion(root, check["value"], check["proof"])
    if check["claim"] == "exclusion":
        return verify_exclusion(root, check["recordId"], check["proof"])
    raise ValueError(f"unknown claim {check['claim']!r}")


def check_document(doc: dict) -> tuple:
    failures = []
    count = 0
    for tree in doc["trees"]:
        name = tree["name"]
        entries = []
        for i, item in enumerate(tree["leaves"]):
            value = item["value"]
            if not is_value(value):
                failures.append(f"{name}: leaf {i} is not a status value")
                continue
            key, vhash = key_of(value["recordId"]), value_hash(value)
            if (key.hex(), vhash.hex()) != (item["key"], item["valueHash"]):
                failures.append(f"{name}: leaf {i} key or valueHash differs")
            entries.append((key, vhash))
        if len({k for k, _ in entries}) != len(entries):
            failures.append(f"{name}: two leaves with one key")
            continue
        if tree["size"] != len(entries):
            failures.append(f"{name}: size {tree['size']} but {len(entries)} leaves")
        root = subtree(entries, 0).hex()
        if root != tree["root"]:
            failures.append(f"{name}: root {tree['root']} but the spec gives {root}")
        for j, check in enumerate(tree["checks"]):
            count += 1
            label = f"{name}: check {j} ({check['claim']}, {check['note']})"
            got = verdict(check)
            if got != check["expected"]:
                failures.append(f"{label}: expected {check['expected']}, the spec gives {got}")
            # Honest proofs must also be the ones the spec builds, not just ones that happen to verify.
            if check["expected"] and check["root"] == root:
                record_id = check["value"]["recordId"] if check["claim"] == "inclusion" else check["recordId"]
                if prove(entries, key_of(record_id)) != check["proof"]:
                    failures.append(f"{label}: proof differs from the spec's proof")
    for j, check in enumerate(doc.get("craftedChecks", [])):
        count += 1
        got = verdict(check)
        if got != check["expected"]:
            failures.append(f"crafted check {j} ({check['note']}): expected {check['expected']}, the spec gives {got}")
    if count == 0:
        failures.append("no checks")
    return failures, count


def main() -> int:
    source = sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).with_name("status-vectors.json"))
    try:
        doc = json.load(sys.stdin) if source == "-" else json.loads(Path(source).read_text(encoding="utf-8"))
        failures, count = check_document(doc)
    except (OSError, ValueError, KeyError, TypeError) as error:
        print(f"status vectors unreadable: {error!r}", file=sys.stderr)
        return 1
    for failure in failures:
        print(failure, file=sys.stderr)
    if failures:
        print(f"{len(failures)} of the status vectors fail", file=sys.stderr)
        return 1
    print(f"status vectors: {len(doc['trees'])} trees, {count} checks, all hold")
    return 0


if __name__ == "__main__":
    sys.exit(main())
