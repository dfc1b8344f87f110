#!/usr/bin/env python3
"""Independent receipt and status proof verifier, written from docs/receipts.md and docs/merkle.md only (not from
consent/receipt-verifier.ts or consent/status-proof-verifier.ts). Python 3 standard library: hashlib, json, sys.

Usage: python3 test/vectors/receipt_verify.py [vectors.json | -]    (default: receipt-vectors.json beside this file;
"-" reads the document from stdin). Prints one line per vector; exits 0 when every vector's verdict (ok, the failed
checks in order, and for status proofs the status, block and freshness) and every intermediate value equal the
file's, 1 otherwise.

What it implements, section by section of docs/receipts.md:
  JCS(x)       RFC 8785. For values made of objects with ASCII member names, arrays, strings, integers below 2**53,
               booleans and null, RFC 8785 is exactly json.dumps(x, sort_keys=True, separators=(",", ":"),
               ensure_ascii=False) as UTF-8: members sorted by code point (= UTF-16 order for ASCII), no whitespace,
               ECMAScript string escapes (Python writes the same \\" \\\\ \\b \\f \\n \\r \\t and \\u00xx), integers
               in decimal. Floats are NOT handled (ECMAScript number formatting differs from repr); check_plain()
               asserts the whole document holds none.
  H(x)         SHA-256(JCS(x)).
  Ed25519      RFC 8032 §5.1: point decoding (§5.1.3), the group equation of §5.1.7, S < L required.
  §1           gateway id bytes32 = ASCII party id, zero-padded to 32 bytes; key id = SHA-256(key)[0:8] in hex.
  §2           receipt signed bytes = "sealgate/receipt/v2" || 0x00 || H(receipt without signature);
               status proof signed bytes = "sealgate/status-proof/v1" || 0x00 || H(proof without signature).
  §3           event hash = H(event without hash and signature); audit entry hash = H(entry without hash);
               leaf = SHA-256(0x00 || hash) and the sorted-pair Merkle path of docs/merkle.md.
  §4           status key = SHA-256(UTF-8 recordId), leaf = SHA-256(0x02 || key || H(value)),
               internal = SHA-256(0x03 || left || right), folded from the last sibling to the first.
  §5           the chain view ("chain" in the vectors): getAnchor, the root's Anchored event (its transaction, and
               prevRoot and stateRoot, which only the event carries: §5.1), block headers,
               GatewayRegistry get/keyHistory/accountHistory, lastRootOf, in their ABI form.
  §6, §7       every check, in the order listed there.

Where docs/receipts.md leaves a choice open, this file follows the reading noted at the spot ("DOC:"); each is
reported so the page can say it.
"""
import hashlib
import json
import sys

# ---------------------------------------------------------------------------------------------------------------
# Plain JSON, RFC 8785 and SHA-256

MAX_SAFE_INTEGER = 2**53 - 1


def check_plain(value, where="$"):
    """Asserts that `value` is JSON RFC 8785 writes the way json.dumps does: no floats, no big integers, ASCII
    member names, strings that are valid Unicode."""
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, float):
        raise ValueError(f"{where}: a float; this verifier's JCS handles integers only")
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise ValueError(f"{where}: an integer beyond 2**53")
        return
    if isinstance(value, str):
        value.encode("utf-8")  # raises on a lone surrogate
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            check_plain(item, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not key.isascii():
                raise ValueError(f"{where}: a non-ASCII member name (UTF-16 order would need care)")
            check_plain(item, f"{where}.{key}")
        return
    raise ValueError(f"{where}: not JSON")


def jcs(value) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def H(value) -> bytes:
    return sha256(jcs(value))


def without(obj: dict, *names) -> dict:
    return {k: v for k, v in obj.items() if k not in names}


# ---------------------------------------------------------------------------------------------------------------
# Ed25519, RFC 8032 §5.1 (pure Ed25519: no context, no pre-hash)

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def _inv(x: int) -> int:
    return pow(x, P - 2, P)


def _add(p1, p2):
    """§5.1.4 addition in extended coordinates (X, Y, Z, T), x = X/Z, y = Y/Z, x*y = T/Z; also valid for doubling."""
    x1, y1, z1, t1 = p1
    x2, y2, z2, t2 = p2
    a = (y1 - x1) * (y2 - x2) % P
    b = (y1 + x1) * (y2 + x2) % P
    c = 2 * t1 * t2 * D % P
    d = 2 * z1 * z2 % P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % P, g * h % P, f * g % P, e * h % P)


IDENTITY = (0, 1, 1, 0)


def _mul(s: int, point):
    result = IDENTITY
    while s > 0:
        if s & 1:
            result = _add(result, point)
        point = _add(point, point)
        s >>= 1
    return result


def _equal(p1, p2) -> bool:
    x1, y1, z1, _ = p1
    x2, y2, z2, _ = p2
    return (x1 * z2 - x2 * z1) % P == 0 and (y1 * z2 - y2 * z1) % P == 0


def _decode_point(s: bytes):
    """§5.1.3. None when the 32 bytes are not a point."""
    if len(s) != 32:
        return None
    y = int.from_bytes(s, "little")
    x_0 = y >> 255
    y &= (1 << 255) - 1
    if y >= P:
        return None
    u = (y * y - 1) % P
    v = (D * y * y + 1) % P
    x = u * pow(v, 3, P) * pow(u * pow(v, 7, P), (P - 5) // 8, P) % P
    if (v * x * x - u) % P != 0:
        if (v * x * x + u) % P != 0:
            return None
        x = x * SQRT_M1 % P
    if x == 0 and x_0 == 1:
        return None
    if x % 2 != x_0:
        x = P - x
    return (x, y, 1, x * y % P)


def _encode_point(point) -> bytes:
    """§5.1.2."""
    x, y, z, _ = point
    zi = _inv(z)
    x, y = x * zi % P, y * zi % P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


_BY = 4 * _inv(5) % P
BASE = _decode_point(_BY.to_bytes(32, "little"))  # §5.1: B = (x, 4/5) with x positive (even)


def public_key_of(seed: bytes) -> bytes:
    """§5.1.5: the public key of a 32-byte private key."""
    h = hashlib.sha512(seed).digest()
    s = int.from_bytes(h[:32], "little")
    s &= (1 << 254) - 8
    s |= 1 << 254
    return _encode_point(_mul(s, BASE))


_verified = {}


def ed25519_verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """§5.1.7: decode A and R, reject S >= L, k = SHA-512(R || A || M), check [8][S]B = [8]R + [8][k]A."""
    memo = (public_key, message, signature)
    if memo in _verified:
        return _verified[memo]
    ok = False
    if len(public_key) == 32 and len(signature) == 64:
        a = _decode_point(public_key)
        r = _decode_point(signature[:32])
        s = int.from_bytes(signature[32:], "little")
        if a is not None and r is not None and s < L:
            k = int.from_bytes(hashlib.sha512(signature[:32] + public_key + message).digest(), "little")
            left = _mul(8, _mul(s, BASE))
            right = _add(_mul(8, r), _mul(8, _mul(k, a)))
            ok = _equal(left, right)
    _verified[memo] = ok
    return ok


# ---------------------------------------------------------------------------------------------------------------
# Value shapes

HEX = set("0123456789abcdef")
CONSENT_TYPES = {"grant", "withdraw", "revoke", "expire", "renew", "supersede"}
DELEGATION_TYPES = {"delegate", "revoke-delegation"}
EVENT_MEMBERS = {"seq", "eventId", "kind", "type", "subjectOrPartner", "recordId", "at", "actor", "payload",
                 "prevHash", "keyId", "hash", "signature"}
ENTRY_MEMBERS = {"seq", "entryId", "at", "kind", "actor", "action", "outcome", "refs", "detail", "prevHash", "hash"}
GATEWAY_MEMBERS = {"partyId", "keyId", "publicKey", "evmAccount"}
RECEIPT_ANCHOR_MEMBERS = {"chainId", "contract", "root", "proof", "txHash", "blockNumber", "blockTime", "batchNo",
                          "keyId", "stateRoot"}
STATUS_ANCHOR_MEMBERS = {"chainId", "contract", "root", "stateRoot", "keyId", "txHash", "blockNumber", "blockTime",
                         "batchNo"}
VALUE_MEMBERS = {"kind", "lastEventHash", "lastEventSeq", "lastEventType", "recordId"}
MAX_CLOCK_SKEW_SECONDS = 300


def is_hex(value, digits: int) -> bool:
    """`digits` lower-case hex digits, no prefix ("hex is always lower case")."""
    return isinstance(value, str) and len(value) == digits and set(value) <= HEX


def is_0x_hex(value, digits: int) -> bool:
    # DOC: the page never says which members carry "0x". The chain-side bytes32 values (root, proof, txHash,
    # stateRoot) do; record.hash, keys, key ids and signatures do not (§6 writes "0x ‖ record.hash").
    return isinstance(value, str) and value.startswith("0x") and is_hex(value[2:], digits)


def is_address(value) -> bool:
    # DOC: addresses are EIP-55 mixed case in anchor.contract, against "hex is always lower case".
    return isinstance(value, str) and value.startswith("0x") and len(value) == 42 and set(value[2:].lower()) <= HEX


def is_int(value, minimum: int = 0) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and minimum <= value <= MAX_SAFE_INTEGER


def is_party_id(value) -> bool:
    """§1: 2-31 characters of a-z, 0-9 and -, starting with a letter or digit."""
    allowed = set("abcdefghijklmnopqrstuvwxyz0123456789-")
    return isinstance(value, str) and 2 <= len(value) <= 31 and set(value) <= allowed and value[0] != "-"


def is_uuid(value) -> bool:
    """§3.1: a lower-case UUID."""
    if not isinstance(value, str) or len(value) != 36:
        return False
    parts = value.split("-")
    return [len(p) for p in parts] == [8, 4, 4, 4, 12] and all(set(p) <= HEX for p in parts)


def epoch_ms(stamp):
    """§3.1: YYYY-MM-DDTHH:MM:SS.mmmZ as milliseconds since 1970 (proleptic Gregorian, UTC); None if malformed."""
    if not isinstance(stamp, str) or len(stamp) != 24:
        return None
    if [stamp[i] for i in (4, 7, 10, 13, 16, 19, 23)] != ["-", "-", "T", ":", ":", ".", "Z"]:
        return None
    fields = [stamp[0:4], stamp[5:7], stamp[8:10], stamp[11:13], stamp[14:16], stamp[17:19], stamp[20:23]]
    if not all(f.isascii() and f.isdigit() for f in fields):
        return None
    year, month, day, hour, minute, second, milli = (int(f) for f in fields)
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 60):
        return None
    # days from civil (H. Hinnant's algorithm)
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days = era * 146097 + doe - 719468
    return ((days * 24 + hour) * 60 + minute) * 60000 + second * 1000 + milli


def is_event(event) -> bool:
    """§3.1: exactly the listed members, the kinds and types listed there, hex digests, a 128-hex signature."""
    if not isinstance(event, dict) or set(event) != EVENT_MEMBERS:
        return False
    types = {"consent": CONSENT_TYPES, "delegation": DELEGATION_TYPES}.get(event["kind"])
    return (
        is_int(event["seq"], 1)
        and is_uuid(event["eventId"])
        and types is not None
        and event["type"] in types
        and isinstance(event["subjectOrPartner"], str)
        and is_uuid(event["recordId"])
        and epoch_ms(event["at"]) is not None
        and isinstance(event["actor"], str)
        and is_hex(event["prevHash"], 64)
        and is_hex(event["keyId"], 16)
        and is_hex(event["hash"], 64)
        and is_hex(event["signature"], 128)
    )


def is_entry(entry) -> bool:
    """§3.2: exactly the listed members."""
    # DOC: §3.2 gives the members of an audit entry but not their types; these are the evident ones.
    return (
        isinstance(entry, dict)
        and set(entry) == ENTRY_MEMBERS
        and is_int(entry["seq"], 1)
        and isinstance(entry["entryId"], str)
        and epoch_ms(entry["at"]) is not None
        and isinstance(entry["kind"], str)
        and isinstance(entry["refs"], list)
        and is_hex(entry["prevHash"], 64)
        and is_hex(entry["hash"], 64)
    )


def is_gateway(gateway) -> bool:
    return (
        isinstance(gateway, dict)
        and set(gateway) == GATEWAY_MEMBERS
        and is_party_id(gateway["partyId"])
        and is_hex(gateway["keyId"], 16)
        and is_hex(gateway["publicKey"], 64)
        and is_address(gateway["evmAccount"])
    )


def is_anchor(anchor, members) -> bool:
    # DOC: batchNo is never defined; taken as a positive integer (the gateway's batch number).
    return (
        isinstance(anchor, dict)
        and set(anchor) == members
        and is_int(anchor["chainId"], 1)
        and is_address(anchor["contract"])
        and is_0x_hex(anchor["root"], 64)
        and is_0x_hex(anchor["txHash"], 64)
        and is_int(anchor["blockNumber"])
        and is_int(anchor["blockTime"])
        and is_int(anchor["batchNo"], 1)
        and is_hex(anchor["keyId"], 16)
        and is_0x_hex(anchor["stateRoot"], 64)
        and ("proof" not in members or (isinstance(anchor["proof"], list)
                                         and all(is_0x_hex(p, 64) for p in anchor["proof"])))
    )


def is_receipt(receipt) -> bool:
    """§6 receipt-format: exactly the shape, version 2, `anchor` only when anchored."""
    if not isinstance(receipt, dict) or receipt.get("version") != 2 or isinstance(receipt.get("version"), bool):
        return False
    anchored = receipt.get("status") == "anchored"
    members = {"version", "gateway", "record", "issuedAt", "status", "signature"} | ({"anchor"} if anchored else set())
    if set(receipt) != members or receipt["status"] not in ("pending", "anchored"):
        return False
    record = receipt["record"]
    if not isinstance(record, dict):
        return False
    if record.get("chain") == "events":
        shape = set(record) == {"chain", "seq", "hash", "event", "eventKey"} and is_event(record["event"]) and is_hex(
            record["eventKey"], 64)
    elif record.get("chain") == "audit":
        shape = set(record) == {"chain", "seq", "hash", "entry"} and is_entry(record["entry"])
    else:
        return False
    # DOC: issuedAt is only "…Z"; read as the §3.1 timestamp format.
    return (
        shape
        and is_int(record["seq"], 1)
        and is_hex(record["hash"], 64)
        and is_gateway(receipt["gateway"])
        and epoch_ms(receipt["issuedAt"]) is not None
        and is_hex(receipt["signature"], 128)
        and (not anchored or is_anchor(receipt["anchor"], RECEIPT_ANCHOR_MEMBERS))
    )


def is_status_proof(doc) -> bool:
    """§7 proof-format."""
    members = {"version", "gateway", "recordId", "value", "event", "eventKey", "proof", "anchor", "issuedAt",
               "signature"}
    if not isinstance(doc, dict) or set(doc) != members or doc["version"] != 1 or isinstance(doc["version"], bool):
        return False
    value, proof = doc["value"], doc["proof"]
    value_ok = (
        isinstance(value, dict)
        and set(value) == VALUE_MEMBERS
        and value["kind"] in ("consent", "delegation")
        and is_hex(value["lastEventHash"], 64)
        and is_int(value["lastEventSeq"], 1)
        and value["lastEventType"] in (CONSENT_TYPES if value["kind"] == "consent" else DELEGATION_TYPES)
        and is_uuid(value["recordId"])
    )
    proof_ok = (
        isinstance(proof, dict)
        and set(proof) == {"siblings", "terminal"}
        and isinstance(proof["siblings"], list)
        and len(proof["siblings"]) <= 256
        and all(is_hex(s, 64) for s in proof["siblings"])
    )
    return (
        value_ok
        and proof_ok
        and is_gateway(doc["gateway"])
        and is_uuid(doc["recordId"])
        and is_event(doc["event"])
        and is_hex(doc["eventKey"], 64)
        and is_anchor(doc["anchor"], STATUS_ANCHOR_MEMBERS)
        and epoch_ms(doc["issuedAt"]) is not None
        and is_hex(doc["signature"], 128)
    )


# ---------------------------------------------------------------------------------------------------------------
# Identities, hashes and paths (§1-§4, docs/merkle.md)

def raw(hex_value: str) -> bytes:
    """A value's raw bytes: its hex decoded (after an 0x, where the member has one)."""
    return bytes.fromhex(hex_value[2:] if hex_value.startswith("0x") else hex_value)


def gateway_id_bytes32(party_id: str) -> bytes:
    """§1: the ASCII bytes right-padded with zero bytes to 32."""
    data = party_id.encode("ascii")
    if len(data) > 31:
        raise ValueError("a party id has at most 31 characters")
    return data + bytes(32 - len(data))


def key_id(public_key: bytes) -> str:
    """§1: the first 16 hex digits of SHA-256(public key)."""
    return sha256(public_key).hex()[:16]


def merkle_leaf(record_hash: bytes) -> bytes:
    return sha256(b"\x00" + record_hash)


def merkle_inner(a: bytes, b: bytes) -> bytes:
    lo, hi = (a, b) if a <= b else (b, a)
    return sha256(b"\x01" + lo + hi)


def merkle_path(record_hash: bytes, proof: list) -> list:
    """Every node of the fold, leaf excluded; the last is the root the proof leads to."""
    node, nodes = merkle_leaf(record_hash), []
    for sibling in proof:
        node = merkle_inner(node, raw(sibling))
        nodes.append(node)
    return nodes


def merkle_root_of(record_hash: bytes, proof: list) -> bytes:
    nodes = merkle_path(record_hash, proof)
    return nodes[-1] if nodes else merkle_leaf(record_hash)


def status_key(record_id: str) -> bytes:
    return sha256(record_id.encode("utf-8"))


def key_bit(key: bytes, i: int) -> int:
    return (key[i >> 3] >> (7 - (i & 7))) & 1


def status_leaf(key: bytes, value_hash: bytes) -> bytes:
    return sha256(b"\x02" + key + value_hash)


def status_path(value: dict, siblings: list) -> list:
    """§4: node = leaf(key, H(value)); for i from the last sibling to the first, fold by bit i of the key."""
    key = status_key(value["recordId"])
    node, nodes = status_leaf(key, H(value)), []
    for i in range(len(siblings) - 1, -1, -1):
        sibling = raw(siblings[i])
        node = sha256(b"\x03" + node + sibling) if key_bit(key, i) == 0 else sha256(b"\x03" + sibling + node)
        nodes.append(node)
    return nodes


RECEIPT_CONTEXT = b"sealgate/receipt/v2\x00"
STATUS_PROOF_CONTEXT = b"sealgate/status-proof/v1\x00"


def receipt_signed_bytes(receipt: dict) -> bytes:
    return RECEIPT_CONTEXT + H(without(receipt, "signature"))


def status_proof_signed_bytes(doc: dict) -> bytes:
    return STATUS_PROOF_CONTEXT + H(without(doc, "signature"))


# ---------------------------------------------------------------------------------------------------------------
# The chain view (§5)

class Chain:
    """Answers the §5 reads from the recorded view."""

    def __init__(self, view: dict):
        self.view = view
        self.anchors = {a["root"].lower(): a for a in view["anchors"]}
        self.headers = {b["number"]: b for b in view["blocks"]}
        self.gateways = {g["gatewayId"].lower(): g for g in view["registry"]}
        self.last_roots = {r["gatewayId"].lower(): r["root"].lower() for r in view["lastRoots"]}

    def get_anchor(self, root: str):
        return self.anchors.get(root.lower())

    def anchored_event(self, root: str):
        """§5.1: the Anchored event of `root` (txHash, prevRoot, stateRoot); None when there is none."""
        stored = self.get_anchor(root)
        return None if stored is None else stored.get("event")

    def gateway(self, party_id: str):
        """GatewayRegistry.get: None for status 0 (never registered)."""
        entry = self.gateways.get("0x" + gateway_id_bytes32(party_id).hex())
        return None if entry is None or entry["status"] == 0 else entry

    def last_root_of(self, party_id: str) -> str:
        return self.last_roots.get("0x" + gateway_id_bytes32(party_id).hex(), "0x" + "00" * 32)

    def verify_inclusion(self, root: str, record_hash: bytes, proof: list) -> bool:
        """ConsentAnchor.verifyInclusion: true only if the root was anchored and the proof verifies (merkle.md)."""
        return self.get_anchor(root) is not None and merkle_root_of(record_hash, proof) == raw(root)


def in_period(period: dict, block: int) -> bool:
    """§5.2: blocks fromBlock..untilBlock inclusive; untilBlock 0 means still current."""
    return period["fromBlock"] <= block and (period["untilBlock"] == 0 or block <= period["untilBlock"])


def check_block_time(chain: Chain, stored: dict, claimed: dict) -> bool:
    """§6 block-time: the stored blockNumber and blockTime equal the claimed ones, and the header agrees."""
    if stored["blockNumber"] != claimed["blockNumber"] or stored["blockTime"] != claimed["blockTime"]:
        return False
    header = chain.headers.get(stored["blockNumber"])
    return header is not None and header["timestamp"] == stored["blockTime"]


def check_identity(chain: Chain, stored: dict, gateway: dict, event_key) -> list:
    """§6 anchoring-account, anchoring-key, revocation: [(name, ok)] x 3."""
    names = ["anchoring-account", "anchoring-key", "revocation"]
    party_id = gateway["partyId"]
    entry = chain.gateway(party_id)
    # DOC: §6 attributes the anchor to gateway.partyId in anchoring-account only; when the stored gatewayId is another
    # gateway's (or the party id is not registered) the key and revocation checks have no history to read. Here, as in
    # the TS verifier, all three then fail.
    if raw(stored["gatewayId"]) != gateway_id_bytes32(party_id) or entry is None:
        return [(name, False) for name in names]
    block = stored["blockNumber"]
    account_ok = any(a["account"].lower() == stored["anchoredBy"].lower() and in_period(a, block)
                     for a in entry["accounts"])
    keys = [raw(k["publicKey"]) for k in entry["keys"]]
    anchor_key_id = raw(stored["keyId"]).hex()
    anchor_index = next((i for i, k in enumerate(entry["keys"])
                         if key_id(keys[i]) == anchor_key_id and in_period(k, block)), None)
    statement_index = next((i for i, k in enumerate(keys) if k == raw(gateway["publicKey"])), None)
    key_ok = (
        anchor_index is not None
        and (event_key is None or raw(event_key) == keys[anchor_index])
        and statement_index is not None
        and statement_index >= anchor_index  # "that key or a later one": later in keyHistory, oldest first
    )
    revoked = entry["status"] == 2 and entry["revokedAtBlock"] != 0
    revocation_ok = not revoked or block < entry["revokedAtBlock"]
    return [("anchoring-account", account_ok), ("anchoring-key", key_ok), ("revocation", revocation_ok)]


# ---------------------------------------------------------------------------------------------------------------
# §6 receipts

def event_intact(event: dict, event_key: str) -> bool:
    """§3.1: hash = H(event without hash and signature), keyId names event_key, signature over the hash's bytes."""
    key = raw(event_key)
    return (
        H(without(event, "hash", "signature")).hex() == event["hash"]
        and key_id(key) == event["keyId"]
        and ed25519_verify(key, raw(event["hash"]), raw(event["signature"]))
    )


def verify_receipt(receipt, chain: Chain) -> list:
    """Every check of §6 in order, as [(name, ok)]."""
    # DOC: the page lists the checks but not what is reported after one fails. Read as: a malformed receipt stops at
    # receipt-format; a pending one stops at not-anchored; with no anchor stored for the root, every check that reads
    # the stored anchor fails too; everything else runs on.
    if not is_receipt(receipt):
        return [("receipt-format", False)]
    checks = [("receipt-format", True)]
    gateway, record = receipt["gateway"], receipt["record"]
    public_key = raw(gateway["publicKey"])
    checks.append(("receipt-signature", key_id(public_key) == gateway["keyId"]
                   and ed25519_verify(public_key, receipt_signed_bytes(receipt), raw(receipt["signature"]))))
    if record["chain"] == "events":
        event = record["event"]
        record_ok = (event["hash"] == record["hash"] and event["seq"] == record["seq"]
                     and event_intact(event, record["eventKey"]))
        at = event["at"]
    else:
        entry = record["entry"]
        # DOC: "for an audit entry, hash = H(entry without hash)": read with the event's "equals record.hash, seqs
        # agree" applying to the entry too.
        record_ok = (H(without(entry, "hash")).hex() == entry["hash"] and entry["hash"] == record["hash"]
                     and entry["seq"] == record["seq"])
        at = entry["at"]
    checks.append(("record-hash", record_ok))
    if receipt["status"] != "anchored":
        checks.append(("not-anchored", False))
        return checks
    anchor = receipt["anchor"]
    record_hash = raw(record["hash"])
    checks.append(("merkle-path", merkle_root_of(record_hash, anchor["proof"]) == raw(anchor["root"])))
    stored = chain.get_anchor(anchor["root"])
    if stored is None:
        checks.append(("on-chain-root", False))
        checks += [(name, False) for name in
                   ("block-time", "record-time", "anchoring-account", "anchoring-key", "revocation")]
    else:
        # §6: the Anchored event for root exists, has transaction hash txHash and the receipt's stateRoot (the status
        # root is only in the event, §5.1); the stored keyId equals the receipt's.
        logged = chain.anchored_event(anchor["root"])
        checks.append(("on-chain-root", logged is not None
                       and logged["txHash"].lower() == anchor["txHash"].lower()
                       and logged["stateRoot"].lower() == anchor["stateRoot"]
                       and raw(stored["keyId"]).hex() == anchor["keyId"]))
        checks.append(("block-time", check_block_time(chain, stored, anchor)))
        # DOC: "at most 300 seconds after blockTime": the stored blockTime, compared to the millisecond.
        checks.append(("record-time", epoch_ms(at) - stored["blockTime"] * 1000 <= MAX_CLOCK_SKEW_SECONDS * 1000))
        checks += check_identity(chain, stored, gateway, record.get("eventKey"))
    checks.append(("on-chain-inclusion", chain.verify_inclusion(anchor["root"], record_hash, anchor["proof"])))
    return checks


# ---------------------------------------------------------------------------------------------------------------
# §7 status proofs

def status_of(event: dict, block_time: int) -> str:
    kind = event["type"]
    if kind == "withdraw":
        return "withdrawn"
    if kind in ("revoke", "revoke-delegation"):
        return "revoked"
    if kind == "supersede":
        return "superseded"
    if kind == "expire":
        return "expired"
    # grant, renew, delegate: expired when payload.expiresAt is at or before the block's time.
    # DOC: the format of payload.expiresAt is not given; read as the §3.1 timestamp, compared to the millisecond.
    payload = event["payload"]
    expires = epoch_ms(payload.get("expiresAt")) if isinstance(payload, dict) else None
    return "expired" if expires is not None and expires <= block_time * 1000 else "in-force"


def verify_status_proof(doc, chain: Chain):
    """Every check of §7 in order, as ([(name, ok)], verdict or None)."""
    if not is_status_proof(doc):
        return [("proof-format", False)], None
    checks = [("proof-format", True)]
    gateway, value, event, anchor = doc["gateway"], doc["value"], doc["event"], doc["anchor"]
    public_key = raw(gateway["publicKey"])
    # DOC: proof-signature says only "(§2)"; the key id rule of receipt-signature is applied too.
    checks.append(("proof-signature", key_id(public_key) == gateway["keyId"]
                   and ed25519_verify(public_key, status_proof_signed_bytes(doc), raw(doc["signature"]))))
    names_event = (
        value["recordId"] == doc["recordId"]
        and event["recordId"] == doc["recordId"]
        and event["seq"] == value["lastEventSeq"]
        and event["type"] == value["lastEventType"]
        and event["kind"] == value["kind"]
        and event["hash"] == value["lastEventHash"]
    )
    checks.append(("last-event", names_event and event_intact(event, doc["eventKey"])))
    nodes = status_path(value, doc["proof"]["siblings"])
    top = nodes[-1] if nodes else status_leaf(status_key(value["recordId"]), H(value))
    checks.append(("status-path", doc["proof"]["terminal"] is None and top == raw(anchor["stateRoot"])))
    stored = chain.get_anchor(anchor["root"])
    chain_checks = ["block-time", "anchoring-account", "anchoring-key", "revocation", "freshness"]
    # §7: the Anchored event for root has transaction hash txHash and the proof's stateRoot (only the event carries
    # it, §5.1); the stored keyId equals the proof's.
    logged = None if stored is None else chain.anchored_event(anchor["root"])
    on_chain = (logged is not None
                and logged["txHash"].lower() == anchor["txHash"].lower()
                and logged["stateRoot"].lower() == anchor["stateRoot"]
                and raw(stored["keyId"]).hex() == anchor["keyId"])
    checks.append(("on-chain-root", on_chain))
    # §7: when on-chain-root fails, every later check fails as "not checked" (§6 runs the later checks on against
    # the stored anchor; §7 does not).
    if not on_chain:
        return checks + [(name, False) for name in chain_checks], None
    checks.append(("block-time", check_block_time(chain, stored, anchor)))
    checks += check_identity(chain, stored, gateway, doc["eventKey"])
    latest = chain.last_root_of(gateway["partyId"])
    # freshness reports, it does not fail: an older batch still verifies (§7).
    checks.append(("freshness", True))
    if not all(ok for _, ok in checks):
        return checks, None
    verdict = {
        "status": status_of(event, stored["blockTime"]),
        "asOfBlock": stored["blockNumber"],
        "isLatest": latest == anchor["root"].lower(),
    }
    return checks, verdict


# ---------------------------------------------------------------------------------------------------------------
# Intermediate values

def receipt_intermediate(receipt: dict) -> dict:
    record = receipt["record"]
    body = without(record["event"], "hash", "signature") if record["chain"] == "events" else without(
        record["entry"], "hash")
    record_hash = H(body)
    out = {
        "gatewayIdBytes32": "0x" + gateway_id_bytes32(receipt["gateway"]["partyId"]).hex(),
        "keyId": key_id_derivation(receipt["gateway"]["publicKey"]),
        "recordJcs": jcs(body).decode("utf-8"),
        "recordHash": record_hash.hex(),
        "leaf": merkle_leaf(record_hash).hex(),
        "merklePath": [n.hex() for n in merkle_path(record_hash, receipt["anchor"]["proof"])],
        "receiptJcs": jcs(without(receipt, "signature")).decode("utf-8"),
        "receiptDigest": H(without(receipt, "signature")).hex(),
        "signedBytes": receipt_signed_bytes(receipt).hex(),
    }
    if record["chain"] == "events":
        out["eventKeyId"] = key_id_derivation(record["eventKey"])
    return out


def status_intermediate(doc: dict) -> dict:
    event_body = without(doc["event"], "hash", "signature")
    key = status_key(doc["value"]["recordId"])
    return {
        "gatewayIdBytes32": "0x" + gateway_id_bytes32(doc["gateway"]["partyId"]).hex(),
        "keyId": key_id_derivation(doc["gateway"]["publicKey"]),
        "eventKeyId": key_id_derivation(doc["eventKey"]),
        "eventJcs": jcs(event_body).decode("utf-8"),
        "eventHash": H(event_body).hex(),
        "valueJcs": jcs(doc["value"]).decode("utf-8"),
        "key": key.hex(),
        "valueHash": H(doc["value"]).hex(),
        "leaf": status_leaf(key, H(doc["value"])).hex(),
        "statusPath": [n.hex() for n in status_path(doc["value"], doc["proof"]["siblings"])],
        "proofJcs": jcs(without(doc, "signature")).decode("utf-8"),
        "proofDigest": H(without(doc, "signature")).hex(),
        "signedBytes": status_proof_signed_bytes(doc).hex(),
    }


def key_id_derivation(public_key: str) -> dict:
    return {"publicKey": public_key, "sha256": sha256(raw(public_key)).hex(), "keyId": key_id(raw(public_key))}


def differing(computed: dict, recorded: dict) -> list:
    """One line per intermediate value the vector records differently from the spec's."""
    return [f"intermediate {k} differs" for k in sorted(set(computed) | set(recorded))
            if computed.get(k) != recorded.get(k)]


# ---------------------------------------------------------------------------------------------------------------

def verdict_of(checks: list, extra=None) -> dict:
    failed = [name for name, ok in checks if not ok]
    out = {"ok": not failed, "firstFailure": failed[0] if failed else None, "failed": failed}
    if extra is not None:
        out.update(extra)
    return out


def check_view(view: dict) -> list:
    """The recorded view's derived key ids, and a header for every anchor block."""
    problems = []
    for entry in view["registry"]:
        for k in entry["keys"]:
            if k["keyId"].lower() != "0x" + key_id(raw(k["publicKey"])):
                problems.append(f"key {k['publicKey']}: keyId {k['keyId']} is not SHA-256(key)[0:8]")
    headers = {b["number"] for b in view["blocks"]}
    for a in view["anchors"]:
        if a["blockNumber"] not in headers:
            problems.append(f"anchor {a['root']}: no header for block {a['blockNumber']}")
    return problems


def run(doc: dict) -> tuple:
    check_plain(doc)
    lines, failures = [], 0

    def report(label: str, problems: list) -> None:
        nonlocal failures
        if problems:
            failures += 1
            lines.append(f"FAIL {label}: " + "; ".join(problems))
        else:
            lines.append(f"ok   {label}")

    keys = doc["keys"]
    report("keys: public keys from the seeds (RFC 8032 §5.1.5)", [
        f"{name} public key differs" for name, seed, public in (
            ("gateway", keys["gatewaySeed"], keys["gatewayPublicKey"]),
            ("rogue", keys["rogueSeed"], keys["roguePublicKey"]),
        ) if public_key_of(raw(seed)).hex() != public
    ])
    main_view = doc["chain"]
    report("chain view", check_view(main_view))
    main_chain = Chain(main_view)

    def expect(label: str, got: dict, expected: dict, problems: list) -> None:
        problems = list(problems)
        if got != expected:
            problems.append(f"expected {json.dumps(expected)}, got {json.dumps(got)}")
        report(f"{label}: {'valid' if got['ok'] else 'fails ' + ','.join(got['failed'])}", problems)

    if not doc["receipts"] or not doc["statusProofs"] or not doc["tampered"]:
        report("vector counts", ["a section is empty"])
    for v in doc["receipts"]:
        got = verdict_of(verify_receipt(v["receipt"], main_chain))
        expect(f"receipts/{v['name']}", got, v["expected"],
               differing(receipt_intermediate(v["receipt"]), v["intermediate"]))
    for v in doc["statusProofs"]:
        checks, verdict = verify_status_proof(v["statusProof"], main_chain)
        got = verdict_of(checks, verdict or {"status": None, "asOfBlock": None, "isLatest": None})
        expect(f"statusProofs/{v['name']}", got, v["expected"],
               differing(status_intermediate(v["statusProof"]), v["intermediate"]))
    for v in doc["tampered"]:
        view = v.get("chain", main_view)
        chain = main_chain if view is main_view else Chain(view)
        label = f"tampered/{v['name']}"
        if v["kind"] == "receipt":
            got = verdict_of(verify_receipt(v["receipt"], chain))
        elif v["kind"] == "status-proof":
            checks, verdict = verify_status_proof(v["statusProof"], chain)
            got = verdict_of(checks, verdict or {"status": None, "asOfBlock": None, "isLatest": None})
        else:
            raise ValueError(f"{label}: unknown kind {v['kind']!r}")
        expect(label, got, v["expected"], check_view(view) if view is not main_view else [])
    return lines, failures


def main() -> int:
    if len(sys.argv) > 1:
        source = sys.argv[1]
    else:
        here = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
        source = here + "/receipt-vectors.json"
    try:
        if source == "-":
            doc = json.load(sys.stdin)
        else:
            with open(source, encoding="utf-8") as f:
                doc = json.load(f)
        lines, failures = run(doc)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError) as error:
        print(f"receipt vectors unreadable: {error!r}", file=sys.stderr)
        return 1
    for line in lines:
        print(line)
    total = len(lines)
    if failures:
        print(f"{failures} of {total} receipt vector lines fail", file=sys.stderr)
        return 1
    print(f"receipt vectors: {len(doc['receipts'])} receipts, {len(doc['statusProofs'])} status proofs, "
          f"{len(doc['tampered'])} tampered, all hold")
    return 0


if __name__ == "__main__":
    sys.exit(main())
