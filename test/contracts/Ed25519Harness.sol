// SPDX-License-Identifier: Apache-2.0
// Test-only harness for contracts/Ed25519.sol (test/contracts/ed25519-solidity.test.ts compiles it).
pragma solidity 0.8.37;

import {Ed25519} from "../../contracts/Ed25519.sol";

contract Ed25519Harness {
    function verify(bytes32 publicKey, bytes32 r, bytes32 s, bytes calldata message) external view returns (bool) {
        return Ed25519.verify(publicKey, r, s, message);
    }

    /// The gas of the library call alone (no calldata or dispatch), for the report.
    function verifyGas(bytes32 publicKey, bytes32 r, bytes32 s, bytes calldata message)
        external
        view
        returns (bool isValid, uint256 gasUsed)
    {
        bytes memory m = message;
        uint256 before = gasleft();
        isValid = Ed25519.verify(publicKey, r, s, m);
        gasUsed = before - gasleft();
    }

    function sha512(bytes calldata data) external pure returns (bytes32, bytes32) {
        return Ed25519.sha512(data);
    }
}
