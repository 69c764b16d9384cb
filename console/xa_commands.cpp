#include "xa_commands.h"

#include "render.h"
#include "resource_path.h"
#include "text_format.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <openssl/rand.h>

#include <charconv>
#include <chrono>
#include <variant>

namespace weft::console {

namespace json = boost::json;

namespace {

using Args = std::span<const std::string>;

Outcome usage_error(const char *command, const std::string &why, const char *usage) {
  return failed(kExitUsage, "error: " + std::string(command) + ": " + why + " (usage: " + usage + ")\n");
}


std::string status_text(const json::value &status) {
  return status.is_string() ? std::string(status.get_string()) : json::serialize(status);
}

// An XAResponse {"status","chainErrorMessages"}: "success" or one line per failing chain, exit 1.
Outcome xa_response(const json::value &data, const Options &options, const std::string &success) {
  long long status = -1;
  if (const auto *o = data.if_object())
    if (const auto *s = o->if_contains("status"); s && s->is_number()) status = static_cast<long long>(s->to_number<double>());
  Outcome out = printed(options.json ? json::serialize(data) + "\n" : "");
  if (status == 0) {
    if (!options.json) out.out = "Result: success! " + success + "\n";
    return out;
  }
  out.exit_code = kExitFailure;
  if (!options.json) {
    out.out = "Result: failed\n";
    if (const auto *o = data.if_object())
      if (const auto *list = o->if_contains("chainErrorMessages"); list && list->is_array())
        for (const auto &e : list->get_array())
          out.out += "  " + field_text(e, "path") + ": " + field_text(e, "message") + "\n";
  }
  return out;
}

std::string current_or_error(const Options &options) {
  if (!options.session || options.session->xa_id.empty()) return "";
  return options.session->xa_id;
}

const char *kNoCurrent = "error: no current XA transaction: startTransaction or loadTransaction first\n";

json::array path_array(const std::vector<std::string> &paths) {
  json::array a;
  for (const auto &p : paths) a.emplace_back(p);
  return a;
}

bool check_paths(Args args, size_t from, std::string &bad) {
  for (size_t i = from; i < args.size(); ++i)
    if (!is_resource_path(args[i]) && !is_chain_path(args[i])) {
      bad = args[i];
      return false;
    }
  return true;
}

long long next_seq(ConsoleSession &s) {
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
                 .count();
  s.xa_seq = std::max<long long>(s.xa_seq + 1, now);
  return s.xa_seq;
}

Outcome step(Args args, const Transport &transport, const Options &options, bool send) {
  const char *name = send ? "execTransaction" : "callTransaction";
  const char *use = send ? "execTransaction PATH METHOD [ARGS...]" : "callTransaction PATH METHOD [ARGS...]";
  if (args.size() < 2) return usage_error(name, "expects PATH and METHOD", use);
  if (!is_resource_path(args[0])) return usage_error(name, "'" + args[0] + "' is not a resource path", use);
  std::string xid = current_or_error(options);
  if (xid.empty()) return failed(kExitUsage, kNoCurrent);
  json::array call_args;
  for (size_t i = 2; i < args.size(); ++i) call_args.emplace_back(args[i]);
  json::object xa{{"XA_TRANSACTION_ID", xid}};
  if (send) xa["XA_TRANSACTION_SEQ"] = next_seq(*options.session);
  auto answer = ask_router(transport, RpcRequest{"POST", resource_uri(args[0]) + (send ? "/sendTransaction" : "/call"),
                                          json::object{{"method", args[1]},
                                                       {"args", std::move(call_args)},
                                                       {"options", std::move(xa)}}});
  if (auto *o = std::get_if<Outcome>(&answer)) return std::move(*o);
  const json::value &data = std::get<json::value>(answer);
  return send ? render_send_transaction(data, options) : render_call(data, options);
}

Outcome decide(Args args, const Transport &transport, const Options &options, bool commit) {
  const char *name = commit ? "commitTransaction" : "rollbackTransaction";
  const char *use = commit ? "commitTransaction [PATH...]" : "rollbackTransaction [PATH...]";
  std::string bad;
  if (!check_paths(args, 0, bad)) return usage_error(name, "'" + bad + "' is not a path", use);
  std::string xid = current_or_error(options);
  if (xid.empty()) return failed(kExitUsage, kNoCurrent);
  std::vector<std::string> paths(args.begin(), args.end());
  if (paths.empty()) paths = options.session->xa_paths;
  auto answer = ask_router(transport, RpcRequest{"POST", commit ? "/xa/commitXATransaction" : "/xa/rollbackXATransaction",
                                          json::object{{"xaTransactionID", xid}, {"paths", path_array(paths)}}});
  if (auto *o = std::get_if<Outcome>(&answer)) {
    // A router that never answered leaves the transaction as it was; anything else ends it for this console as
    // WeCross's SDK does: a commit forgets it whatever the outcome, a rollback only when it succeeded.
    if (commit && o->exit_code != kExitUnreachable) *options.session = ConsoleSession{options.session->user, options.session->credential};
    return std::move(*o);
  }
  Outcome out = xa_response(std::get<json::value>(answer), options,
                            std::string(commit ? "committed " : "rolled back ") + xid);
  if (commit || out.exit_code == kExitOk)
    *options.session = ConsoleSession{options.session->user, options.session->credential};
  return out;
}

} // namespace

std::string new_transaction_id() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return "";
  static const char *hex = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += hex[b >> 4];
    out += hex[b & 15];
  }
  return out;
}

Outcome run_start_transaction(Args args, const Transport &transport, const Options &options) {
  const char *use = "startTransaction PATH [PATH...]";
  if (args.empty()) return usage_error("startTransaction", "expects at least one PATH", use);
  for (const auto &p : args)
    if (!is_resource_path(p)) return usage_error("startTransaction", "'" + p + "' is not a resource path", use);
  if (!options.session) return failed(kExitUsage, "error: startTransaction keeps no state here\n");
  if (!options.session->xa_id.empty())
    return failed(kExitUsage, "error: transaction " + options.session->xa_id +
                                  " is still current: commitTransaction or rollbackTransaction it first\n");
  std::string xid = new_transaction_id();
  if (xid.empty()) return failed(kExitFailure, "error: no randomness for a transaction id\n");
  std::vector<std::string> paths(args.begin(), args.end());
  auto answer = ask_router(transport, RpcRequest{"POST", "/xa/startXATransaction",
                                          json::object{{"xaTransactionID", xid}, {"paths", path_array(paths)}}});
  if (auto *o = std::get_if<Outcome>(&answer)) return std::move(*o);
  Outcome out = xa_response(std::get<json::value>(answer), options, "Transaction ID is: " + xid);
  if (out.exit_code == kExitOk) {
    options.session->xa_id = xid;
    options.session->xa_paths = paths;
    options.session->xa_seq = 0;
  }
  return out;
}

Outcome run_exec_transaction(Args args, const Transport &t, const Options &o) {
  return step(args, t, o, true);
}

Outcome run_call_transaction(Args args, const Transport &t, const Options &o) {
  return step(args, t, o, false);
}

Outcome run_commit_transaction(Args args, const Transport &t, const Options &o) {
  return decide(args, t, o, true);
}

Outcome run_rollback_transaction(Args args, const Transport &t, const Options &o) {
  return decide(args, t, o, false);
}

Outcome run_get_xa_transaction(Args args, const Transport &transport, const Options &options) {
  const char *use = "getXATransaction [ID [PATH...]]";
  std::string xid = args.empty() ? current_or_error(options) : args[0];
  if (xid.empty()) return failed(kExitUsage, kNoCurrent);
  std::string bad;
  if (!check_paths(args, 1, bad)) return usage_error("getXATransaction", "'" + bad + "' is not a path", use);
  std::vector<std::string> paths;
  for (size_t i = 1; i < args.size(); ++i) paths.push_back(args[i]);
  json::object data{{"xaTransactionID", xid}};
  if (!paths.empty()) data["paths"] = path_array(paths);
  auto answer = ask_router(transport, RpcRequest{"POST", "/xa/getXATransaction", std::move(data)});
  if (auto *o = std::get_if<Outcome>(&answer)) return std::move(*o);
  const json::value &d = std::get<json::value>(answer);
  if (options.json) return printed(json::serialize(d) + "\n");
  const auto *obj = d.if_object();
  const json::value *tx = obj ? obj->if_contains("xaTransaction") : nullptr;
  if (!tx) return failed(kExitFailure, "error: malformed answer from the router\n");
  std::string out = "XA transaction " + field_text(*tx, "xaTransactionID") + "\n  status:  " +
                    field_text(*tx, "status") + "\n  user:    " + field_text(*tx, "username") + "\n  paths:   ";
  if (const auto *p = tx->as_object().if_contains("paths")) out += json::serialize(*p);
  out += "\n";
  if (const auto *n = tx->as_object().if_contains("note")) out += "  note:    " + status_text(*n) + "\n";
  std::vector<std::vector<std::string>> rows;
  if (const auto *steps = tx->as_object().if_contains("xaTransactionSteps"); steps && steps->is_array())
    for (const auto &s : steps->get_array())
      rows.push_back({field_text(s, "xaTransactionSeq"), field_text(s, "path"), field_text(s, "method"),
                      field_text(s, "args"), field_text(s, "outcome")});
  if (!rows.empty()) out += format_table({"SEQ", "PATH", "METHOD", "ARGS", "OUTCOME"}, rows, "  ");
  std::vector<std::vector<std::string>> chains;
  if (const auto *c = obj->if_contains("chains"); c && c->is_array())
    for (const auto &e : c->get_array())
      chains.push_back({field_text(e, "path"), field_text(e, "logged"), field_text(e, "onChain")});
  if (!chains.empty()) out += format_table({"CHAIN", "LOGGED", "ON CHAIN"}, chains, "  ");
  if (const auto *diff = obj->if_contains("differences"); diff && diff->is_array())
    for (const auto &e : diff->get_array()) out += "  difference: " + status_text(e) + "\n";
  return printed(out);
}

Outcome run_list_xa_transactions(Args args, const Transport &transport, const Options &options) {
  const char *use = "listXATransactions [SIZE [CHAIN_PATH]]";
  long long size = 10;
  if (!args.empty()) {
    auto [p, ec] = std::from_chars(args[0].data(), args[0].data() + args[0].size(), size);
    if (ec != std::errc() || p != args[0].data() + args[0].size() || size < 1 || size > 1024)
      return usage_error("listXATransactions", "SIZE must be 1 to 1024", use);
  }
  if (args.size() > 2) return usage_error("listXATransactions", "too many arguments", use);
  json::object data{{"size", size}, {"offsets", json::object{}}};
  if (args.size() == 2) {
    if (!is_chain_path(args[1])) return usage_error("listXATransactions", "'" + args[1] + "' is not a chain path", use);
    data["path"] = args[1];
  }
  auto answer = ask_router(transport, RpcRequest{"POST", "/xa/listXATransactions", std::move(data)});
  if (auto *o = std::get_if<Outcome>(&answer)) return std::move(*o);
  const json::value &d = std::get<json::value>(answer);
  if (options.json) return printed(json::serialize(d) + "\n");
  std::vector<std::vector<std::string>> rows;
  if (const auto *o = d.if_object())
    if (const auto *list = o->if_contains("xaList"); list && list->is_array())
      for (const auto &e : list->get_array()) {
        std::string paths;
        if (const auto *p = e.as_object().if_contains("paths")) paths = json::serialize(*p);
        rows.push_back({field_text(e, "xaTransactionID"), field_text(e, "username"), field_text(e, "status"),
                        field_text(e, "timestamp"), paths});
      }
  if (rows.empty()) return printed("no XA transactions\n");
  return printed(format_table({"ID", "USER", "STATUS", "STARTED (ms)", "PATHS"}, rows, "  "));
}

Outcome run_get_current_transaction_id(Args args, const Transport &, const Options &options) {
  if (!args.empty()) return failed(kExitUsage, "error: getCurrentTransactionID takes no arguments\n");
  std::string xid = current_or_error(options);
  if (xid.empty()) return printed("no current XA transaction\n");
  std::string paths;
  for (const auto &p : options.session->xa_paths) paths += (paths.empty() ? "" : " ") + p;
  return printed("Transaction ID: " + xid + "\nPaths: " + paths + "\n");
}

Outcome run_load_transaction(Args args, const Transport &, const Options &options) {
  const char *use = "loadTransaction ID PATH [PATH...]";
  if (args.size() < 2) return usage_error("loadTransaction", "expects ID and at least one PATH", use);
  for (size_t i = 1; i < args.size(); ++i)
    if (!is_resource_path(args[i])) return usage_error("loadTransaction", "'" + args[i] + "' is not a resource path", use);
  if (!options.session) return failed(kExitUsage, "error: loadTransaction keeps no state here\n");
  options.session->xa_id = args[0];
  options.session->xa_paths.assign(args.begin() + 1, args.end());
  options.session->xa_seq = 0;
  return printed("Current transaction is now " + args[0] + "\n");
}

Outcome run_xa_admin(Args args, const Transport &transport, const Options &options) {
  const char *use = "xa resolve ID [NOTE...]";
  if (args.size() < 2 || args[0] != "resolve") return usage_error("xa", "expects resolve and an ID", use);
  std::string note;
  for (size_t i = 2; i < args.size(); ++i) note += (note.empty() ? "" : " ") + args[i];
  auto answer = ask_router(transport, RpcRequest{"POST", "/weft/xa/resolve",
                                          json::object{{"xaTransactionID", args[1]}, {"note", note}}});
  if (auto *o = std::get_if<Outcome>(&answer)) return std::move(*o);
  const json::value &d = std::get<json::value>(answer);
  if (options.json) return printed(json::serialize(d) + "\n");
  return printed("XA transaction " + args[1] + " resolved: " + field_text(d, "note") + "\n");
}

} // namespace weft::console
