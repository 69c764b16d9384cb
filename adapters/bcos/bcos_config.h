// A chain's `options` for the FISCO BCOS adapter (docs/config.md, "FISCO BCOS chains"), checked in full at open: an
// unknown key, a bad value, an unreadable or malformed ABI file is refused with its name. The stub type decides the
// version (BCOS2.0 / BCOS3) and the crypto (GM_ types: SM2 and SM3), so the same keys serve all four.
#pragma once

#include "abi.h"
#include "bcos_tx.h"
#include "evm_config.h"
#include "json_rpc.h"

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace weft::bcos {

enum class Version { V2, V3 };

// A deployed contract: name, address, where its ABI came from, the ABI (the EVM adapter's shape; gas_limit unused).
using BcosResource = evm::ResourceConfig;

// A deque, so resources registered at run time join without moving the ones in use.
using Resources = std::deque<BcosResource>;

struct BcosConfig {
  Version version = Version::V2;
  Crypto crypto = Crypto::Ecdsa;
  evm::RpcOptions rpc;
  std::uint64_t group2 = 1;         // 2.x: the group id, an integer
  std::string group3 = "group0";    // 3.x: the group id, a string
  std::uint64_t chain_id2 = 1;      // 2.x: signed into every transaction
  std::string chain_id3 = "chain0"; // 3.x
  std::uint64_t poll_ms = 500;      // receipts of sent 2.x transactions are read this often
  std::uint64_t block_limit_margin = 500;
  std::uint64_t request_timeout_ms = 10000;
  bool rpc_io_thread = false; // options.rpc_io: thread keeps calls on the chain's own thread (evm::HostCalls)
  Resources resources;
};

// The stub types served: BCOS2.0, GM_BCOS2.0, BCOS3, GM_BCOS3. Throws plugin::Failure(WEFT_E_INVALID_ARGUMENT) on
// anything wrong, WEFT_E_UNSUPPORTED for a stub type it does not serve or SM TLS.
BcosConfig parse_bcos_config(const std::string &stub_type, const std::string &json);
// An ABI (solc's JSON array, or an object with an "abi" array) with selectors and topics made by the chain's hash;
// throws plugin::Failure(WEFT_E_INVALID_ARGUMENT) naming `origin`.
std::shared_ptr<const evm::abi::ContractAbi> load_abi(const std::string &text, const std::string &origin, Crypto c);
// 1-64 letters, digits, _ and -: resource, group and chain names.
using evm::options::name_ok;

} // namespace weft::bcos
