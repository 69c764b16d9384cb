#include "config.h"

#include "error.h"

#include <boost/json.hpp>
#include <weft/text.hpp>

#include <set>

namespace weft::refchain {

namespace json = boost::json;

namespace {
[[noreturn]] void bad(const std::string &m) { throw Error(WEFT_E_INVALID_ARGUMENT, "chain config: " + m); }

uint64_t read_uint(const json::value &v, const char *key, uint64_t lo, uint64_t hi) {
  uint64_t n = 0;
  if (v.is_uint64())
    n = v.as_uint64();
  else if (v.is_int64() && v.as_int64() >= 0)
    n = static_cast<uint64_t>(v.as_int64());
  else
    bad(std::string(key) + " must be a non-negative integer");
  if (n < lo || n > hi)
    bad(std::string(key) + " must be between " + std::to_string(lo) + " and " + std::to_string(hi) + ", got " +
        std::to_string(n));
  return n;
}

bool valid_name(const std::string &s) { return text::is_name(s); }

std::vector<ResourceConfig> read_resources(const json::value &v) {
  if (!v.is_array()) bad("resources must be an array of {\"name\",\"contract\"}");
  std::vector<ResourceConfig> out;
  std::set<std::string> names;
  for (const auto &item : v.as_array()) {
    if (!item.is_object()) bad("each resource must be an object {\"name\",\"contract\"}");
    ResourceConfig r;
    for (const auto &[k, val] : item.as_object()) {
      if (k != "name" && k != "contract" && k != "asset")
        bad("unknown resource field \"" + std::string(k) + "\" (known: name, contract, asset)");
      if (!val.is_string()) bad("resource field " + std::string(k) + " must be a string");
      (k == "name" ? r.name : k == "contract" ? r.contract : r.asset) = val.as_string().c_str();
    }
    if (!valid_name(r.name)) bad("resource name \"" + r.name + "\" must be 1-64 letters, digits, '_' or '-'");
    if (r.name == kXaProxyResource)
      bad("resource name " + r.name + " is reserved: every reference chain has its XA proxy there already");
    if (r.contract != "kv" && r.contract != "asset" && r.contract != "htlc")
      bad("resource " + r.name + ": contract must be \"kv\", \"asset\" or \"htlc\", got \"" + r.contract + "\"");
    if (!names.insert(r.name).second) bad("resource " + r.name + " is listed twice");
    out.push_back(std::move(r));
  }
  if (auto problem = check_htlc_assets(out)) bad(*problem);
  return out;
}
} // namespace

static std::vector<std::string> read_nodes(const json::value &v) {
  if (!v.is_array() || v.as_array().empty()) bad("\"nodes\" must be a non-empty array of \"host:port\" strings");
  std::vector<std::string> out;
  for (const auto &n : v.as_array()) {
    if (!n.is_string()) bad("\"nodes\" must be a non-empty array of \"host:port\" strings");
    std::string s(n.as_string());
    auto colon = s.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == s.size())
      bad("node address \"" + s + "\" is not host:port");
    out.push_back(std::move(s));
  }
  return out;
}

ChainConfig parse_chain_config(std::string_view text) {
  ChainConfig c;
  c.ledger.resources = {{"store", "kv"}, {"token", "asset"}};
  if (text.empty()) return c;
  boost::system::error_code ec;
  json::value root = json::parse(json::string_view(text.data(), text.size()), ec);
  if (ec) bad("not valid JSON: " + ec.message());
  if (root.is_null()) return c;
  if (!root.is_object()) bad("must be a JSON object");
  for (const auto &[k, v] : root.as_object()) {
    if (k == "chain_id")
      c.ledger.chain_id = read_uint(v, "chain_id", 1, UINT64_MAX);
    else if (k == "validators")
      c.validators = static_cast<uint32_t>(read_uint(v, "validators", 1, 100));
    else if (k == "block_interval_ms")
      c.block_interval_ms = read_uint(v, "block_interval_ms", 1, 60000);
    else if (k == "empty_block_interval_ms")
      c.empty_block_interval_ms = read_uint(v, "empty_block_interval_ms", 1, 3600000);
    else if (k == "max_block_txs")
      c.ledger.max_block_txs = read_uint(v, "max_block_txs", 1, 100000);
    else if (k == "pool_limit")
      c.ledger.pool_limit = read_uint(v, "pool_limit", 1, 10000000);
    else if (k == "round_timeout_ms")
      c.round_timeout_ms = read_uint(v, "round_timeout_ms", 10, 600000);
    else if (k == "resources")
      c.ledger.resources = read_resources(v);
    else if (k == "nodes")
      c.nodes = read_nodes(v);
    else if (k == "xa_coordinator") {
      if (!v.is_string()) bad("xa_coordinator must be an address string \"0x\" + 40 hex digits");
      try {
        c.ledger.xa_coordinator = parse_address(std::string(v.as_string()));
      } catch (const std::exception &) {
        bad("xa_coordinator must be an address \"0x\" + 40 hex digits, got \"" + std::string(v.as_string()) + "\"");
      }
    } else if (k == "block_time_offset_ms") {
      int64_t n = 0;
      if (v.is_int64())
        n = v.as_int64();
      else if (v.is_uint64() && v.as_uint64() <= static_cast<uint64_t>(kMaxBlockTimeOffsetMs))
        n = static_cast<int64_t>(v.as_uint64());
      else
        bad("block_time_offset_ms must be an integer (milliseconds, may be negative)");
      if (n < -kMaxBlockTimeOffsetMs || n > kMaxBlockTimeOffsetMs)
        bad("block_time_offset_ms must be between -" + std::to_string(kMaxBlockTimeOffsetMs) + " and " +
            std::to_string(kMaxBlockTimeOffsetMs) + ", got " + std::to_string(n));
      c.block_time_offset_ms = n;
    } else if (k == "remote_connections") {
      c.remote_connections = static_cast<uint32_t>(read_uint(v, "remote_connections", 1, 256));
    } else if (k == "remote_io") {
      if (!v.is_string() || (v.as_string() != "host" && v.as_string() != "thread"))
        bad("remote_io must be \"host\" (answers read on the router's I/O threads) or \"thread\" (on the "
            "plugin's own thread per connection)");
      c.remote_io_thread = v.as_string() == "thread";
    } else {
      bad("unknown key \"" + std::string(k) +
          "\" (known: chain_id, validators, block_interval_ms, empty_block_interval_ms, round_timeout_ms, "
          "max_block_txs, pool_limit, resources, nodes, remote_connections, remote_io, xa_coordinator, "
          "block_time_offset_ms)");
    }
  }
  if (c.empty_block_interval_ms < c.block_interval_ms)
    bad("empty_block_interval_ms must not be below block_interval_ms");
  return c;
}

} // namespace weft::refchain
