// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

// Weft's hash-time-locked escrow of one ERC-20 token, with exactly the semantics of docs/htlc.md: locks keyed by
// (sender, id), SHA-256 hashes of 32-byte secrets, timelocks in Unix milliseconds of chain time (the including block's
// timestamp, which EVM chains keep in seconds: t = block.timestamp * 1000). The escrow holds exactly the sum of the
// locked amounts. The lock's sender approves the amount to this contract first (approve, then lock); IERC20 also
// gives the adapter the token's methods it calls for that.
interface IERC20 {
    function transfer(address to, uint256 amount) external returns (bool);
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
    function balanceOf(address who) external view returns (uint256);
    function allowance(address owner, address spender) external view returns (uint256);
    function approve(address spender, uint256 amount) external returns (bool);
}

contract WeftHTLC {
    enum State {
        None,
        Locked,
        Claimed,
        Refunded
    }

    struct Lock {
        address receiver;
        uint64 timelock;
        State state;
        uint64 lockBlock;
        uint64 endBlock;
        uint256 amount;
        bytes32 hash;
        bytes32 secret;
    }

    IERC20 public immutable asset;
    mapping(address => mapping(bytes32 => Lock)) private locks;

    // The reference chain's receipt statuses, as docs/htlc.md lists them, name these errors: 3, 4, 12, 13, 14, 15, 16.
    error BadArguments(string reason);
    error InsufficientBalance(uint256 balance, uint256 allowance, uint256 amount);
    error Duplicate(address sender, bytes32 id);
    error WrongSecret(address sender, bytes32 id);
    error Expired(address sender, bytes32 id, uint64 timelock, uint64 blockTime);
    error NotExpired(address sender, bytes32 id, uint64 timelock, uint64 blockTime);
    error NotLocked(address sender, bytes32 id, uint8 state);
    error TransferFailed();

    event Locked(address indexed sender, bytes32 indexed id, address receiver, uint256 amount, bytes32 hash, uint64 timelock);
    event Claimed(address indexed sender, bytes32 indexed id, address receiver, uint256 amount, bytes32 secret);
    event Refunded(address indexed sender, bytes32 indexed id, uint256 amount);

    constructor(address asset_) {
        if (asset_.code.length == 0) revert BadArguments("the asset is not a contract");
        asset = IERC20(asset_);
    }

    function chainTime() public view returns (uint64) {
        return uint64(block.timestamp) * 1000;
    }

    function lock(bytes32 id, address receiver, uint256 amount, bytes32 hash, uint64 timelock) external {
        if (amount == 0 || amount > type(uint64).max) revert BadArguments("amount must be 1 to 2^64-1");
        if (receiver == address(0)) revert BadArguments("no receiver");
        Lock storage l = locks[msg.sender][id];
        if (l.state != State.None) revert Duplicate(msg.sender, id);
        uint64 t = chainTime();
        if (timelock <= t) revert Expired(msg.sender, id, timelock, t);
        uint256 balance = asset.balanceOf(msg.sender);
        uint256 allowed = asset.allowance(msg.sender, address(this));
        if (balance < amount || allowed < amount) revert InsufficientBalance(balance, allowed, amount);
        l.receiver = receiver;
        l.timelock = timelock;
        l.state = State.Locked;
        l.lockBlock = uint64(block.number);
        l.amount = amount;
        l.hash = hash;
        if (!asset.transferFrom(msg.sender, address(this), amount)) revert TransferFailed();
        emit Locked(msg.sender, id, receiver, amount, hash, timelock);
    }

    function claim(address sender, bytes32 id, bytes32 secret) external {
        Lock storage l = locks[sender][id];
        if (l.state != State.Locked) revert NotLocked(sender, id, uint8(l.state));
        uint64 t = chainTime();
        if (t >= l.timelock) revert Expired(sender, id, l.timelock, t);
        if (sha256(abi.encodePacked(secret)) != l.hash) revert WrongSecret(sender, id);
        l.state = State.Claimed;
        l.secret = secret;
        l.endBlock = uint64(block.number);
        if (!asset.transfer(l.receiver, l.amount)) revert TransferFailed();
        emit Claimed(sender, id, l.receiver, l.amount, secret);
    }

    function refund(address sender, bytes32 id) external {
        Lock storage l = locks[sender][id];
        if (l.state != State.Locked) revert NotLocked(sender, id, uint8(l.state));
        uint64 t = chainTime();
        if (t < l.timelock) revert NotExpired(sender, id, l.timelock, t);
        l.state = State.Refunded;
        l.endBlock = uint64(block.number);
        if (!asset.transfer(sender, l.amount)) revert TransferFailed();
        emit Refunded(sender, id, l.amount);
    }

    // state: 0 none, 1 locked, 2 claimed, 3 refunded; secret is zero until claimed.
    function status(address sender, bytes32 id)
        external
        view
        returns (
            address receiver,
            uint256 amount,
            bytes32 hash,
            uint64 timelock,
            uint8 state,
            bytes32 secret,
            uint64 lockBlock,
            uint64 endBlock
        )
    {
        Lock storage l = locks[sender][id];
        return (l.receiver, l.amount, l.hash, l.timelock, uint8(l.state), l.secret, l.lockBlock, l.endBlock);
    }
}
