#include "bcos_config.h"

#include "evm_config.h"

#include <weft/adapter.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <set>

namespace weft::bcos {

namespace json = boost::json;
using plugin::Failure;

// The option checks the EVM adapter's config uses too (evm_config.h).
using namespace evm::options;

std::shared_ptr<const evm::abi::ContractAbi> load_abi(const std::string &text, const std::string &origin, Crypto c) {
  // GM chains make selectors and event topics with SM3.
  return evm::load_abi(text, origin, hasher_of(c));
}

BcosConfig parse_bcos_config(const std::string &stub_type, const std::string &config_json) {
  BcosConfig c;
  if (stub_type == "BCOS2.0" || stub_type == "GM_BCOS2.0")
    c.version = Version::V2;
  else if (stub_type == "BCOS3" || stub_type == "GM_BCOS3")
    c.version = Version::V3;
  else
    throw Failure(WEFT_E_UNSUPPORTED,
                  "this library serves the stub types BCOS2.0, GM_BCOS2.0, BCOS3 and GM_BCOS3, not '" + stub_type +
                      "'");
  c.crypto = stub_type.starts_with("GM_") ? Crypto::Sm : Crypto::Ecdsa;
  const bool v2 = c.version == Version::V2;

  boost::system::error_code ec;
  auto v = json::parse(config_json.empty() ? "{}" : config_json, ec);
  if (ec || !v.is_object()) bad("options must be a mapping");
  const auto &o = v.as_object();
  only_keys(o,
            {"url", "group", "chain_id", "tls", "resources", "poll_ms", "block_limit_margin", "request_timeout_ms",
             "rpc_io"},
            "options");
  if (!o.contains("url"))
    bad(std::string("options.url is required: the node's JSON-RPC address, e.g. ") +
        (v2 ? "http://127.0.0.1:8545" : "http://127.0.0.1:20200"));
  std::string error;
  auto endpoint = evm::parse_url(text(o, "url", "options"), error);
  if (!endpoint) bad("options." + error);
  c.rpc.endpoint = *endpoint;
  c.rpc.max_connections = 4;

  if (const auto *t = o.if_contains("tls")) {
    if (!t->is_object()) bad("options.tls must be a mapping");
    const auto &to = t->as_object();
    only_keys(to, {"ca_file", "cert_file", "key_file", "verify", "sm"}, "options.tls");
    if (const auto *sm = to.if_contains("sm")) {
      if (!sm->is_bool()) bad("options.tls.sm must be true or false");
      if (sm->as_bool())
        throw Failure(WEFT_E_UNSUPPORTED,
                      "options.tls.sm: SM TLS (TLCP, the guomi TLS of GB/T 38636) is not offered: OpenSSL 3.0, which "
                      "Weft is built with, cannot do TLCP. Give the node's RPC standard TLS (sm_crypto only for the "
                      "ledger) or plain HTTP on its loopback, with the router beside the node");
    }
    evm::options::tls(to, c.rpc);
  }

  if (v2) {
    c.group2 = number(o, "group", 1, 1, 32767, "options");
    c.chain_id2 = number(o, "chain_id", 1, 0, UINT64_MAX, "options");
  } else {
    if (const auto *g = o.if_contains("group")) {
      if (!g->is_string())
        bad("options.group must be a string on FISCO BCOS 3.x (e.g. group0), got " + json::serialize(*g));
      c.group3 = std::string(g->as_string());
      if (!name_ok(c.group3, 64)) bad("options.group '" + c.group3 + "' must be 1-64 letters, digits, _ and -");
    }
    if (const auto *id = o.if_contains("chain_id")) {
      if (!id->is_string())
        bad("options.chain_id must be a string on FISCO BCOS 3.x (e.g. chain0), got " + json::serialize(*id));
      c.chain_id3 = std::string(id->as_string());
      if (!name_ok(c.chain_id3, 64))
        bad("options.chain_id '" + c.chain_id3 + "' must be 1-64 letters, digits, _ and -");
    }
  }
  c.poll_ms = number(o, "poll_ms", 500, 20, 60000, "options");
  // 2.x's transaction pool takes a block limit up to 1000 blocks ahead, 3.x's up to 600.
  c.block_limit_margin = number(o, "block_limit_margin", 500, 1, v2 ? 1000 : 600, "options");
  c.request_timeout_ms = number(o, "request_timeout_ms", 10000, 100, 600000, "options");
  c.rpc_io_thread = rpc_io_thread(o);

  if (const auto *r = o.if_contains("resources")) {
    if (!r->is_array()) bad("options.resources must be a list");
    std::set<std::string> names;
    size_t i = 0;
    for (const auto &item : r->as_array()) {
      const std::string where = "options.resources[" + std::to_string(i++) + "]";
      if (!item.is_object()) bad(where + " must be a mapping");
      const auto &ro = item.as_object();
      only_keys(ro, {"name", "address", "abi_file", "abi"}, where);
      BcosResource rc = contract(ro, where, hasher_of(c.crypto));
      if (!names.insert(rc.name).second) bad(where + ": resource '" + rc.name + "' is listed twice");
      c.resources.push_back(std::move(rc));
    }
  }
  return c;
}

} // namespace weft::bcos
