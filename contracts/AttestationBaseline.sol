// SPDX-License-Identifier: Apache-2.0
// Baseline for gas comparison: one Ethereum Attestation Service (EAS) style attestation stored per
// record, the struct and uid derivation modelled on EAS's Common.sol / EAS.sol. Not used by the
// gateway at runtime; the benchmark compares it with ConsentAnchor's one-root-per-batch design.
pragma solidity 0.8.37;

contract AttestationBaseline {
    struct Attestation {
        bytes32 uid;
        bytes32 schema;
        uint64 time;
        uint64 expirationTime;
        uint64 revocationTime;
        bytes32 refUID;
        address recipient;
        address attester;
        bool revocable;
        bytes data;
    }

    mapping(bytes32 uid => Attestation) private _attestations;

    event Attested(address indexed recipient, address indexed attester, bytes32 uid, bytes32 indexed schema);
    event Revoked(address indexed recipient, address indexed attester, bytes32 uid, bytes32 indexed schema);

    error AlreadyAttested(bytes32 uid);
    error InvalidExpirationTime();
    error NotFound(bytes32 uid);
    error AccessDenied();
    error Irrevocable();
    error AlreadyRevoked();

    function attest(
        bytes32 schema,
        address recipient,
        uint64 expirationTime,
        bool revocable,
        bytes32 refUID,
        bytes calldata data
    ) external returns (bytes32) {
        return _attest(schema, recipient, expirationTime, revocable, refUID, data);
    }

    /// EAS multiAttest analogue: still one stored struct per record, only the call is batched.
    function multiAttest(bytes32 schema, bytes[] calldata data) external returns (bytes32[] memory uids) {
        uids = new bytes32[](data.length);
        for (uint256 i = 0; i < data.length; ++i) {
            uids[i] = _attest(schema, address(0), 0, true, bytes32(0), data[i]);
        }
    }

    function revoke(bytes32 uid) external {
        Attestation storage a = _attestations[uid];
        if (a.uid == bytes32(0)) revert NotFound(uid);
        if (a.attester != msg.sender) revert AccessDenied();
        if (!a.revocable) revert Irrevocable();
        if (a.revocationTime != 0) revert AlreadyRevoked();
        a.revocationTime = uint64(block.timestamp);
        emit Revoked(a.recipient, msg.sender, uid, a.schema);
    }

    function getAttestation(bytes32 uid) external view returns (Attestation memory) {
        return _attestations[uid];
    }

    function isAttestationValid(bytes32 uid) external view returns (bool) {
        return _attestations[uid].uid != bytes32(0);
    }

    function _attest(
        bytes32 schema,
        address recipient,
        uint64 expirationTime,
        bool revocable,
        bytes32 refUID,
        bytes calldata data
    ) private returns (bytes32 uid) {
        uint64 nowTs = uint64(block.timestamp);
        if (expirationTime != 0 && expirationTime <= nowTs) revert InvalidExpirationTime();
        // EAS derives the uid from the attestation's content plus a bump counter (always 0 here,
        // so a repeated identical attestation in one block is refused instead of re-bumped).
        uid = keccak256(
            abi.encodePacked(schema, recipient, msg.sender, nowTs, expirationTime, revocable, refUID, data, uint32(0))
        );
        if (_attestations[uid].uid != bytes32(0)) revert AlreadyAttested(uid);
        _attestations[uid] = Attestation(
            uid, schema, nowTs, expirationTime, 0, refUID, recipient, msg.sender, revocable, data
        );
        emit Attested(recipient, msg.sender, uid, schema);
    }
}
