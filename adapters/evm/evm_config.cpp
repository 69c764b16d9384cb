#include "evm_config.h"

#include <weft/adapter.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include <fcntl.h>
#include <unistd.h>

namespace weft::evm {

namespace json = boost::json;
using plugin::Failure;

namespace options {

[[noreturn]] void bad(const std::string &message) { throw Failure(WEFT_E_INVALID_ARGUMENT, message); }

void only_keys(const json::object &o, const std::set<std::string> &allowed, const std::string &where) {
  for (const auto &kv : o)
    if (!allowed.contains(std::string(kv.key()))) {
      std::string list;
      for (const auto &a : allowed) list += (list.empty() ? "" : ", ") + a;
      bad(where + ": unknown key '" + std::string(kv.key()) + "' (known: " + list + ")");
    }
}

std::string text(const json::object &o, const char *key, const std::string &where) {
  const auto *v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) bad(where + "." + key + " must be a string");
  return std::string(v->as_string());
}

std::uint64_t number(const json::object &o, const char *key, std::uint64_t def, std::uint64_t lo, std::uint64_t hi,
                     const std::string &where) {
  const auto *v = o.if_contains(key);
  if (v == nullptr) return def;
  std::uint64_t n = 0;
  if (v->is_uint64())
    n = v->as_uint64();
  else if (v->is_int64() && v->as_int64() >= 0)
    n = static_cast<std::uint64_t>(v->as_int64());
  else
    bad(where + "." + key + " must be a non-negative integer, got " + json::serialize(*v));
  if (n < lo || n > hi)
    bad(where + "." + key + " must be between " + std::to_string(lo) + " and " + std::to_string(hi) + ", got " +
        std::to_string(n));
  return n;
}

std::string read_file(const std::string &path, const std::string &where) {
  std::ifstream in(path, std::ios::binary);
  if (!in) bad(where + ": cannot read the ABI file '" + path + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool name_ok(const std::string &s, size_t max) {
  return !s.empty() && s.size() <= max &&
         s.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == std::string::npos;
}

ResourceConfig contract(const json::object &ro, const std::string &where, abi::Hasher h) {
  ResourceConfig rc;
  rc.name = text(ro, "name", where);
  if (!name_ok(rc.name)) bad(where + ".name '" + rc.name + "' must be 1-64 characters of letters, digits, _ and -");
  auto addr = parse_address(text(ro, "address", where));
  if (!addr.ok()) bad(where + ".address: " + addr.error().message);
  rc.address = *addr;
  const bool has_file = ro.contains("abi_file"), has_inline = ro.contains("abi");
  if (has_file == has_inline) bad(where + ": give exactly one of abi_file and abi");
  if (has_file) {
    rc.abi_file = text(ro, "abi_file", where);
    rc.abi = load_abi(read_file(rc.abi_file, where), where + ": ABI file '" + rc.abi_file + "'", h);
  } else {
    const auto &inline_abi = ro.at("abi");
    rc.abi = load_abi(inline_abi.is_string() ? std::string(inline_abi.as_string()) : json::serialize(inline_abi),
                      where + ".abi", h);
  }
  return rc;
}

void tls(const json::object &to, RpcOptions &rpc) {
  if (to.contains("ca_file")) rpc.ca_file = text(to, "ca_file", "options.tls");
  if (to.contains("cert_file")) rpc.cert_file = text(to, "cert_file", "options.tls");
  if (to.contains("key_file")) rpc.key_file = text(to, "key_file", "options.tls");
  if (rpc.cert_file.empty() != rpc.key_file.empty())
    bad("options.tls: cert_file and key_file go together (a client certificate needs its key)");
  if (const auto *verify = to.if_contains("verify")) {
    if (!verify->is_bool()) bad("options.tls.verify must be true or false");
    rpc.verify = verify->as_bool();
  }
  if (!rpc.endpoint.tls) bad("options.tls is set but options.url is not https://");
}

bool rpc_io_thread(const json::object &o) {
  const auto *io = o.if_contains("rpc_io");
  if (io == nullptr) return false;
  const std::string s = io->is_string() ? std::string(io->as_string()) : "";
  if (s != "host" && s != "thread") bad("options.rpc_io must be host or thread, got " + json::serialize(*io));
  return s == "thread";
}

} // namespace options

using namespace options;

namespace {

// Wei amounts: a JSON integer, or a decimal or 0x string (amounts above 2^64 do not fit a YAML integer).
U256 amount(const json::value &v, const std::string &where) {
  if (v.is_uint64()) return U256::from_u64(v.as_uint64());
  if (v.is_int64() && v.as_int64() >= 0) return U256::from_u64(static_cast<std::uint64_t>(v.as_int64()));
  if (v.is_string()) {
    auto u = U256::parse(std::string_view(v.as_string()));
    if (u.ok()) return *u;
    bad(where + ": " + u.error().message);
  }
  bad(where + " must be an amount in wei (an integer or a decimal string), got " + json::serialize(v));
}

} // namespace

std::shared_ptr<const abi::ContractAbi> load_abi(const std::string &text, const std::string &origin, abi::Hasher h) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec) bad(origin + " is not JSON: " + ec.message());
  // solc --abi writes an array; standard JSON output and build artifacts wrap it as {"abi":[...]}.
  if (v.is_object()) {
    const auto *inner = v.as_object().if_contains("abi");
    if (inner == nullptr) bad(origin + " is a JSON object without an \"abi\" array");
    v = *inner;
  }
  if (!v.is_array()) bad(origin + " must be a JSON array of ABI entries");
  auto parsed = abi::parse_abi_json(json::serialize(v), h);
  if (!parsed.ok()) bad(origin + ": " + parsed.error().message);
  return std::make_shared<const abi::ContractAbi>(std::move(*parsed));
}

json::object registered_json(const ResourceConfig &rc, const std::string &abi_text) {
  json::object entry{{"name", rc.name}, {"address", lower_address(rc.address)}, {"abi", abi_text}};
  if (rc.kind != "evm") entry["kind"] = rc.kind;
  if (rc.asset) entry["asset"] = lower_address(*rc.asset);
  return entry;
}

ResourceConfig registered_entry(const json::object &o, const std::string &origin, abi::Hasher h) {
  auto text_of = [&](const char *key) {
    const auto *v = o.if_contains(key);
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
  };
  ResourceConfig rc;
  rc.name = text_of("name");
  if (!name_ok(rc.name)) throw Failure(WEFT_E_INTERNAL, origin + " holds an entry with a bad name '" + rc.name + "'");
  auto addr = parse_address(text_of("address"));
  if (!addr.ok()) throw Failure(WEFT_E_INTERNAL, origin + ": resource '" + rc.name + "' has no valid address");
  rc.address = *addr;
  rc.abi = load_abi(text_of("abi"), origin + ": resource '" + rc.name + "'", h);
  if (const std::string kind = text_of("kind"); !kind.empty()) {
    if (kind != "xa-proxy" && kind != "htlc") throw Failure(WEFT_E_INTERNAL, origin + ": unknown kind '" + kind + "'");
    rc.kind = kind;
  }
  if (rc.kind == "htlc") {
    auto asset = parse_address(text_of("asset"));
    if (!asset.ok()) throw Failure(WEFT_E_INTERNAL, origin + ": HTLC '" + rc.name + "' without its asset's address");
    rc.asset = *asset;
  }
  return rc;
}

void replace_file_durably(const std::string &path, const std::string &text) {
  const std::string tmp = path + ".tmp";
  bool ok = false;
  if (int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600); fd >= 0) {
    ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
    ok = ::close(fd) == 0 && ok;
  }
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    throw Failure(WEFT_E_INTERNAL, "cannot write " + path + ": " + why);
  }
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  if (int d = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); d >= 0) {
    ::fsync(d);
    ::close(d);
  }
}

EvmConfig parse_evm_config(const std::string &config_json) {
  EvmConfig c;
  boost::system::error_code ec;
  auto v = json::parse(config_json.empty() ? "{}" : config_json, ec);
  if (ec || !v.is_object()) bad("options must be a mapping");
  const auto &o = v.as_object();
  only_keys(o,
            {"url", "chain_id", "tx_type", "gas_price", "max_priority_fee", "confirmations", "poll_ms",
             "replace_after_blocks", "gas_margin_percent", "request_timeout_ms", "max_connections", "tls",
             "rpc_io", "resources"},
            "options");
  if (!o.contains("url")) bad("options.url is required: the node's JSON-RPC address, e.g. http://127.0.0.1:8545");
  std::string error;
  auto endpoint = parse_url(text(o, "url", "options"), error);
  if (!endpoint) bad("options." + error);
  c.rpc.endpoint = *endpoint;
  c.rpc.max_connections = static_cast<unsigned>(number(o, "max_connections", 8, 1, 256, "options"));
  if (const auto *t = o.if_contains("tls")) {
    if (!t->is_object()) bad("options.tls must be a mapping");
    const auto &to = t->as_object();
    only_keys(to, {"ca_file", "cert_file", "key_file", "verify"}, "options.tls");
    options::tls(to, c.rpc);
  }
  if (o.contains("chain_id")) c.chain_id = number(o, "chain_id", 0, 1, UINT64_MAX / 2 - 36, "options");
  if (const auto *t = o.if_contains("tx_type")) {
    const std::string s = t->is_string() ? std::string(t->as_string()) : "";
    if (s == "legacy")
      c.tx_type = TxType::Legacy;
    else if (s == "eip1559")
      c.tx_type = TxType::Eip1559;
    else
      bad("options.tx_type must be legacy or eip1559, got " + json::serialize(*t));
  }
  if (const auto *g = o.if_contains("gas_price")) c.gas_price = amount(*g, "options.gas_price");
  if (const auto *g = o.if_contains("max_priority_fee")) c.max_priority_fee = amount(*g, "options.max_priority_fee");
  if (c.gas_price && c.tx_type != TxType::Legacy) bad("options.gas_price applies to tx_type legacy only");
  if (c.max_priority_fee && c.tx_type != TxType::Eip1559)
    bad("options.max_priority_fee applies to tx_type eip1559 only");
  c.confirmations = number(o, "confirmations", 0, 0, 1000, "options");
  c.poll_ms = number(o, "poll_ms", 1000, 20, 60000, "options");
  c.replace_after_blocks = number(o, "replace_after_blocks", 20, 1, 100000, "options");
  c.gas_margin_percent = number(o, "gas_margin_percent", 25, 0, 1000, "options");
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
      only_keys(ro, {"name", "address", "abi_file", "abi", "gas_limit"}, where);
      ResourceConfig rc = contract(ro, where, abi::keccak);
      if (!names.insert(rc.name).second) bad(where + ": resource '" + rc.name + "' is listed twice");
      if (ro.contains("gas_limit")) rc.gas_limit = number(ro, "gas_limit", 0, 21000, 1000000000, where);
      c.resources.push_back(std::move(rc));
    }
  }
  return c;
}

} // namespace weft::evm
