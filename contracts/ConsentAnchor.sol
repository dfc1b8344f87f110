// SPDX-License-Identifier: Apache-2.0
// Merkle-root anchor for consent and audit batches (DESIGN.md §4 "Anchoring", §5). Verification
// follows the SHA-256 encoding in docs/merkle.md, identical to consent/merkle.ts.
pragma solidity 0.8.37;

import {GatewayRegistry} from "./GatewayRegistry.sol";

contract ConsentAnchor {
    /// Three slots per anchor. The previous root and the status root are in the Anchored event, not in
    /// storage: the chain rule needs only _lastRoot, and a verifier reads the event of the anchor's
    /// block. The key id packs beside count and blockNumber. So committing to the status root costs
    /// event data, not a storage slot (docs/receipts.md §5.1, "Gas").
    struct Anchor {
        address anchoredBy;
        uint64 blockTime;
        uint64 count;
        uint64 blockNumber;
        /// The id of the Ed25519 key the batch's events were signed with: the gateway's current key.
        bytes8 keyId;
        bytes32 gatewayId;
    }

    GatewayRegistry public immutable registry;

    mapping(bytes32 root => Anchor) private _anchors;
    mapping(bytes32 gatewayId => bytes32 root) private _lastRoot;

    event Anchored(
        bytes32 indexed gatewayId,
        bytes32 indexed root,
        bytes32 prevRoot,
        uint64 count,
        address indexed anchoredBy,
        uint64 blockTime,
        bytes8 keyId,
        /// Root of the status tree: every consent and delegation record's last event as of this batch.
        bytes32 stateRoot
    );

    error ZeroRegistry();
    error NotActiveGateway(address caller);
    error ZeroRoot();
    error EmptyBatch();
    error DuplicateRoot(bytes32 root);
    error BrokenChain(bytes32 gatewayId, bytes32 expectedPrevRoot, bytes32 givenPrevRoot);
    error KeyMismatch(bytes32 gatewayId, bytes8 currentKeyId, bytes8 givenKeyId);

    constructor(GatewayRegistry registry_) {
        if (address(registry_) == address(0)) revert ZeroRegistry();
        registry = registry_;
    }

    /// Anchors one batch root. The per-gateway chain (prevRoot = that gateway's last root, zero for
    /// the first) makes a dropped or reordered batch visible to any auditor reading the events.
    /// `keyId` must be the gateway's current key: a batch signed with a rotated-away key is refused
    /// here rather than anchored under a key that a verifier would not match.
    function anchor(bytes32 root, uint64 count, bytes32 prevRoot, bytes8 keyId, bytes32 stateRoot) external {
        (bytes32 gatewayId, bytes8 currentKeyId) = registry.anchoringIdentityOf(msg.sender);
        if (gatewayId == bytes32(0)) revert NotActiveGateway(msg.sender);
        if (keyId != currentKeyId) revert KeyMismatch(gatewayId, currentKeyId, keyId);
        if (root == bytes32(0)) revert ZeroRoot();
        if (count == 0) revert EmptyBatch();
        // Roots are unique across all gateways: a root names exactly one batch and one anchor.
        if (_anchors[root].anchoredBy != address(0)) revert DuplicateRoot(root);
        bytes32 expected = _lastRoot[gatewayId];
        if (prevRoot != expected) revert BrokenChain(gatewayId, expected, prevRoot);

        uint64 blockTime = uint64(block.timestamp);
        _anchors[root] = Anchor(msg.sender, blockTime, count, uint64(block.number), keyId, gatewayId);
        _lastRoot[gatewayId] = root;
        emit Anchored(gatewayId, root, prevRoot, count, msg.sender, blockTime, keyId, stateRoot);
    }

    /// The stored anchor; anchoredBy == address(0) means the root was never anchored.
    function getAnchor(bytes32 root) external view returns (Anchor memory) {
        return _anchors[root];
    }

    function isAnchored(bytes32 root) public view returns (bool) {
        return _anchors[root].anchoredBy != address(0);
    }

    function lastRootOf(bytes32 gatewayId) external view returns (bytes32) {
        return _lastRoot[gatewayId];
    }

    /// True only if `root` is anchored and `proof` links `recordHash` to it. The contract derives the
    /// leaf itself (0x00-prefixed) so a caller cannot pass an inner node off as a record.
    function verifyInclusion(bytes32 root, bytes32 recordHash, bytes32[] calldata proof) external view returns (bool) {
        if (!isAnchored(root)) return false;
        bytes32 node = sha256(abi.encodePacked(bytes1(0x00), recordHash));
        for (uint256 i = 0; i < proof.length; ++i) {
            bytes32 sibling = proof[i];
            // Sorted pairs: the proof needs no left/right bits (same rule as consent/merkle.ts).
            node = node < sibling
                ? sha256(abi.encodePacked(bytes1(0x01), node, sibling))
                : sha256(abi.encodePacked(bytes1(0x01), sibling, node));
        }
        return node == root;
    }
}
