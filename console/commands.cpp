#include "commands.h"

#include "render.h"
#include "resource_path.h"
#include "text_format.h"
#include "xa_commands.h"
#include "htlc_commands.h"
#include "resource_commands.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>

namespace weft::console {

namespace json = boost::json;

namespace {

using Args = std::span<const std::string>;

BuildResult usage(std::string reason) {
  return BuildResult{std::nullopt, std::move(reason)};
}

BuildResult request(std::string method, std::string target, json::value data = nullptr) {
  return BuildResult{RpcRequest{std::move(method), std::move(target), std::move(data)}, {}};
}

std::string bad_resource_path(const std::string &path) {
  return "'" + path + "' is not a resource path zone.chain.resource (letters, digits, '_' and '-' in each part)";
}

std::string bad_chain_path(const std::string &path) {
  return "'" + path + "' is not a chain path zone.chain (letters, digits, '_' and '-' in each part)";
}

BuildResult no_args(Args args, std::string target, json::value data = nullptr) {
  if (!args.empty()) return usage("takes no arguments");
  return request("GET", std::move(target), std::move(data));
}

BuildResult build_status(Args args) {
  return no_args(args, "/sys/status");
}

BuildResult build_supported_stubs(Args args) {
  return no_args(args, "/sys/supportedStubs");
}

BuildResult build_list_resources(Args args) {
  return no_args(args, "/sys/listResources", json::object{{"ignoreRemote", false}});
}

BuildResult build_detail(Args args) {
  if (args.size() != 1) return usage("expects exactly one PATH");
  if (!is_resource_path(args[0])) return usage(bad_resource_path(args[0]));
  return request("POST", resource_uri(args[0]) + "/detail");
}

// call and sendTransaction share their arguments: [--account NAME] PATH METHOD [ARGS...].
BuildResult build_transaction(Args args, const char *verb) {
  std::optional<std::string> account;
  std::size_t next = 0;
  if (next < args.size() && args[next] == "--account") {
    if (next + 1 >= args.size()) return usage("--account needs a NAME");
    account = args[next + 1];
    next += 2;
  } else if (next < args.size() && args[next].starts_with("--account=")) {
    account = args[next].substr(std::string_view("--account=").size());
    next += 1;
  }
  if (account && account->empty()) return usage("--account needs a NAME");
  if (args.size() - next < 2) return usage("expects PATH and METHOD");
  const std::string &path = args[next];
  const std::string &method = args[next + 1];
  if (!is_resource_path(path)) return usage(bad_resource_path(path));
  if (method.empty()) return usage("METHOD is empty");

  json::array call_args; // always strings: the stub does the ABI typing
  for (std::size_t i = next + 2; i < args.size(); ++i)
    call_args.emplace_back(args[i]);
  json::object options;
  if (account) options["account"] = *account;
  return request("POST", resource_uri(path) + "/" + verb,
                 json::object{{"method", method}, {"args", std::move(call_args)}, {"options", std::move(options)}});
}

BuildResult build_call(Args args) {
  return build_transaction(args, "call");
}

BuildResult build_send_transaction(Args args) {
  return build_transaction(args, "sendTransaction");
}

BuildResult build_receipt(Args args) {
  if (args.size() != 2) return usage("expects CHAIN_PATH and TXHASH");
  if (!is_chain_path(args[0])) return usage(bad_chain_path(args[0]));
  if (args[1].empty()) return usage("TXHASH is empty");
  return request("GET", "/trans/getTransaction?path=" + url_encode(args[0]) + "&txHash=" + url_encode(args[1]));
}

BuildResult build_block(Args args) {
  if (args.size() != 2) return usage("expects CHAIN_PATH and NUMBER");
  if (!is_chain_path(args[0])) return usage(bad_chain_path(args[0]));
  const std::string &text = args[1];
  std::uint64_t number = 0;
  const auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (text.empty() || err != std::errc{} || end != text.data() + text.size())
    return usage("'" + text + "' is not a block number (a non-negative integer)");
  return request("GET", "/trans/getBlock?path=" + url_encode(args[0]) + "&blockNumber=" + std::to_string(number));
}

BuildResult build_accounts(Args args) {
  if (args.size() > 1) return usage("expects at most one CHAIN_PATH");
  if (args.empty()) return request("GET", "/weft/accounts");
  if (!is_chain_path(args[0])) return usage(bad_chain_path(args[0]));
  return request("GET", "/weft/accounts?path=" + url_encode(args[0]));
}

Outcome run_help(Args args);

BuildResult build_list_account(Args args) {
  if (!args.empty()) return usage("takes no arguments");
  return request("POST", "/auth/listAccount");
}

Outcome run_login(Args args, const Transport &transport, const Options &options) {
  if (args.size() != 1) return failed(kExitUsage, "error: login: expects exactly one USER (usage: login USER)\n");
  if (!options.session) return failed(kExitUsage, "error: login keeps no state here\n");
  const std::string password = read_password("password for " + args[0] + ": ");
  const LoginFailure why = login(transport, args[0], password, *options.session);
  if (!why.message.empty())
    return failed(why.unreachable ? kExitUnreachable : kExitFailure, "error: " + one_line(why.message) + "\n");
  return printed("logged in as " + args[0] + "\n");
}

Outcome run_register(Args args, const Transport &transport, const Options &) {
  if (args.size() != 1)
    return failed(kExitUsage, "error: registerAccount: expects exactly one USER (usage: registerAccount USER)\n");
  // Only one auth code per request: fetch it first, as WeCross's console does.
  auto code = transport(to_http(RpcRequest{"GET", "/auth/authCode", nullptr}));
  std::string token;
  if (const auto *r = std::get_if<HttpResponse>(&code)) {
    boost::system::error_code ec;
    auto v = json::parse(r->body, ec);
    if (!ec && v.is_object())
      if (const auto *d = v.as_object().if_contains("data"); d && d->is_object())
        if (const auto *ac = d->as_object().if_contains("authCode"); ac && ac->is_object())
          if (const auto *t = ac->as_object().if_contains("randomToken"); t && t->is_string())
            token = std::string(t->get_string());
  }
  if (token.empty()) return failed(kExitFailure, "error: cannot get an auth code from the router\n");
  const std::string password = read_password("password for " + args[0] + ": ");
  const std::string body = json::serialize(json::object{
      {"username", args[0]}, {"password", client_password_hash(password)}, {"randomToken", token}});
  const LoginFailure why = send_sealed(transport, "/auth/register", body);
  if (!why.message.empty())
    return failed(why.unreachable ? kExitUnreachable : kExitFailure, "error: " + one_line(why.message) + "\n");
  return printed("registered " + args[0] + "\n");
}

Outcome run_change_password(Args args, const Transport &transport, const Options &options) {
  if (!args.empty()) return failed(kExitUsage, "error: changePassword takes no arguments\n");
  const std::string old_pw = read_password("current password: ");
  const std::string new_pw = read_password("new password: ", "WEFT_NEW_PASSWORD");
  const std::string body = json::serialize(json::object{{"oldPassword", client_password_hash(old_pw)},
                                                        {"newPassword", client_password_hash(new_pw)}});
  const LoginFailure why = send_sealed(transport, "/auth/changePassword", body);
  if (!why.message.empty())
    return failed(why.unreachable ? kExitUnreachable : kExitFailure, "error: " + one_line(why.message) + "\n");
  if (options.session) *options.session = ConsoleSession{}; // every token of the user is revoked
  return printed("password changed; log in again\n");
}

BuildResult build_add_chain_account(Args args) {
  if (args.empty() || args.size() > 2) return usage("expects TYPE and optionally SECRET_HEX");
  json::object data{{"type", args[0]}};
  if (args.size() == 2) data["secKey"] = args[1];
  return request("POST", "/auth/addChainAccount", std::move(data));
}

BuildResult key_id_request(Args args, const char *target) {
  if (args.size() != 1) return usage("expects exactly one KEY_ID");
  int64_t id = 0;
  auto [p, ec] = std::from_chars(args[0].data(), args[0].data() + args[0].size(), id);
  if (ec != std::errc() || p != args[0].data() + args[0].size() || id <= 0)
    return usage("KEY_ID must be a positive integer");
  return request("POST", target, json::object{{"keyID", id}});
}
BuildResult build_set_default_account(Args args) { return key_id_request(args, "/auth/setDefaultAccount"); }
BuildResult build_remove_chain_account(Args args) { return key_id_request(args, "/auth/removeChainAccount"); }

Outcome run_logout(Args args, const Transport &transport, const Options &options) {
  if (!args.empty()) return failed(kExitUsage, "error: logout takes no arguments\n");
  if (!options.session || options.session->credential.empty()) return printed("not logged in\n");
  // The router forgets the token; the console forgets it whatever the answer.
  transport(to_http(RpcRequest{"POST", "/auth/logout", nullptr}));
  std::string user = options.session->user;
  *options.session = ConsoleSession{};
  return printed("logged out " + user + "\n");
}

Outcome run_quit(Args args) {
  if (!args.empty()) return failed(kExitUsage, "error: quit takes no arguments\n");
  Outcome outcome;
  outcome.quit = true;
  return outcome;
}

constexpr Command kCommands[] = {
    {"status", "status", "Router version, zone, uptime, chains with heights, and loaded adapters.", PathArg::kNone,
     false, build_status, render_status, nullptr},
    {"supportedStubs", "supportedStubs", "Stub types (chain kinds) the loaded adapters serve.", PathArg::kNone, false,
     build_supported_stubs, render_supported_stubs, nullptr},
    {"listResources", "listResources", "Resources this router serves or reaches through its peers.", PathArg::kNone,
     false, build_list_resources, render_list_resources, nullptr},
    {"detail", "detail PATH", "Everything the router knows about one resource.", PathArg::kResource, false,
     build_detail, render_detail, nullptr},
    {"call", "call [--account NAME] PATH METHOD [ARGS...]",
     "Read-only call of METHOD on a resource; ARGS are passed as strings.", PathArg::kResource, true, build_call,
     render_call, nullptr},
    {"sendTransaction", "sendTransaction [--account NAME] PATH METHOD [ARGS...]",
     "Signed transaction calling METHOD on a resource; prints its hash, block number and result.", PathArg::kResource,
     true, build_send_transaction, render_send_transaction, nullptr},
    {"getReceipt", "getReceipt CHAIN_PATH TXHASH", "Receipt of a transaction on the chain zone.chain.", PathArg::kChain,
     false, build_receipt, render_receipt, nullptr},
    {"getBlock", "getBlock CHAIN_PATH NUMBER", "Block NUMBER of the chain zone.chain.", PathArg::kChain, false,
     build_block, render_block, nullptr},
    {"registerResource", "registerResource PATH ADDRESS ABIFILE",
     "Admin: make the contract at ADDRESS, with the ABI in ABIFILE, the resource PATH (kept across restarts).",
     PathArg::kResource, false, build_register_resource, render_registered, nullptr},
    {"deployContract", "deployContract PATH BINFILE ABIFILE [ARGS...]",
     "Admin: deploy a contract (bytecode in BINFILE, ARGS for its constructor) and register it as PATH.",
     PathArg::kResource, false, build_deploy_contract, render_registered, nullptr},
    {"deployStubs", "deployStubs CHAIN_PATH [xa] [htlc ASSET [NAME]]",
     "Admin: deploy the chain's XA proxy and an HTLC escrowing the ERC-20 token ASSET (a resource or an address).",
     PathArg::kChain, false, build_deploy_stubs, render_stubs, nullptr},
    {"accounts", "accounts [CHAIN_PATH]", "Chain accounts the router signs with, optionally of one chain only.",
     PathArg::kChain, false, build_accounts, render_accounts, nullptr},
    {"login", "login USER", "Log in (WeCross's flow); the password is asked, or read from WEFT_PASSWORD.",
     PathArg::kNone, false, nullptr, nullptr, nullptr, run_login},
    {"logout", "logout", "Log out: the router forgets the token.", PathArg::kNone, false, nullptr, nullptr, nullptr,
     run_logout},
    {"whoami", "whoami", "The user logged in, its role and its access list.", PathArg::kNone, false,
     build_list_account, render_whoami, nullptr},
    {"listAccount", "listAccount", "The logged-in user and its chain accounts.", PathArg::kNone, false,
     build_list_account, render_list_account, nullptr},
    {"registerAccount", "registerAccount USER", "Register a user (if the router allows it); the password is asked.",
     PathArg::kNone, false, nullptr, nullptr, nullptr, run_register},
    {"changePassword", "changePassword", "Change the password (asked, or WEFT_PASSWORD and WEFT_NEW_PASSWORD).",
     PathArg::kNone, false, nullptr, nullptr, nullptr, run_change_password},
    {"addChainAccount", "addChainAccount TYPE [SECRET_HEX]",
     "A chain account for stub type TYPE: the router makes the key, or imports SECRET_HEX (TLS or loopback only).",
     PathArg::kNone, false, build_add_chain_account, render_am_answer, nullptr},
    {"setDefaultAccount", "setDefaultAccount KEY_ID", "Make chain account KEY_ID the default for its type.",
     PathArg::kNone, false, build_set_default_account, render_am_answer, nullptr},
    {"removeChainAccount", "removeChainAccount KEY_ID", "Remove chain account KEY_ID.", PathArg::kNone, false,
     build_remove_chain_account, render_am_answer, nullptr},
    {"startTransaction", "startTransaction PATH [PATH...]",
     "Start an XA transaction over these resources; it becomes the current one.", PathArg::kResource, false, nullptr,
     nullptr, nullptr, run_start_transaction},
    {"execTransaction", "execTransaction PATH METHOD [ARGS...]",
     "Send a step of the current XA transaction (a sendTransaction with its id and a new seq).", PathArg::kResource,
     false, nullptr, nullptr, nullptr, run_exec_transaction},
    {"callTransaction", "callTransaction PATH METHOD [ARGS...]", "Read inside the current XA transaction.",
     PathArg::kResource, false, nullptr, nullptr, nullptr, run_call_transaction},
    {"commitTransaction", "commitTransaction [PATH...]",
     "Commit the current XA transaction on every chain it started on.", PathArg::kNone, false, nullptr, nullptr,
     nullptr, run_commit_transaction},
    {"rollbackTransaction", "rollbackTransaction [PATH...]",
     "Roll back the current XA transaction: every step's effect is undone.", PathArg::kNone, false, nullptr, nullptr,
     nullptr, run_rollback_transaction},
    {"getXATransaction", "getXATransaction [ID [PATH...]]",
     "An XA transaction (default: the current one): status, steps, and each chain's own view.", PathArg::kNone, false,
     nullptr, nullptr, nullptr, run_get_xa_transaction},
    {"listXATransactions", "listXATransactions [SIZE [CHAIN_PATH]]", "The newest XA transactions.", PathArg::kNone,
     false, nullptr, nullptr, nullptr, run_list_xa_transactions},
    {"getCurrentTransactionID", "getCurrentTransactionID", "The current XA transaction's id and paths.",
     PathArg::kNone, false, nullptr, nullptr, nullptr, run_get_current_transaction_id},
    {"loadTransaction", "loadTransaction ID PATH [PATH...]",
     "Make an XA transaction started elsewhere the current one.", PathArg::kNone, false, nullptr, nullptr, nullptr,
     run_load_transaction},
    {"xa", "xa resolve ID [NOTE...]", "Admin: clear a heuristic XA transaction after looking at the chains.",
     PathArg::kNone, false, nullptr, nullptr, nullptr, run_xa_admin},
    {"newHTLCProposal",
     "newHTLCProposal INIT_PATH INIT_ACCOUNT[/RECEIVE] INIT_AMOUNT INIT_TIMELOCK PART_PATH PART_ACCOUNT[/RECEIVE] "
     "PART_AMOUNT PART_TIMELOCK HASH [SECRET]",
     "Propose an HTLC swap; with SECRET the router claims for the initiator once both locks are final.",
     PathArg::kResource, false, nullptr, nullptr, nullptr, run_new_htlc_proposal},
    {"genSecretAndHash", "genSecretAndHash", "A 32-byte secret from the system's CSPRNG and its sha256.",
     PathArg::kNone, false, nullptr, nullptr, run_gen_secret_and_hash},
    {"genTimelock", "genTimelock INIT_CHAIN PART_CHAIN [EXTRA_S]",
     "Two timelocks that meet the router's safety rule for these chains now.", PathArg::kChain, false, nullptr,
     nullptr, nullptr, run_gen_timelock},
    {"checkTransferStatus", "checkTransferStatus ID", "Where an HTLC swap stands, and each chain's view of its lock.",
     PathArg::kNone, false, nullptr, nullptr, nullptr, run_check_transfer_status},
    {"help", "help [COMMAND]", "This list, or one command's usage.", PathArg::kNone, false, nullptr, nullptr, run_help},
    {"quit", "quit", "Leave the console (also: exit, Ctrl-D).", PathArg::kNone, false, nullptr, nullptr, run_quit},
    {"exit", "exit", "Leave the console.", PathArg::kNone, false, nullptr, nullptr, run_quit},
};

Outcome run_help(Args args) {
  if (args.empty()) return printed(help_text());
  if (args.size() > 1) return failed(kExitUsage, "error: help takes at most one COMMAND\n");
  const Command *command = find_command(args[0]);
  if (!command) return failed(kExitUsage, "error: unknown command '" + args[0] + "' (try 'help')\n");
  return printed(command_help(*command));
}

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

} // namespace

Outcome malformed(const std::string &why) {
  return failed(kExitFailure, "error: malformed answer from the router: " + one_line(why) + "\n");
}

HttpRequest to_http(const RpcRequest &request) {
  return HttpRequest{request.method, request.target,
                     json::serialize(json::object{{"version", "1"}, {"data", request.data}})};
}

std::span<const Command> command_table() {
  return kCommands;
}

const Command *find_command(std::string_view name) {
  for (const Command &command : kCommands)
    if (equal_ignoring_case(command.name, name)) return &command;
  return nullptr;
}

std::string help_text() {
  std::vector<std::vector<std::string>> rows;
  for (const Command &command : kCommands)
    rows.push_back({std::string(command.usage), std::string(command.help)});
  return "Commands (names are case-insensitive; PATH is zone.chain.resource, CHAIN_PATH is zone.chain):\n" +
         format_table({"USAGE", "WHAT IT DOES"}, rows, "  ");
}

std::string command_help(const Command &command) {
  return "usage: " + std::string(command.usage) + "\n" + std::string(command.help) + "\n";
}

Outcome interpret_response(const Command &command, const HttpResult &result, const Options &options) {
  if (const auto *failure = std::get_if<TransportFailure>(&result))
    return failed(kExitUnreachable, "error: " + one_line(failure->message) + "\n");
  const auto &response = std::get<HttpResponse>(result);
  if (response.status != 200) return failed(kExitFailure, "error: HTTP " + std::to_string(response.status) + "\n");

  boost::system::error_code ec;
  const json::value envelope = json::parse(response.body, ec);
  if (ec) return malformed("not JSON (" + ec.message() + ")");
  const auto *object = envelope.if_object();
  const auto *code = object ? object->if_contains("errorCode") : nullptr;
  if (!code || !code->is_number()) return malformed("no errorCode");
  const auto error_code = static_cast<long long>(code->to_number<double>());
  if (error_code != 0) {
    const auto *message = object->if_contains("message");
    const std::string text = message && message->is_string() ? std::string(message->get_string()) : "(no message)";
    return failed(kExitFailure, error_line(error_code, text));
  }
  const auto *data = object->if_contains("data");
  return command.render(data ? *data : json::value(nullptr), options);
}

std::variant<json::value, Outcome> ask_router(const Transport &transport, const RpcRequest &request) {
  HttpResult result = transport(to_http(request));
  if (const auto *failure = std::get_if<TransportFailure>(&result))
    return failed(kExitUnreachable, "error: " + one_line(failure->message) + "\n");
  const auto &response = std::get<HttpResponse>(result);
  if (response.status != 200) return failed(kExitFailure, "error: HTTP " + std::to_string(response.status) + "\n");
  boost::system::error_code ec;
  json::value envelope = json::parse(response.body, ec);
  const auto *object = envelope.if_object();
  const auto *code = object ? object->if_contains("errorCode") : nullptr;
  if (ec || !code || !code->is_number()) return malformed(ec ? "not JSON (" + ec.message() + ")" : "no errorCode");
  auto error_code = static_cast<long long>(code->to_number<double>());
  if (error_code != 0) {
    const auto *message = object->if_contains("message");
    return failed(kExitFailure,
                  error_line(error_code, message && message->is_string() ? std::string(message->get_string()) : ""));
  }
  const auto *data = object->if_contains("data");
  return data ? *data : json::value(nullptr);
}

Outcome run_command(std::span<const std::string> words, const Transport &transport, const Options &options) {
  if (words.empty()) return Outcome{};
  const Command *command = find_command(words[0]);
  if (!command) return failed(kExitUsage, "error: unknown command '" + words[0] + "' (try 'help')\n");
  const Args args = words.subspan(1);
  if (command->run_local) return command->run_local(args);
  if (command->run_session) return command->run_session(args, transport, options);
  BuildResult built = command->build(args);
  if (!built.request)
    return failed(kExitUsage, "error: " + std::string(command->name) + ": " + built.error +
                                  " (usage: " + std::string(command->usage) + ")\n");
  return interpret_response(*command, transport(to_http(*built.request)), options);
}

} // namespace weft::console
