// SPDX-License-Identifier: Apache-2.0
// Data-package registry: the listing hash, valuation report hash and consent basis root of each
// derived data package offered on the exchange (DESIGN.md §5, §7 step 6, §8).
pragma solidity 0.8.37;

import {GatewayRegistry} from "./GatewayRegistry.sol";

contract DataPackageRegistry {
    struct Package {
        bytes32 listingHash;
        bytes32 valuationReportHash;
        bytes32 consentBasisRoot;
        address registrant;
        uint32 revision;
        uint64 updatedAt;
        bytes32 gatewayId;
    }

    GatewayRegistry public immutable registry;

    mapping(bytes32 packageId => Package) private _packages;

    event PackageRegistered(
        bytes32 indexed packageId,
        bytes32 indexed gatewayId,
        address indexed registrant,
        bytes32 listingHash,
        bytes32 valuationReportHash,
        bytes32 consentBasisRoot
    );
    /// One event per revision, so the full history is recoverable from logs while storage holds
    /// only the current revision.
    event PackageRevised(
        bytes32 indexed packageId,
        bytes32 indexed gatewayId,
        uint32 revision,
        bytes32 listingHash,
        bytes32 valuationReportHash,
        bytes32 consentBasisRoot
    );

    error ZeroRegistry();
    error NotActiveGateway(address caller);
    error ZeroPackageId();
    error ZeroHash();
    error PackageExists(bytes32 packageId);
    error UnknownPackage(bytes32 packageId);
    error NotPackageOwner(bytes32 packageId, bytes32 gatewayId);

    constructor(GatewayRegistry registry_) {
        if (address(registry_) == address(0)) revert ZeroRegistry();
        registry = registry_;
    }

    function _activeGateway() private view returns (bytes32 gatewayId) {
        gatewayId = registry.gatewayOf(msg.sender);
        if (gatewayId == bytes32(0)) revert NotActiveGateway(msg.sender);
    }

    function register(bytes32 packageId, bytes32 listingHash, bytes32 valuationReportHash, bytes32 consentBasisRoot)
        external
    {
        bytes32 gatewayId = _activeGateway();
        if (packageId == bytes32(0)) revert ZeroPackageId();
        if (listingHash == bytes32(0) || consentBasisRoot == bytes32(0)) revert ZeroHash();
        if (_packages[packageId].registrant != address(0)) revert PackageExists(packageId);
        _packages[packageId] = Package(
            listingHash, valuationReportHash, consentBasisRoot, msg.sender, 1, uint64(block.timestamp), gatewayId
        );
        emit PackageRegistered(packageId, gatewayId, msg.sender, listingHash, valuationReportHash, consentBasisRoot);
    }

    /// A new revision (for example a revaluation after consent withdrawals shrank the basis).
    /// Only the gateway that registered the package may revise it, from whichever account it uses now.
    function revise(bytes32 packageId, bytes32 listingHash, bytes32 valuationReportHash, bytes32 consentBasisRoot)
        external
    {
        bytes32 gatewayId = _activeGateway();
        Package storage p = _packages[packageId];
        if (p.registrant == address(0)) revert UnknownPackage(packageId);
        if (p.gatewayId != gatewayId) revert NotPackageOwner(packageId, gatewayId);
        if (listingHash == bytes32(0) || consentBasisRoot == bytes32(0)) revert ZeroHash();
        p.listingHash = listingHash;
        p.valuationReportHash = valuationReportHash;
        p.consentBasisRoot = consentBasisRoot;
        p.registrant = msg.sender;
        p.revision += 1;
        p.updatedAt = uint64(block.timestamp);
        emit PackageRevised(packageId, gatewayId, p.revision, listingHash, valuationReportHash, consentBasisRoot);
    }

    /// The current revision; registrant == address(0) means the package was never registered.
    function get(bytes32 packageId) external view returns (Package memory) {
        return _packages[packageId];
    }
}
