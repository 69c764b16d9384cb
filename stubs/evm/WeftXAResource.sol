// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

// The base of a business contract that takes part in Weft's XA transactions on an EVM chain. The router never writes
// to such a contract directly: every write goes through the chain's WeftXAProxy, which checks the contract's XA lock
// and then calls it with the original calldata followed by an 84-byte context:
//
//     calldata ++ xaKey (32 bytes) ++ seq (32 bytes) ++ signer (20 bytes)
//
// xaKey is keccak256 of the transaction id (zero for a write outside any transaction), seq the step's number, and
// signer the account that signed the router's transaction (what msg.sender would have been without the proxy). The
// ABI decoder ignores trailing bytes, so the business methods keep their ordinary signatures.
//
// A contract declares, for each method a step may call, the method that undoes it (xaCompensation). On rollback the
// proxy calls the compensation with the step's own arguments and the step's own context, newest step first. A
// compensation must be guarded with onlyXARollback: the proxy's forward() would otherwise let anyone call it outside
// any transaction (an undoTransfer, say, moving someone else's balance to the caller).
abstract contract WeftXAResource {
    address public immutable xaProxy;

    error OnlyThroughXAProxy(address caller, address proxy);
    error OnlyInXARollback(address signer);

    constructor(address proxy) {
        xaProxy = proxy;
    }

    // For writes that must not bypass the proxy's locks.
    modifier onlyViaProxy() {
        if (msg.sender != xaProxy) revert OnlyThroughXAProxy(msg.sender, xaProxy);
        _;
    }

    // For compensations: only the proxy's rollback reaches them. forward() passes a zero xaKey, and a step cannot call
    // a method whose own compensation is 0, so a non-zero key through the proxy is a rollback as long as no
    // compensation is itself declared a step.
    modifier onlyXARollback() {
        if (_xaKey() == 0) revert OnlyInXARollback(_signer());
        _;
    }

    // The compensation of a method (its selector), or 0 when the method cannot be a step.
    function xaCompensation(bytes4 selector) external view virtual returns (bytes4);

    function _viaProxy() internal view returns (bool) {
        return msg.sender == xaProxy && msg.data.length >= 88;
    }

    // The account the business logic acts for: the router transaction's signer when called through the proxy.
    function _signer() internal view returns (address s) {
        if (!_viaProxy()) return msg.sender;
        assembly {
            s := shr(96, calldataload(sub(calldatasize(), 20)))
        }
    }

    // The transaction's key and the step's seq (both 0 outside a transaction). A compensation sees the same values
    // as the step it undoes, so a contract may keep what it needs to undo a step under (key, seq).
    function _xaKey() internal view returns (bytes32 k) {
        if (!_viaProxy()) return 0;
        assembly {
            k := calldataload(sub(calldatasize(), 84))
        }
    }

    function _xaSeq() internal view returns (uint256 q) {
        if (!_viaProxy()) return 0;
        assembly {
            q := calldataload(sub(calldatasize(), 52))
        }
    }
}
