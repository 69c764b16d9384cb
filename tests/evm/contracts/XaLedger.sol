// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import "WeftXAResource.sol";

// A business contract for the XA tests: balances that only move through the chain's XA proxy (plain writes go through
// the proxy's forward, steps through its step), each transfer undone exactly by its compensation.
contract XaLedger is WeftXAResource {
    mapping(address => uint256) public balanceOf;
    uint256 public totalSupply;

    error BalanceTooSmall(address who, uint256 balance, uint256 amount);

    event Moved(address indexed from, address indexed to, uint256 amount);

    constructor(address proxy, address holder, uint256 supply) WeftXAResource(proxy) {
        balanceOf[holder] = supply;
        totalSupply = supply;
    }

    function xaCompensation(bytes4 selector) external pure override returns (bytes4) {
        if (selector == this.transfer.selector) return this.undoTransfer.selector;
        return 0;
    }

    // Moves amount from the signer to `to`; answers the signer's new balance.
    function transfer(address to, uint256 amount) external onlyViaProxy returns (uint256) {
        address from = _signer();
        _move(from, to, amount);
        return balanceOf[from];
    }

    // The compensation: the step's own arguments and signer, the amount moved back.
    function undoTransfer(address to, uint256 amount) external onlyViaProxy onlyXARollback {
        _move(to, _signer(), amount);
    }

    function _move(address from, address to, uint256 amount) internal {
        if (balanceOf[from] < amount) revert BalanceTooSmall(from, balanceOf[from], amount);
        balanceOf[from] -= amount;
        balanceOf[to] += amount;
        emit Moved(from, to, amount);
    }
}
