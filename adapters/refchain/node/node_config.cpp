#include "node_config.h"

#include "config.h"
#include "host_port.h"
#include "validator_key.h"

#include <weft/text.hpp>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <tuple>

namespace weft::refchain::node {

namespace fs = std::filesystem;

namespace {

const char *const kKeys[] = {"chain_id",
                             "index",
                             "key_file",
                             "data_dir",
                             "listen",
                             "client_listen",
                             "validators",
                             "resources",
                             "block_interval_ms",
                             "empty_block_interval_ms",
                             "max_block_txs",
                             "pool_limit",
                             "round_timeout_ms",
                             "client_max_connections",
                             "client_idle_timeout_ms",
                             "peer_idle_timeout_ms",
                             "log_level",
                             "ready_file",
                             "xa_coordinator",
                             "block_time_offset_ms"};

// Collects problems with their positions, so a user fixes the whole file at once.
struct Problems {
  std::string file;
  std::vector<std::tuple<int, int, std::string>> items;
  void add(const YAML::Mark &m, const std::string &what) {
    items.emplace_back(m.is_null() ? 1 : m.line + 1, m.is_null() ? 1 : m.column + 1, what);
  }
  void raise() {
    if (items.empty()) return;
    std::sort(items.begin(), items.end());
    std::string msg;
    for (const auto &[l, c, w] : items)
      msg += (msg.empty() ? "" : "\n") + file + ":" + std::to_string(l) + ":" + std::to_string(c) + ": " + w;
    throw ConfigError(msg);
  }
};

class Reader {
public:
  explicit Reader(Problems &p) : p_(p) {}

  bool uint(const YAML::Node &n, const std::string &key, uint64_t lo, uint64_t hi, uint64_t &out) {
    std::string s = n.IsScalar() ? n.Scalar() : "";
    if (s.empty() || s.size() > 20 || s.find_first_not_of("0123456789") != std::string::npos) {
      p_.add(n.Mark(), key + " must be a non-negative integer");
      return false;
    }
    uint64_t v = 0;
    try {
      v = std::stoull(s);
    } catch (...) {
      p_.add(n.Mark(), key + " is too large");
      return false;
    }
    if (v < lo || v > hi) {
      p_.add(n.Mark(), key + " must be between " + std::to_string(lo) + " and " + std::to_string(hi) + ", got " + s);
      return false;
    }
    out = v;
    return true;
  }

  bool text(const YAML::Node &n, const std::string &key, std::string &out) {
    if (!n.IsScalar() || n.Scalar().empty()) {
      p_.add(n.Mark(), key + " must be a non-empty string");
      return false;
    }
    out = n.Scalar();
    return true;
  }

  bool host_port(const YAML::Node &n, const std::string &key, std::string &out) {
    if (!text(n, key, out)) return false;
    try {
      net::split_host_port(out);
    } catch (const std::exception &e) {
      p_.add(n.Mark(), key + ": " + e.what());
      return false;
    }
    return true;
  }

  // A mapping's entries with unknown keys refused; returns key -> value.
  std::map<std::string, YAML::Node> fields(const YAML::Node &n, const std::string &what,
                                           const std::set<std::string> &known) {
    std::map<std::string, YAML::Node> out;
    if (!n.IsMap()) {
      p_.add(n.Mark(), what + " must be a mapping");
      return out;
    }
    for (auto it = n.begin(); it != n.end(); ++it) {
      std::string k = it->first.Scalar();
      if (!known.count(k)) {
        std::string list;
        for (const auto &s : known)
          list += (list.empty() ? "" : ", ") + s;
        p_.add(it->first.Mark(), "unknown key '" + k + "' in " + what + " (known: " + list + ")");
      } else if (!out.emplace(k, it->second).second) {
        p_.add(it->first.Mark(), "duplicate key '" + k + "' in " + what);
      }
    }
    return out;
  }

private:
  Problems &p_;
};

bool valid_name(const std::string &s) { return text::is_name(s); }

std::string resolve(const fs::path &base, const std::string &p) {
  if (p.empty() || fs::path(p).is_absolute()) return p;
  return (base / p).lexically_normal().string();
}

} // namespace

NodeConfig load_node_config(const std::string &path) {
  Problems problems{path, {}};
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile &) {
    throw ConfigError(path + ":1:1: cannot read the file");
  } catch (const YAML::ParserException &e) {
    problems.add(e.mark, "YAML syntax error: " + e.msg);
    problems.raise();
  }
  NodeConfig c;
  Reader r(problems);
  auto f = r.fields(root, "node config", std::set<std::string>(std::begin(kKeys), std::end(kKeys)));
  if (!root.IsMap()) problems.raise(); // nothing more to say about a file that is not a mapping
  auto need = [&](const char *k) -> const YAML::Node * {
    auto it = f.find(k);
    if (it != f.end()) return &it->second;
    problems.add(root.Mark(), std::string("missing required key '") + k + "'");
    return nullptr;
  };
  auto opt = [&](const char *k) -> const YAML::Node * {
    auto it = f.find(k);
    return it == f.end() ? nullptr : &it->second;
  };
  uint64_t v = 0;
  if (auto n = opt("chain_id"); n && r.uint(*n, "chain_id", 1, UINT64_MAX, v)) c.chain_id = v;
  const YAML::Node *index_node = need("index");
  if (index_node && r.uint(*index_node, "index", 0, 99, v)) c.index = static_cast<uint32_t>(v);
  if (auto n = need("key_file")) r.text(*n, "key_file", c.key_file);
  if (auto n = need("data_dir")) r.text(*n, "data_dir", c.data_dir);
  if (auto n = need("listen")) r.host_port(*n, "listen", c.listen);
  if (auto n = need("client_listen")) r.host_port(*n, "client_listen", c.client_listen);
  if (auto n = opt("block_interval_ms"); n && r.uint(*n, "block_interval_ms", 1, 60000, v)) c.block_interval_ms = v;
  if (auto n = opt("empty_block_interval_ms"); n && r.uint(*n, "empty_block_interval_ms", 1, 3600000, v))
    c.empty_block_interval_ms = v;
  if (auto n = opt("max_block_txs"); n && r.uint(*n, "max_block_txs", 1, 100000, v)) c.max_block_txs = v;
  if (auto n = opt("pool_limit"); n && r.uint(*n, "pool_limit", 1, 10000000, v)) c.pool_limit = v;
  if (auto n = opt("round_timeout_ms"); n && r.uint(*n, "round_timeout_ms", 10, 600000, v)) c.round_timeout_ms = v;
  if (auto n = opt("client_max_connections"); n && r.uint(*n, "client_max_connections", 1, 1000000, v))
    c.client_max_connections = v;
  if (auto n = opt("client_idle_timeout_ms"); n && r.uint(*n, "client_idle_timeout_ms", 1000, 86400000, v))
    c.client_idle_timeout_ms = v;
  // Validators announce their status every 500 ms: a shorter bound would drop healthy links.
  if (auto n = opt("peer_idle_timeout_ms"); n && r.uint(*n, "peer_idle_timeout_ms", 2000, 3600000, v))
    c.peer_idle_timeout_ms = v;
  if (auto n = opt("ready_file")) r.text(*n, "ready_file", c.ready_file);
  if (std::string coordinator; opt("xa_coordinator") && r.text(*opt("xa_coordinator"), "xa_coordinator", coordinator)) {
    try {
      c.xa_coordinator = parse_address(coordinator);
    } catch (const std::exception &) {
      problems.add(opt("xa_coordinator")->Mark(), "xa_coordinator must be 0x followed by 40 hex digits");
    }
  }
  if (auto n = opt("block_time_offset_ms")) {
    std::string s = n->IsScalar() ? n->Scalar() : "";
    size_t digits = !s.empty() && (s[0] == '-' || s[0] == '+') ? 1 : 0;
    if (s.size() <= digits || s.size() > 20 || s.find_first_not_of("0123456789", digits) != std::string::npos)
      problems.add(n->Mark(), "block_time_offset_ms must be an integer (milliseconds, may be negative)");
    else if (int64_t v = std::stoll(s); v < -kMaxBlockTimeOffsetMs || v > kMaxBlockTimeOffsetMs)
      problems.add(n->Mark(), "block_time_offset_ms must be between -" + std::to_string(kMaxBlockTimeOffsetMs) +
                                  " and " + std::to_string(kMaxBlockTimeOffsetMs) + ", got " + s);
    else
      c.block_time_offset_ms = v;
  }
  if (auto n = opt("log_level"); n && r.text(*n, "log_level", c.log_level)) {
    static const std::set<std::string> levels{"debug", "info", "warn", "error"};
    if (!levels.count(c.log_level)) problems.add(n->Mark(), "log_level must be debug, info, warn or error");
  }
  if (c.empty_block_interval_ms < c.block_interval_ms)
    if (auto n = opt("empty_block_interval_ms"))
      problems.add(n->Mark(), "empty_block_interval_ms must not be below block_interval_ms");
  if (auto n = need("validators")) {
    if (!n->IsSequence() || n->size() == 0) {
      problems.add(n->Mark(), "validators must be a non-empty list of {address, peer}");
    } else {
      std::set<Address> seen;
      for (const auto &item : *n) {
        auto vf = r.fields(item, "a validator", {"address", "peer"});
        NodeValidator nv;
        std::string addr;
        if (!vf.count("address") || !vf.count("peer")) {
          problems.add(item.Mark(), "a validator needs both address and peer");
        } else if (r.text(vf["address"], "address", addr)) {
          try {
            nv.address = parse_address(addr);
            if (!seen.insert(nv.address).second)
              problems.add(vf["address"].Mark(), "validator " + addr + " is listed twice");
          } catch (const std::exception &) {
            problems.add(vf["address"].Mark(), "address must be 0x followed by 40 hex digits");
          }
          r.host_port(vf["peer"], "peer", nv.peer);
        }
        c.validators.push_back(nv);
      }
      if (index_node && c.index >= c.validators.size())
        problems.add(index_node->Mark(), "index " + std::to_string(c.index) + " is not in the validator list (" +
                                             std::to_string(c.validators.size()) + " validators)");
    }
  }
  if (auto n = opt("resources")) {
    c.resources.clear();
    std::set<std::string> names;
    if (!n->IsSequence()) problems.add(n->Mark(), "resources must be a list of {name, contract}");
    for (const auto &item : n->IsSequence() ? *n : YAML::Node()) {
      auto rf = r.fields(item, "a resource", {"name", "contract", "asset"});
      ResourceConfig rc;
      if (!rf.count("name") || !rf.count("contract")) {
        problems.add(item.Mark(), "a resource needs both name and contract");
        continue;
      }
      if (r.text(rf["name"], "name", rc.name) && !valid_name(rc.name))
        problems.add(rf["name"].Mark(), "resource name '" + rc.name + "' must be 1-64 letters, digits, '_' or '-'");
      if (rc.name == kXaProxyResource)
        problems.add(rf["name"].Mark(), "resource name " + rc.name + " is reserved for the chain's XA proxy");
      if (r.text(rf["contract"], "contract", rc.contract) && rc.contract != "kv" && rc.contract != "asset" &&
          rc.contract != "htlc")
        problems.add(rf["contract"].Mark(), "contract must be kv, asset or htlc, got '" + rc.contract + "'");
      if (rf.count("asset")) r.text(rf["asset"], "asset", rc.asset);
      if (!names.insert(rc.name).second) problems.add(rf["name"].Mark(), "resource " + rc.name + " is listed twice");
      c.resources.push_back(rc);
    }
    if (auto problem = check_htlc_assets(c.resources)) problems.add(n->Mark(), *problem);
  }
  problems.raise();
  fs::path base = fs::absolute(fs::path(path)).parent_path();
  c.key_file = resolve(base, c.key_file);
  c.data_dir = resolve(base, c.data_dir);
  c.ready_file = resolve(base, c.ready_file);
  return c;
}

void init_network(const NetworkPlan &plan) {
  if (plan.validators < 1 || plan.validators > 100) throw std::runtime_error("--validators must be 1..100");
  if (plan.base_port + 100 + plan.validators > 65535)
    throw std::runtime_error("--base-port leaves no room for " + std::to_string(plan.validators) + " validators");
  auto addr = [&](uint32_t port) {
    return (plan.host.find(':') != std::string::npos ? "[" + plan.host + "]" : plan.host) + ":" + std::to_string(port);
  };
  std::vector<ValidatorKey> keys;
  for (size_t i = 0; i < plan.validators; ++i) {
    fs::path d = fs::path(plan.dir) / ("node" + std::to_string(i));
    fs::create_directories(d);
    keys.push_back(load_or_create_validator_key((d / "validator.key").string()));
  }
  std::string list, network = "chain_id: " + std::to_string(plan.chain_id) + "\nvalidators:\n";
  for (size_t i = 0; i < plan.validators; ++i) {
    std::string a = address_text(keys[i].address);
    list += "  - { address: \"" + a + "\", peer: \"" + addr(plan.base_port + i) + "\" }\n";
    network += "  - { index: " + std::to_string(i) + ", address: \"" + a + "\", peer: \"" + addr(plan.base_port + i) +
               "\", client: \"" + addr(plan.base_port + 100 + i) + "\" }\n";
  }
  for (size_t i = 0; i < plan.validators; ++i) {
    fs::path d = fs::path(plan.dir) / ("node" + std::to_string(i));
    std::ofstream out(d / "node.yaml");
    out << "chain_id: " << plan.chain_id << "\nindex: " << i << "\nkey_file: validator.key\ndata_dir: data\n"
        << "listen: \"" << addr(plan.base_port + i) << "\"\nclient_listen: \"" << addr(plan.base_port + 100 + i)
        << "\"\nready_file: ready\nlog_level: info\nvalidators:\n"
        << list << "resources:\n  - { name: store, contract: kv }\n  - { name: token, contract: asset }\n";
    if (!out) throw std::runtime_error("cannot write " + (d / "node.yaml").string());
  }
  std::ofstream net(fs::path(plan.dir) / "network.yaml");
  net << network;
  if (!net) throw std::runtime_error("cannot write " + (fs::path(plan.dir) / "network.yaml").string());
}

} // namespace weft::refchain::node
