// The console's command table and the pure steps of running a command: words -> RPC request -> HTTP -> text and an
// exit code. The HTTP round trip is a function passed in, so everything here is testable without a router.
#pragma once

#include "http_client.h"
#include "login.h"

#include <boost/json/value.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace weft::console {

enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,     // error envelope, chain-level failure, non-200 HTTP status, malformed answer
  kExitUsage = 2,       // the command line is wrong; nothing was sent
  kExitUnreachable = 3, // no HTTP answer: refused, unresolvable, timed out, connection dropped
};

struct Options {
  bool json = false; // print the envelope's raw `data` instead of text for people
  bool echo = false; // commands read from a pipe are printed before their answers
  std::shared_ptr<ConsoleSession> session; // login state: login/logout change it; null when the caller keeps none
};

// What a command produced; the caller decides where to print it.
struct Outcome {
  int exit_code = kExitOk;
  std::string out; // for stdout
  std::string err; // for stderr: empty or exactly one line
  bool quit = false;
  std::optional<std::vector<std::string>> resources; // resource paths, after a successful listResources
};

inline Outcome printed(std::string out) {
  Outcome outcome;
  outcome.out = std::move(out);
  return outcome;
}

inline Outcome failed(int exit_code, std::string err) {
  Outcome outcome;
  outcome.exit_code = exit_code;
  outcome.err = std::move(err);
  return outcome;
}

// "error: malformed answer from the router: <why>" (on one line), exit code 1.
Outcome malformed(const std::string &why);

// An RPC request before it is wrapped in the {"version":"1","data":…} envelope.
struct RpcRequest {
  std::string method; // "GET" or "POST"
  std::string target;
  boost::json::value data; // null when the route takes no payload
};

HttpRequest to_http(const RpcRequest &request);

struct BuildResult {
  std::optional<RpcRequest> request;
  std::string error; // a usage error when request is empty
};

// Which kind of path the command's first argument is, for completion.
enum class PathArg { kNone, kResource, kChain };

struct Command {
  std::string_view name; // WeCross console's spelling; matched case-insensitively
  std::string_view usage;
  std::string_view help;
  PathArg path_arg = PathArg::kNone;
  bool takes_account = false; // accepts --account NAME before its path
  // Remote commands build a request and render the envelope's data; local ones (help, quit) only run.
  BuildResult (*build)(std::span<const std::string> args) = nullptr;
  Outcome (*render)(const boost::json::value &data, const Options &options) = nullptr;
  Outcome (*run_local)(std::span<const std::string> args) = nullptr;
  // Commands that talk to the router in several steps and keep state (login, logout).
  Outcome (*run_session)(std::span<const std::string> args, const std::function<HttpResult(const HttpRequest &)> &,
                         const Options &options) = nullptr;
};

std::span<const Command> command_table();
const Command *find_command(std::string_view name);

// The whole help, or one command's.
std::string help_text();
std::string command_help(const Command &command);

// Checks the HTTP status and the envelope, then hands `data` to the command's renderer.
Outcome interpret_response(const Command &command, const HttpResult &result, const Options &options);

using Transport = std::function<HttpResult(const HttpRequest &)>;

// Sends one request and returns the envelope's data, or the outcome that reports why there is none (no answer,
// a non-200 status, a malformed envelope, an error code): for commands that talk to the router in several steps.
std::variant<boost::json::value, Outcome> ask_router(const Transport &transport, const RpcRequest &request);

// Runs one split command line; never throws for bad input or bad answers.
Outcome run_command(std::span<const std::string> words, const Transport &transport, const Options &options);

} // namespace weft::console
