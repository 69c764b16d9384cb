#include "resource_commands.h"

#include "resource_path.h"

#include <boost/json.hpp>

#include <fstream>
#include <sstream>

namespace weft::console {

namespace json = boost::json;

namespace {

BuildResult usage(std::string reason) { return BuildResult{std::nullopt, std::move(reason)}; }

std::optional<std::string> read_file(const std::string &path, std::string &error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot read " + path;
    return std::nullopt;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// solc's --abi output (an array) or a build artifact ({"abi":[...], "bytecode": ...}): the ABI array as text.
std::optional<std::string> abi_text(const std::string &path, std::string &error) {
  auto text = read_file(path, error);
  if (!text) return std::nullopt;
  boost::system::error_code ec;
  auto v = json::parse(*text, ec);
  if (ec) {
    error = path + " is not JSON: " + ec.message();
    return std::nullopt;
  }
  if (v.is_object() && v.as_object().contains("abi")) v = v.as_object().at("abi");
  if (!v.is_array()) {
    error = path + " holds no ABI array";
    return std::nullopt;
  }
  return json::serialize(v);
}

} // namespace

BuildResult build_register_resource(std::span<const std::string> args) {
  if (args.size() != 3) return usage("expects PATH ADDRESS ABIFILE");
  if (!is_resource_path(args[0])) return usage("'" + args[0] + "' is not a resource path zone.chain.resource");
  std::string error;
  auto abi = abi_text(args[2], error);
  if (!abi) return usage(error);
  return BuildResult{RpcRequest{"POST", "/weft/resource/add",
                                json::object{{"path", args[0]}, {"address", args[1]}, {"abi", *abi}}},
                     {}};
}

BuildResult build_deploy_contract(std::span<const std::string> args) {
  if (args.size() < 3) return usage("expects PATH BINFILE ABIFILE [ARGS...]");
  if (!is_resource_path(args[0])) return usage("'" + args[0] + "' is not a resource path zone.chain.resource");
  std::string error;
  auto bin = read_file(args[1], error);
  if (!bin) return usage(error);
  // solc --bin writes bare hex; an artifact carries it under "bytecode" (a string, or {"object": hex}).
  std::string code = *bin;
  boost::system::error_code ec;
  auto v = json::parse(code, ec);
  if (!ec && v.is_object()) {
    const auto *b = v.as_object().if_contains("bytecode");
    if (b && b->is_object()) b = b->as_object().if_contains("object");
    if (b == nullptr || !b->is_string()) return usage(args[1] + " holds no bytecode");
    code = std::string(b->as_string());
  }
  while (!code.empty() && std::isspace(static_cast<unsigned char>(code.back()))) code.pop_back();
  if (code.rfind("0x", 0) != 0) code = "0x" + code;
  auto abi = abi_text(args[2], error);
  if (!abi) return usage(error);
  json::array ctor;
  for (std::size_t i = 3; i < args.size(); ++i) ctor.emplace_back(args[i]);
  return BuildResult{RpcRequest{"POST", "/weft/resource/add",
                                json::object{{"path", args[0]}, {"bytecode", code}, {"abi", *abi}, {"args", ctor}}},
                     {}};
}

BuildResult build_deploy_stubs(std::span<const std::string> args) {
  if (args.empty()) return usage("expects CHAIN_PATH [xa] [htlc ASSET [NAME]]");
  json::array stubs;
  json::object data{{"path", args[0]}};
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "xa") {
      stubs.emplace_back("xa");
    } else if (args[i] == "htlc") {
      if (i + 1 >= args.size()) return usage("htlc needs the ERC-20 token it escrows: a resource name or an address");
      json::object h{{"asset", args[++i]}};
      if (i + 1 < args.size() && args[i + 1] != "xa") h["name"] = args[++i];
      stubs.emplace_back("htlc");
      data["htlc"] = std::move(h);
    } else {
      return usage("'" + args[i] + "': expects CHAIN_PATH [xa] [htlc ASSET [NAME]]");
    }
  }
  if (stubs.empty()) stubs.emplace_back("xa");
  data["stubs"] = std::move(stubs);
  return BuildResult{RpcRequest{"POST", "/weft/chain/deployStubs", std::move(data)}, {}};
}

Outcome render_stubs(const json::value &data, const Options &options) {
  if (options.json) return printed(json::serialize(data) + "\n");
  const auto *o = data.if_object();
  const auto *list = o ? o->if_contains("resources") : nullptr;
  if (list == nullptr || !list->is_array()) return failed(kExitFailure, "error: the router answered no resources\n");
  std::string out;
  for (const auto &v : list->as_array()) {
    const auto *e = v.if_object();
    if (e == nullptr) continue;
    auto text = [&](const char *k) {
      const auto *x = e->if_contains(k);
      return x == nullptr ? std::string() : x->is_string() ? std::string(x->as_string()) : json::serialize(*x);
    };
    out += text("name") + " (" + text("contract") + ") deployed at " + text("address");
    if (e->contains("asset")) out += ", escrowing " + text("asset");
    out += "\n";
  }
  return printed(out);
}

Outcome render_registered(const json::value &data, const Options &options) {
  if (options.json) return printed(json::serialize(data) + "\n");
  const auto *o = data.if_object();
  if (o == nullptr) return failed(kExitFailure, "error: the router answered something that is not an object\n");
  auto text = [&](const char *k) {
    const auto *v = o->if_contains(k);
    return v == nullptr ? std::string() : v->is_string() ? std::string(v->as_string()) : json::serialize(*v);
  };
  std::string out = text("path") + " registered at " + text("address");
  if (o->contains("hash")) out += " (deployed in transaction " + text("hash") + ", block " + text("blockNumber") + ")";
  return printed(out + "\n");
}

} // namespace weft::console
