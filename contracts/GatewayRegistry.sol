// SPDX-License-Identifier: Apache-2.0
// Partner gateway registry: binds a gateway id to its Ed25519 identity key and its EVM anchoring
// account (DESIGN.md §3 "Partner registry", §5). The other ledger contracts ask this one who may write.
pragma solidity 0.8.37;

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
        uint64 registeredAt;
        uint64 updatedAt;
    }

    address public owner;

    mapping(bytes32 id => Gateway) private _gateways;
    /// The id an account is currently bound to; cleared when the account is rotated away.
    mapping(address account => bytes32 id) private _idOfAccount;
    /// An account that ever served a gateway is burned: a rotated-away (possibly leaked) key must
    /// never come back as another gateway's signer.
    mapping(address account => bool used) private _isAccountUsed;

    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
    event GatewayRegistered(bytes32 indexed id, bytes32 ed25519PublicKey, address indexed evmAccount);
    event GatewayKeyRotated(bytes32 indexed id, bytes32 previousKey, bytes32 newKey);
    event GatewayAccountRotated(bytes32 indexed id, address indexed previousAccount, address indexed newAccount);
    event GatewayRevoked(bytes32 indexed id);

    error NotOwner(address caller);
    error NotGatewayOrOwner(bytes32 id, address caller);
    error ZeroId();
    error ZeroKey();
    error ZeroAccount();
    error GatewayExists(bytes32 id);
    error UnknownGateway(bytes32 id);
    error GatewayNotActive(bytes32 id);
    error AccountInUse(address account);

    constructor() {
        owner = msg.sender;
        emit OwnershipTransferred(address(0), msg.sender);
    }

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    /// Rotation may be done by the admin or by the gateway itself (it holds the current account).
    modifier onlyActiveGatewayOrOwner(bytes32 id) {
        Gateway storage g = _gateways[id];
        if (g.status == Status.None) revert UnknownGateway(id);
        if (g.status != Status.Active) revert GatewayNotActive(id);
        if (msg.sender != owner && msg.sender != g.evmAccount) revert NotGatewayOrOwner(id, msg.sender);
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
        uint64 nowTs = uint64(block.timestamp);
        _gateways[id] = Gateway(ed25519PublicKey, evmAccount, Status.Active, nowTs, nowTs);
        _idOfAccount[evmAccount] = id;
        _isAccountUsed[evmAccount] = true;
        emit GatewayRegistered(id, ed25519PublicKey, evmAccount);
    }

    function rotateKey(bytes32 id, bytes32 newKey) external onlyActiveGatewayOrOwner(id) {
        if (newKey == bytes32(0)) revert ZeroKey();
        Gateway storage g = _gateways[id];
        bytes32 previousKey = g.ed25519PublicKey;
        g.ed25519PublicKey = newKey;
        g.updatedAt = uint64(block.timestamp);
        emit GatewayKeyRotated(id, previousKey, newKey);
    }

    function rotateAccount(bytes32 id, address newAccount) external onlyActiveGatewayOrOwner(id) {
        if (newAccount == address(0)) revert ZeroAccount();
        if (_isAccountUsed[newAccount]) revert AccountInUse(newAccount);
        Gateway storage g = _gateways[id];
        address previousAccount = g.evmAccount;
        delete _idOfAccount[previousAccount];
        g.evmAccount = newAccount;
        g.updatedAt = uint64(block.timestamp);
        _idOfAccount[newAccount] = id;
        _isAccountUsed[newAccount] = true;
        emit GatewayAccountRotated(id, previousAccount, newAccount);
    }

    /// Revocation is final and immediate: the anchor and package contracts consult this registry
    /// on every write, so the next write from the revoked account fails.
    function revoke(bytes32 id) external onlyOwner {
        Gateway storage g = _gateways[id];
        if (g.status == Status.None) revert UnknownGateway(id);
        if (g.status != Status.Active) revert GatewayNotActive(id);
        g.status = Status.Revoked;
        g.updatedAt = uint64(block.timestamp);
        delete _idOfAccount[g.evmAccount];
        emit GatewayRevoked(id);
    }

    function isActiveAccount(address account) public view returns (bool) {
        bytes32 id = _idOfAccount[account];
        return id != bytes32(0) && _gateways[id].status == Status.Active;
    }

    /// The id the account currently writes for, or bytes32(0) if it is not an active gateway account.
    function gatewayOf(address account) external view returns (bytes32) {
        return isActiveAccount(account) ? _idOfAccount[account] : bytes32(0);
    }

    /// The stored entry; status None means the id was never registered.
    function get(bytes32 id) external view returns (Gateway memory) {
        return _gateways[id];
    }
}
