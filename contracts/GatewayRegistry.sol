// SPDX-License-Identifier: Apache-2.0
// Partner gateway registry: binds a gateway id to its Ed25519 identity key and its EVM anchoring
// account (DESIGN.md §3 "Partner registry", §5, docs/trust-model.md). The other ledger contracts ask
// this one who may write. It keeps every key and account a gateway ever had, each with the blocks in
// which it was valid, so a receipt is judged by the key of its anchoring block after any rotation.
pragma solidity 0.8.37;

import {Ed25519} from "./Ed25519.sol";

contract GatewayRegistry {
    /// None is the zero value, so an unknown id reads as "not registered" rather than "active".
    enum Status {
        None,
        Active,
        Revoked
    }

    struct Gateway {
        bytes32 ed25519PublicKey;
        address evmAccount;
        Status status;
        /// bytes8(sha256(ed25519PublicKey)): the key id events and anchors carry, stored so an anchor
        /// reads it with the account's own slot instead of hashing.
        bytes8 keyId;
        uint64 registeredAt;
        uint64 updatedAt;
        /// The block of revocation, 0 while active. Anchors mined before it stay valid.
        uint64 revokedAtBlock;
    }

    /// One key (or account) and the blocks it served: fromBlock to untilBlock inclusive, untilBlock
    /// 0 while current. A rotation block belongs to both periods; anchors name their key id, which
    /// says which of the two signed.
    struct KeyPeriod {
        bytes32 ed25519PublicKey;
        uint64 fromBlock;
        uint64 untilBlock;
        /// True when the registry owner set the key without the previous key's signature (recovery).
        bool isRecovery;
    }

    struct AccountPeriod {
        address account;
        uint64 fromBlock;
        uint64 untilBlock;
    }

    /// What the current Ed25519 key signs to hand over to the next one (docs/receipts.md).
    bytes public constant ROTATION_CONTEXT = "sealgate/registry/rotate-key/v1";

    address public owner;

    mapping(bytes32 id => Gateway) private _gateways;
    mapping(bytes32 id => KeyPeriod[]) private _keys;
    mapping(bytes32 id => AccountPeriod[]) private _accounts;
    /// The id an account is currently bound to; cleared when the account is rotated away.
    mapping(address account => bytes32 id) private _idOfAccount;
    /// An account or key that ever served a gateway is burned: a rotated-away (possibly leaked) one
    /// must never come back, for this gateway or another.
    mapping(address account => bool used) private _isAccountUsed;
    mapping(bytes32 key => bool used) private _isKeyUsed;

    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
    event GatewayRegistered(bytes32 indexed id, bytes32 ed25519PublicKey, address indexed evmAccount);
    event GatewayKeyRotated(bytes32 indexed id, bytes32 previousKey, bytes32 newKey);
    event GatewayKeyRecovered(bytes32 indexed id, bytes32 previousKey, bytes32 newKey);
    event GatewayAccountRotated(bytes32 indexed id, address indexed previousAccount, address indexed newAccount);
    event GatewayRevoked(bytes32 indexed id, uint64 blockNumber);

    error NotOwner(address caller);
    error NotGatewayOrOwner(bytes32 id, address caller);
    error ZeroId();
    error ZeroKey();
    error ZeroAccount();
    error GatewayExists(bytes32 id);
    error UnknownGateway(bytes32 id);
    error GatewayNotActive(bytes32 id);
    error AccountInUse(address account);
    error KeyInUse(bytes32 key);
    error BadRotationSignature(bytes32 id);

    /// `owner_` is who may register, revoke and recover: a consortium's multisig in a shared
    /// deployment; zero means the deployer (the embedded development chain, where the gateway owns
    /// its own registry; docs/trust-model.md).
    constructor(address owner_) {
        owner = owner_ == address(0) ? msg.sender : owner_;
        emit OwnershipTransferred(address(0), owner);
    }

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    modifier onlyActive(bytes32 id) {
        Status status = _gateways[id].status;
        if (status == Status.None) revert UnknownGateway(id);
        if (status != Status.Active) revert GatewayNotActive(id);
        _;
    }

    function transferOwnership(address newOwner) external onlyOwner {
        if (newOwner == address(0)) revert ZeroAccount();
        emit OwnershipTransferred(owner, newOwner);
        owner = newOwner;
    }

    function register(bytes32 id, bytes32 ed25519PublicKey, address evmAccount) external onlyOwner {
        if (id == bytes32(0)) revert ZeroId();
        if (ed25519PublicKey == bytes32(0)) revert ZeroKey();
        if (evmAccount == address(0)) revert ZeroAccount();
        // A revoked id stays taken: its anchors remain attributable to the original party.
        if (_gateways[id].status != Status.None) revert GatewayExists(id);
        if (_isAccountUsed[evmAccount]) revert AccountInUse(evmAccount);
        if (_isKeyUsed[ed25519PublicKey]) revert KeyInUse(ed25519PublicKey);
        uint64 nowTs = uint64(block.timestamp);
        _gateways[id] = Gateway(ed25519PublicKey, evmAccount, Status.Active, keyIdOf(ed25519PublicKey), nowTs, nowTs, 0);
        _keys[id].push(KeyPeriod(ed25519PublicKey, uint64(block.number), 0, false));
        _accounts[id].push(AccountPeriod(evmAccount, uint64(block.number), 0));
        _idOfAccount[evmAccount] = id;
        _isAccountUsed[evmAccount] = true;
        _isKeyUsed[ed25519PublicKey] = true;
        emit GatewayRegistered(id, ed25519PublicKey, evmAccount);
    }

    /// The bytes the current key signs to name its successor: the context, then the chain, this
    /// registry, the gateway, the current key and the new key, so a signature is good for exactly
    /// one hand-over and cannot be replayed on another chain, registry or gateway.
    function rotationMessage(bytes32 id, bytes32 currentKey, bytes32 newKey) public view returns (bytes memory) {
        return abi.encodePacked(ROTATION_CONTEXT, bytes1(0x00), block.chainid, address(this), id, currentKey, newKey);
    }

    /// A new Ed25519 key needs both keys of the identity: this transaction from the gateway's account
    /// (or the owner) and a signature over rotationMessage by the current Ed25519 key. Whoever holds
    /// only the EVM key cannot name a key of their own.
    function rotateKey(bytes32 id, bytes32 newKey, bytes32 sigR, bytes32 sigS) external onlyActive(id) {
        Gateway storage g = _gateways[id];
        if (msg.sender != owner && msg.sender != g.evmAccount) revert NotGatewayOrOwner(id, msg.sender);
        bytes32 previousKey = g.ed25519PublicKey;
        if (!Ed25519.verify(previousKey, sigR, sigS, rotationMessage(id, previousKey, newKey))) {
            revert BadRotationSignature(id);
        }
        _setKey(id, newKey, false);
        emit GatewayKeyRotated(id, previousKey, newKey);
    }

    /// The documented path for a lost Ed25519 key: the owner (the consortium) sets the new key without
    /// the old one's signature. The key period is marked, so every verifier sees that it was a recovery.
    function recoverKey(bytes32 id, bytes32 newKey) external onlyOwner onlyActive(id) {
        bytes32 previousKey = _gateways[id].ed25519PublicKey;
        _setKey(id, newKey, true);
        emit GatewayKeyRecovered(id, previousKey, newKey);
    }

    function _setKey(bytes32 id, bytes32 newKey, bool isRecovery) private {
        if (newKey == bytes32(0)) revert ZeroKey();
        if (_isKeyUsed[newKey]) revert KeyInUse(newKey);
        Gateway storage g = _gateways[id];
        KeyPeriod[] storage periods = _keys[id];
        periods[periods.length - 1].untilBlock = uint64(block.number);
        periods.push(KeyPeriod(newKey, uint64(block.number), 0, isRecovery));
        g.ed25519PublicKey = newKey;
        g.keyId = keyIdOf(newKey);
        g.updatedAt = uint64(block.timestamp);
        _isKeyUsed[newKey] = true;
    }

    /// Rotation may be done by the gateway itself (it holds the current account) or by the owner.
    function rotateAccount(bytes32 id, address newAccount) external onlyActive(id) {
        Gateway storage g = _gateways[id];
        if (msg.sender != owner && msg.sender != g.evmAccount) revert NotGatewayOrOwner(id, msg.sender);
        if (newAccount == address(0)) revert ZeroAccount();
        if (_isAccountUsed[newAccount]) revert AccountInUse(newAccount);
        address previousAccount = g.evmAccount;
        AccountPeriod[] storage periods = _accounts[id];
        periods[periods.length - 1].untilBlock = uint64(block.number);
        periods.push(AccountPeriod(newAccount, uint64(block.number), 0));
        delete _idOfAccount[previousAccount];
        g.evmAccount = newAccount;
        g.updatedAt = uint64(block.timestamp);
        _idOfAccount[newAccount] = id;
        _isAccountUsed[newAccount] = true;
        emit GatewayAccountRotated(id, previousAccount, newAccount);
    }

    /// Revocation is final and immediate: the anchor and package contracts consult this registry on
    /// every write, so the next write from the revoked account fails. Anchors mined in earlier blocks
    /// stay valid; a verifier compares their block with revokedAtBlock.
    function revoke(bytes32 id) external onlyOwner onlyActive(id) {
        Gateway storage g = _gateways[id];
        g.status = Status.Revoked;
        g.updatedAt = uint64(block.timestamp);
        g.revokedAtBlock = uint64(block.number);
        KeyPeriod[] storage keys = _keys[id];
        keys[keys.length - 1].untilBlock = uint64(block.number);
        AccountPeriod[] storage accounts = _accounts[id];
        accounts[accounts.length - 1].untilBlock = uint64(block.number);
        delete _idOfAccount[g.evmAccount];
        emit GatewayRevoked(id, uint64(block.number));
    }

    function isActiveAccount(address account) public view returns (bool) {
        bytes32 id = _idOfAccount[account];
        return id != bytes32(0) && _gateways[id].status == Status.Active;
    }

    /// The id the account currently writes for, or bytes32(0) if it is not an active gateway account.
    function gatewayOf(address account) external view returns (bytes32) {
        return isActiveAccount(account) ? _idOfAccount[account] : bytes32(0);
    }

    /// What an anchor needs in one call: the id the account writes for (zero if none) and the id of
    /// that gateway's current Ed25519 key.
    function anchoringIdentityOf(address account) external view returns (bytes32 id, bytes8 keyId) {
        id = _idOfAccount[account];
        if (id == bytes32(0)) return (bytes32(0), bytes8(0));
        Gateway storage g = _gateways[id];
        if (g.status != Status.Active) return (bytes32(0), bytes8(0));
        return (id, g.keyId);
    }

    /// The stored entry; status None means the id was never registered.
    function get(bytes32 id) external view returns (Gateway memory) {
        return _gateways[id];
    }

    /// Every Ed25519 key the gateway had, oldest first.
    function keyHistory(bytes32 id) external view returns (KeyPeriod[] memory) {
        return _keys[id];
    }

    /// Every anchoring account the gateway had, oldest first.
    function accountHistory(bytes32 id) external view returns (AccountPeriod[] memory) {
        return _accounts[id];
    }

    function keyIdOf(bytes32 ed25519PublicKey) public pure returns (bytes8) {
        return bytes8(sha256(abi.encodePacked(ed25519PublicKey)));
    }
}
