// The Solidity stubs compiled at build time (stubs/evm/): {"WeftXAProxy": {"abi": [...], "bytecode": "0x..."},
// "WeftHTLC": ..., "IERC20": ...}, as solc (pinned in tests/evm/package.json, evmVersion paris) wrote them.
#pragma once

namespace weft::evm {
const char *stub_artifacts_json();
}
