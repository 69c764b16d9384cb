// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

// The EVM adapter's test contract: state, events, every way a transaction can fail, and functions that echo the
// common ABI types so that arguments survive the trip through the router both ways.
contract Shop {
    struct Item {
        uint256 id;
        string label;
    }

    error SoldOut(uint256 id, string label);

    mapping(string => uint256) public stock;
    uint256 public total;
    address public owner;

    event Stocked(address indexed by, string item, uint256 count, uint256 total);

    constructor() {
        owner = msg.sender;
    }

    function add(string calldata item, uint256 count) external returns (uint256) {
        require(count > 0, "count must be positive");
        stock[item] += count;
        total += count;
        emit Stocked(msg.sender, item, count, total);
        return stock[item];
    }

    function take(string calldata item, uint256 count) external returns (uint256) {
        if (stock[item] < count) revert SoldOut(count, item);
        stock[item] -= count;
        total -= count;
        return stock[item];
    }

    function overflow(uint8 a, uint8 b) external pure returns (uint8) {
        return a + b; // panics with 0x11 on overflow
    }

    function whoami() external view returns (address) {
        return msg.sender;
    }

    function echoScalars(uint8 a, int256 b, address c, bool d, bytes32 e, uint24 f, int8 g)
        external pure returns (uint8, int256, address, bool, bytes32, uint24, int8)
    {
        return (a, b, c, d, e, f, g);
    }

    function echoDynamic(bytes calldata a, string calldata b, uint256[] calldata c, string[2] calldata d)
        external pure returns (bytes memory, string memory, uint256[] memory, string[2] memory)
    {
        return (a, b, c, d);
    }

    function echoItems(Item[] calldata items) external pure returns (Item[] memory, uint256) {
        return (items, items.length);
    }
}
