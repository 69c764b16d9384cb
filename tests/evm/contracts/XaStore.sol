// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import "WeftXAResource.sol";

// A key-value business contract for the XA tests: a step's set keeps the value it replaced under the step's (key,
// seq), so its compensation restores exactly what was there, absent values included.
contract XaStore is WeftXAResource {
    struct Old {
        bool existed;
        string value;
    }

    mapping(string => string) private values;
    mapping(string => bool) private present;
    mapping(bytes32 => mapping(uint256 => Old)) private undo;

    constructor(address proxy) WeftXAResource(proxy) {}

    function xaCompensation(bytes4 selector) external pure override returns (bytes4) {
        if (selector == this.set.selector) return this.undoSet.selector;
        return 0;
    }

    function set(string calldata key, string calldata value) external onlyViaProxy returns (string memory) {
        bytes32 k = _xaKey();
        if (k != 0) undo[k][_xaSeq()] = Old(present[key], values[key]);
        values[key] = value;
        present[key] = true;
        return value;
    }

    function undoSet(string calldata key, string calldata) external onlyViaProxy onlyXARollback {
        Old storage o = undo[_xaKey()][_xaSeq()];
        if (o.existed) {
            values[key] = o.value;
        } else {
            delete values[key];
            delete present[key];
        }
    }

    function get(string calldata key) external view returns (string memory) {
        return values[key];
    }

    function has(string calldata key) external view returns (bool) {
        return present[key];
    }
}
