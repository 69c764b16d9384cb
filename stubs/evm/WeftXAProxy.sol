// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

// Weft's XA proxy on an EVM chain: one branch of a two-phase transaction per transaction id. The router's coordinator
// account starts a branch over some business contracts (locking each for the id), users send steps through it, and
// the coordinator then commits (the steps' effects stay) or rolls back (each step's declared compensation runs, newest
// first). A finished id stays as a tombstone. Writes to a business contract outside any transaction go through
// forward(), which refuses them while the contract is locked. See docs/xa.md and WeftXAResource.sol.
interface IWeftXAResource {
    function xaCompensation(bytes4 selector) external view returns (bytes4);
}

contract WeftXAProxy {
    enum Status {
        None,
        Processing,
        Committed,
        RolledBack
    }

    struct Branch {
        Status status;
        uint64 startBlock;
        uint64 endBlock;
        address[] targets;
        uint256[] seqs; // in the order the steps ran
    }

    struct Step {
        bool done;
        address target;
        address signer;
        bytes32 digest; // keccak256(target, data): a repeat with other content is refused
        bytes data;
        bytes result; // what the business method returned, answered again to a repeat
    }

    address public immutable coordinator;
    uint256 public constant MAX_STEPS = 64;

    mapping(bytes32 => Branch) private branches;
    mapping(bytes32 => mapping(uint256 => Step)) private steps;
    mapping(bytes32 => string) private ids;
    mapping(address => bytes32) public lockOf;

    error NotCoordinator(address caller, address coordinator);
    error BadTransactionId(string id);
    error BadTargets(string reason);
    error NoContract(address target);
    error Locked(address target, string holder);
    error Finished(string id, string status);
    error OtherTargets(string id);
    error UnknownTransaction(string id);
    error NotProcessing(string id, string status);
    error NotInTransaction(string id, address target);
    error SeqReused(string id, uint256 seq);
    error TooManySteps(string id);
    error NotXACapable(address target);
    error NoCompensation(address target, bytes4 selector);
    error CompensationFailed(address target, uint256 seq, bytes reason);

    event XAStarted(bytes32 indexed key, string id, address[] targets);
    event XAStep(bytes32 indexed key, uint256 seq, address indexed target, address signer, bytes data, bytes result);
    event XACommitted(bytes32 indexed key, string id);
    event XARolledBack(bytes32 indexed key, string id);

    constructor(address coordinator_) {
        coordinator = coordinator_ == address(0) ? msg.sender : coordinator_;
    }

    modifier onlyCoordinator() {
        if (msg.sender != coordinator) revert NotCoordinator(msg.sender, coordinator);
        _;
    }

    function keyOf(string calldata id) public pure returns (bytes32) {
        uint256 n = bytes(id).length;
        if (n == 0 || n > 128) revert BadTransactionId(id);
        return keccak256(bytes(id));
    }

    function statusName(Status s) internal pure returns (string memory) {
        if (s == Status.Processing) return "processing";
        if (s == Status.Committed) return "committed";
        if (s == Status.RolledBack) return "rolledback";
        return "none";
    }

    // Locks every target for the id. Targets are strictly ascending (no duplicates). Repeating the same start is a
    // no-op; a finished id, or a processing one with other targets, is refused.
    function start(string calldata id, address[] calldata targets) external onlyCoordinator {
        begin(id, targets);
    }

    // start and step in one transaction, sent by the step's signer: the coordinator's start ticket, a signature
    // (r || s || v, v 27 or 28, low s) over keccak256(abi.encode("weft-xa-start", chainid, this proxy, id, targets)),
    // says what to lock, so only the coordinator still decides that. If the step fails, nothing is started.
    function startStep(
        string calldata id,
        address[] calldata targets,
        bytes calldata ticket,
        uint256 seq,
        address target,
        bytes calldata data
    ) external returns (bytes memory) {
        address signer = ticketSigner(
            keccak256(abi.encode("weft-xa-start", block.chainid, address(this), id, targets)),
            ticket
        );
        if (signer != coordinator) revert NotCoordinator(signer, coordinator);
        begin(id, targets);
        return runStep(id, seq, target, data);
    }

    function ticketSigner(bytes32 digest, bytes calldata ticket) internal pure returns (address) {
        if (ticket.length != 65) return address(0);
        bytes32 r = bytes32(ticket[0:32]);
        bytes32 s = bytes32(ticket[32:64]);
        uint8 v = uint8(ticket[64]);
        if (uint256(s) > 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0) return address(0);
        if (v != 27 && v != 28) return address(0);
        return ecrecover(digest, v, r, s);
    }

    function begin(string calldata id, address[] calldata targets) internal {
        bytes32 key = keyOf(id);
        Branch storage b = branches[key];
        if (b.status == Status.Processing) {
            if (!sameTargets(b.targets, targets)) revert OtherTargets(id);
            return;
        }
        if (b.status != Status.None) revert Finished(id, statusName(b.status));
        if (targets.length == 0) revert BadTargets("no targets");
        for (uint256 i = 0; i < targets.length; i++) {
            address t = targets[i];
            if (i > 0 && uint160(t) <= uint160(targets[i - 1])) revert BadTargets("targets must be strictly ascending");
            if (t.code.length == 0) revert NoContract(t);
            bytes32 held = lockOf[t];
            if (held != 0 && held != key) revert Locked(t, ids[held]);
        }
        for (uint256 i = 0; i < targets.length; i++) lockOf[targets[i]] = key;
        b.status = Status.Processing;
        b.startBlock = uint64(block.number);
        b.targets = targets;
        ids[key] = id;
        emit XAStarted(key, id, targets);
    }

    // One step: calls target with data and the transaction's context. A repeated (id, seq) with the same target and
    // data runs nothing and returns the first run's result; with other content it is refused.
    function step(string calldata id, uint256 seq, address target, bytes calldata data) external returns (bytes memory) {
        return runStep(id, seq, target, data);
    }

    function runStep(string calldata id, uint256 seq, address target, bytes calldata data) internal returns (bytes memory) {
        bytes32 key = keyOf(id);
        Branch storage b = branches[key];
        bytes32 digest = keccak256(abi.encode(target, data));
        Step storage s = steps[key][seq];
        if (s.done) {
            if (s.digest != digest) revert SeqReused(id, seq);
            return s.result;
        }
        if (b.status != Status.Processing) revert NotProcessing(id, statusName(b.status));
        if (lockOf[target] != key) revert NotInTransaction(id, target);
        if (b.seqs.length >= MAX_STEPS) revert TooManySteps(id);
        if (data.length < 4) revert NoCompensation(target, bytes4(0));
        bytes4 undo = compensationOf(target, bytes4(data[:4]));
        if (undo == bytes4(0)) revert NoCompensation(target, bytes4(data[:4]));
        bytes memory result = invoke(target, data, key, seq, msg.sender);
        s.done = true;
        s.target = target;
        s.signer = msg.sender;
        s.digest = digest;
        s.data = data;
        s.result = result;
        b.seqs.push(seq);
        emit XAStep(key, seq, target, msg.sender, data, result);
        return result;
    }

    // A write outside any transaction: refused while the target is locked.
    function forward(address target, bytes calldata data) external returns (bytes memory) {
        bytes32 held = lockOf[target];
        if (held != 0) revert Locked(target, ids[held]);
        if (target.code.length == 0) revert NoContract(target);
        return invoke(target, data, 0, 0, msg.sender);
    }

    // Releases the locks; the steps' effects stay. Repeating it is a no-op.
    function commit(string calldata id) external onlyCoordinator {
        bytes32 key = keyOf(id);
        Branch storage b = branches[key];
        if (b.status == Status.Committed) return;
        if (b.status == Status.None) revert UnknownTransaction(id);
        if (b.status != Status.Processing) revert Finished(id, statusName(b.status));
        unlock(b, key);
        b.status = Status.Committed;
        b.endBlock = uint64(block.number);
        emit XACommitted(key, id);
    }

    // Undoes every step, newest first, then releases the locks. An unknown id becomes a tombstone; repeating it is a
    // no-op; a committed id is refused.
    function rollback(string calldata id) external onlyCoordinator {
        bytes32 key = keyOf(id);
        Branch storage b = branches[key];
        if (b.status == Status.RolledBack) return;
        if (b.status == Status.Committed) revert Finished(id, "committed");
        if (b.status == Status.Processing) {
            for (uint256 i = b.seqs.length; i > 0; i--) {
                uint256 seq = b.seqs[i - 1];
                Step storage s = steps[key][seq];
                bytes memory data = s.data;
                bytes4 undo = compensationOf(s.target, bytes4(data));
                assembly {
                    // The compensation takes the step's own arguments: swap the selector in place.
                    mstore(add(data, 32), or(and(mload(add(data, 32)), not(shl(224, 0xffffffff))), undo))
                }
                (bool ok, bytes memory reason) =
                    s.target.call(abi.encodePacked(data, key, seq, s.signer));
                if (!ok) revert CompensationFailed(s.target, seq, reason);
            }
            unlock(b, key);
        } else {
            ids[key] = id;
        }
        b.status = Status.RolledBack;
        b.endBlock = uint64(block.number);
        emit XARolledBack(key, id);
    }

    // The branch as the adapter's xa_status reports it; status 0 none, 1 processing, 2 committed, 3 rolledback.
    function branch(string calldata id)
        external
        view
        returns (uint8 status, address[] memory targets, uint256[] memory seqs, uint64 startBlock, uint64 endBlock)
    {
        Branch storage b = branches[keyOf(id)];
        return (uint8(b.status), b.targets, b.seqs, b.startBlock, b.endBlock);
    }

    function stepOf(string calldata id, uint256 seq)
        external
        view
        returns (bool done, address target, address signer, bytes memory data, bytes memory result)
    {
        Step storage s = steps[keyOf(id)][seq];
        return (s.done, s.target, s.signer, s.data, s.result);
    }

    // The id that holds target's lock, or "" when it is free.
    function holderOf(address target) external view returns (string memory) {
        bytes32 held = lockOf[target];
        return held == 0 ? "" : ids[held];
    }

    function compensationOf(address target, bytes4 selector) internal view returns (bytes4) {
        try IWeftXAResource(target).xaCompensation(selector) returns (bytes4 undo) {
            return undo;
        } catch {
            revert NotXACapable(target);
        }
    }

    function invoke(address target, bytes memory data, bytes32 key, uint256 seq, address signer)
        internal
        returns (bytes memory)
    {
        (bool ok, bytes memory result) = target.call(abi.encodePacked(data, key, seq, signer));
        if (!ok) {
            assembly {
                revert(add(result, 32), mload(result)) // the business contract's own reason, unchanged
            }
        }
        return result;
    }

    function unlock(Branch storage b, bytes32 key) internal {
        for (uint256 i = 0; i < b.targets.length; i++)
            if (lockOf[b.targets[i]] == key) delete lockOf[b.targets[i]];
    }

    function sameTargets(address[] storage a, address[] calldata b) internal view returns (bool) {
        if (a.length != b.length) return false;
        for (uint256 i = 0; i < a.length; i++)
            if (a[i] != b[i]) return false;
        return true;
    }
}
