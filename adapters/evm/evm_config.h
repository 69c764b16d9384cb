// A chain's `options` for the EVM adapter (docs/config.md, "EVM chains"), checked in full at open: an unknown key, a
// bad value, an unreadable or malformed ABI file is refused with its name, so a typo never becomes a silent default.
#pragma once

#include "abi.h"
#include "json_rpc.h"

#include <boost/json/object.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace weft::evm {

struct ResourceConfig {
  std::string name;
  Address address{};
  std::string abi_file; // where the ABI came from, for messages ("" when inline)
  std::shared_ptr<const abi::ContractAbi> abi;
  std::optional<std::uint64_t> gas_limit; // fixed gas for its transactions; otherwise estimated
  // What the contract is to the adapter: "evm" (a business contract), "xa-proxy" (the chain's WeftXAProxy, resource
  // WeCrossProxy) or "htlc" (a WeftHTLC escrowing the ERC-20 token at `asset`). Stubs come from deploy_stubs.
  std::string kind = "evm";
  std::optional<Address> asset;
};

enum class TxType { Legacy, Eip1559 };

struct EvmConfig {
  RpcOptions rpc;
  std::optional<std::uint64_t> chain_id; // checked against eth_chainId; absent: the node's is taken
  TxType tx_type = TxType::Eip1559;
  std::optional<U256> gas_price;         // legacy: fixed gas price (wei); absent: eth_gasPrice
  std::optional<U256> max_priority_fee;  // EIP-1559 tip (wei); absent: eth_maxPriorityFeePerGas
  std::uint64_t confirmations = 0;       // blocks on top of a transaction's block before it counts as final
  std::uint64_t poll_ms = 1000;          // head polling interval
  std::uint64_t replace_after_blocks = 20;
  std::uint64_t gas_margin_percent = 25; // added to eth_estimateGas's figure
  std::uint64_t request_timeout_ms = 10000;
  // Plain calls wait for the node on the router's own threads (HostRpc) when the router lends its loop and the
  // endpoint allows; rpc_io: thread keeps them on the chain's thread, as every other request is.
  bool rpc_io_thread = false;
  std::vector<ResourceConfig> resources;
};

// Throws plugin::Failure(WEFT_E_INVALID_ARGUMENT, message) on anything wrong.
EvmConfig parse_evm_config(const std::string &json);
// Reads an ABI (solc's JSON: an array, or an object with an "abi" array as solc's standard output and most toolchains
// write it) from text; `origin` names it in errors. `h` makes selectors and topics (SM3 on FISCO BCOS's GM chains).
std::shared_ptr<const abi::ContractAbi> load_abi(const std::string &text, const std::string &origin,
                                                 abi::Hasher h = abi::keccak);

// One entry of a chain's registered resources (<data_dir>/resources.json): {name, address, abi, kind?, asset?}.
// registered_entry throws plugin::Failure naming `origin` for a malformed entry.
boost::json::object registered_json(const ResourceConfig &rc, const std::string &abi_text);
ResourceConfig registered_entry(const boost::json::object &entry, const std::string &origin, abi::Hasher h);

// Replaces the file at path with text so that a crash leaves the old content or the new, never part of either: a
// temporary file beside it, synced, renamed over it, and the directory synced. Throws plugin::Failure naming the path.
void replace_file_durably(const std::string &path, const std::string &text);

// The checks of a chain's options that the EVM and FISCO BCOS adapters share. Each throws
// plugin::Failure(WEFT_E_INVALID_ARGUMENT) with a message naming the key (`where` is its parent, e.g. "options").
namespace options {
[[noreturn]] void bad(const std::string &message);
void only_keys(const boost::json::object &o, const std::set<std::string> &allowed, const std::string &where);
std::string text(const boost::json::object &o, const char *key, const std::string &where);
// The key's integer in lo..hi, or def when the key is absent.
std::uint64_t number(const boost::json::object &o, const char *key, std::uint64_t def, std::uint64_t lo,
                     std::uint64_t hi, const std::string &where);
// A whole file, for an ABI file named under `where`.
std::string read_file(const std::string &path, const std::string &where);
// A resource name: 1..max characters of letters, digits, _ and -.
bool name_ok(const std::string &s, size_t max = 64);
// One entry of options.resources (its keys already checked by the caller): name, address, and the ABI from abi_file
// or inline abi, its selectors made with h.
ResourceConfig contract(const boost::json::object &ro, const std::string &where, abi::Hasher h);
// options.tls's ca_file, cert_file, key_file and verify into rpc (the caller has checked the keys); refused unless
// rpc.endpoint is https://.
void tls(const boost::json::object &to, RpcOptions &rpc);
// options.rpc_io: true for `thread`, false for `host` or when absent.
bool rpc_io_thread(const boost::json::object &o);
} // namespace options

} // namespace weft::evm
