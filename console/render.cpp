#include "render.h"

#include "text_format.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace weft::console {

namespace json = boost::json;

namespace {

Outcome raw(const json::value &data) {
  return printed(json::serialize(data) + "\n");
}

const json::array &array_field(const json::value &object, const char *key) {
  static const json::array kEmpty;
  if (const auto *obj = object.if_object())
    if (const auto *field = obj->if_contains(key))
      if (const auto *array = field->if_array()) return *array;
  return kEmpty;
}

// data.errorCode of a transaction; a number in any JSON representation, 0 when absent.
long long chain_error_code(const json::value &data) {
  const auto *obj = data.if_object();
  const auto *code = obj ? obj->if_contains("errorCode") : nullptr;
  if (!code) return 0;
  if (code->is_int64()) return code->get_int64();
  if (code->is_uint64()) return static_cast<long long>(code->get_uint64());
  if (code->is_double()) return static_cast<long long>(code->get_double());
  // A non-numeric code is not success either; report it rather than hide it.
  return code->is_null() ? 0 : -1;
}

// Marks a transaction's own failure on an outcome that already holds what there is to show.
Outcome with_chain_outcome(Outcome outcome, const json::value &data) {
  if (const long long code = chain_error_code(data); code != 0) {
    outcome.exit_code = kExitFailure;
    const std::string message = field_text(data, "message");
    outcome.err = error_line(code, message == "-" ? "transaction failed on the chain" : message);
  }
  return outcome;
}

std::string join(const json::array &values, const char *separator) {
  std::string out;
  for (const auto &value : values) {
    if (!out.empty()) out += separator;
    out += value.is_string() ? std::string(value.get_string()) : json::serialize(value);
  }
  return out;
}

std::string uptime_text(const json::value &status) {
  const auto *obj = status.if_object();
  const auto *field = obj ? obj->if_contains("uptimeSeconds") : nullptr;
  if (!field || !field->is_number()) return "-";
  const auto seconds = static_cast<long long>(field->to_number<double>());
  const long long h = seconds / 3600, m = seconds / 60 % 60, s = seconds % 60;
  std::string text;
  if (h > 0) text += std::to_string(h) + "h ";
  if (h > 0 || m > 0) text += std::to_string(m) + "m ";
  return text + std::to_string(s) + "s";
}

} // namespace

std::string error_line(long long code, std::string_view message) {
  return "error " + std::to_string(code) + ": " + one_line(std::string(message)) + "\n";
}

Outcome render_status(const json::value &data, const Options &options) {
  if (options.json) return raw(data);
  std::string out = format_table({"version", field_text(data, "version")},
                                 {{"zone", field_text(data, "zone")}, {"uptime", uptime_text(data)}});
  std::vector<std::vector<std::string>> chains;
  for (const auto &chain : array_field(data, "chains")) {
    // A chain that is down says why, on the same line.
    std::string status = field_text(chain, "status");
    if (std::string reason = field_text(chain, "reason"); reason != "-" && !reason.empty())
      status += ": " + one_line(reason);
    chains.push_back({field_text(chain, "path"), field_text(chain, "stubType"), field_text(chain, "height"), status});
  }
  out += "\nchains (" + std::to_string(chains.size()) + "):\n";
  if (!chains.empty()) out += format_table({"PATH", "STUB TYPE", "HEIGHT", "STATUS"}, chains, "  ");
  std::vector<std::vector<std::string>> adapters;
  for (const auto &adapter : array_field(data, "adapters"))
    adapters.push_back({field_text(adapter, "name"), field_text(adapter, "version"),
                        join(array_field(adapter, "stubTypes"), ","), field_text(adapter, "file")});
  out += "\nadapters (" + std::to_string(adapters.size()) + "):\n";
  if (!adapters.empty()) out += format_table({"NAME", "VERSION", "STUB TYPES", "FILE"}, adapters, "  ");
  return printed(out);
}

Outcome render_supported_stubs(const json::value &data, const Options &options) {
  if (options.json) return raw(data);
  std::string out;
  for (const auto &stub : array_field(data, "stubTypes"))
    out += (stub.is_string() ? std::string(stub.get_string()) : json::serialize(stub)) + "\n";
  return printed(out);
}

Outcome render_list_resources(const json::value &data, const Options &options) {
  std::vector<std::string> paths;
  std::vector<std::vector<std::string>> rows;
  for (const auto &resource : array_field(data, "resourceDetails")) {
    const std::string path = field_text(resource, "path");
    paths.push_back(path);
    const std::string distance = field_text(resource, "distance");
    rows.push_back({path, field_text(resource, "stubType"),
                    distance == "0"   ? "local"
                    : distance == "-" ? "-"
                                      : "remote"});
  }
  Outcome outcome = options.json ? raw(data) : Outcome{};
  if (!options.json) {
    outcome.out = rows.empty() ? "" : format_table({"PATH", "STUB TYPE", "WHERE"}, rows);
    outcome.out += std::to_string(rows.size()) + (rows.size() == 1 ? " resource\n" : " resources\n");
  }
  outcome.resources = std::move(paths);
  return outcome;
}

Outcome render_detail(const json::value &data, const Options &options) {
  return options.json ? raw(data) : printed(pretty_json(data) + "\n");
}

Outcome render_call(const json::value &data, const Options &options) {
  if (options.json) return with_chain_outcome(raw(data), data);
  Outcome outcome;
  if (chain_error_code(data) == 0) outcome.out = "result: " + json::serialize(array_field(data, "result")) + "\n";
  return with_chain_outcome(std::move(outcome), data);
}

Outcome render_send_transaction(const json::value &data, const Options &options) {
  if (options.json) return with_chain_outcome(raw(data), data);
  Outcome outcome;
  // The hash of a failed transaction is still worth printing: it is how the receipt is found.
  const std::string hash = field_text(data, "hash");
  if (hash != "-" && !hash.empty()) outcome.out += "txHash: " + hash + "\n";
  outcome.out += "blockNumber: " + field_text(data, "blockNumber") + "\n";
  if (chain_error_code(data) == 0) outcome.out += "result: " + json::serialize(array_field(data, "result")) + "\n";
  return with_chain_outcome(std::move(outcome), data);
}

Outcome render_receipt(const json::value &data, const Options &options) {
  // A receipt of a failed transaction is found, but the transaction failed: scripts see that in the exit code.
  return with_chain_outcome(options.json ? raw(data) : printed(pretty_json(data) + "\n"), data);
}

Outcome render_block(const json::value &data, const Options &options) {
  // WeCross answers getBlock with the block's JSON inside a string; accept a plain object too.
  json::value block = data;
  if (const auto *text = data.if_string()) {
    boost::system::error_code ec;
    json::value parsed = json::parse(*text, ec);
    if (ec) return failed(kExitFailure, "error: the router sent a block that is not JSON: " + ec.message() + "\n");
    block = std::move(parsed);
  }
  return options.json ? raw(block) : printed(pretty_json(block) + "\n");
}

Outcome render_am_answer(const json::value &data, const Options &options) {
  Outcome outcome = options.json ? raw(data) : printed("");
  if (!options.json) {
    if (const auto *o = data.if_object(); o && o->contains("chainAccount")) {
      const auto &a = o->at("chainAccount");
      outcome.out = "chain account " + field_text(a, "keyID") + ": " + field_text(a, "type") + " " +
                    field_text(a, "algorithm") + (field_text(a, "isDefault") == "true" ? " (default)" : "") +
                    "\npublic key: " + field_text(a, "pubKey") + "\n";
    } else {
      outcome.out = "done\n";
    }
  }
  if (const long long code = chain_error_code(data); code != 0) {
    outcome.exit_code = kExitFailure;
    outcome.out.clear();
    outcome.err = error_line(code, field_text(data, "message"));
  }
  return outcome;
}

Outcome render_whoami(const json::value &data, const Options &options) {
  if (options.json) return raw(data);
  const auto *admin = data.is_object() ? data.as_object().if_contains("isAdmin") : nullptr;
  bool is_admin = admin && admin->is_bool() && admin->get_bool();
  std::string may_use = is_admin ? "every resource" : join(array_field(data, "allowChainPaths"), ",");
  if (may_use.empty()) may_use = "nothing yet (an admin sets the access list)";
  return printed(field_text(data, "username") + (is_admin ? " (admin)" : " (user)") + ", may use: " + may_use + "\n");
}

Outcome render_list_account(const json::value &data, const Options &options) {
  if (options.json) return raw(data);
  std::vector<std::vector<std::string>> rows;
  for (const auto &a : array_field(data, "chainAccounts"))
    rows.push_back({field_text(a, "keyID"), field_text(a, "type"), field_text(a, "algorithm"),
                    field_text(a, "isDefault"), field_text(a, "pubKey")});
  std::string out = render_whoami(data, options).out;
  if (rows.empty()) return printed(out + "no chain accounts\n");
  return printed(out + format_table({"KEY ID", "TYPE", "ALGORITHM", "DEFAULT", "PUBLIC KEY"}, rows));
}

Outcome render_accounts(const json::value &data, const Options &options) {
  if (options.json) return raw(data);
  std::vector<std::vector<std::string>> rows;
  for (const auto &account : array_field(data, "accounts"))
    rows.push_back({field_text(account, "name"), field_text(account, "algorithm"), field_text(account, "address")});
  if (rows.empty()) return printed("no accounts\n");
  return printed(format_table({"NAME", "ALGORITHM", "ADDRESS"}, rows));
}

} // namespace weft::console
