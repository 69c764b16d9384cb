// weft: the Weft router's admin console. One command from the command line, or a REPL when none is given.
#include "commands.h"
#include "http_client.h"
#include "repl.h"

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <memory>

#ifndef WEFT_VERSION
#define WEFT_VERSION "unknown"
#endif

namespace {

using namespace weft::console;

int run(int argc, char **argv) {
  CLI::App app{"weft: admin console of a Weft router, over its HTTP JSON RPC.", "weft"};
  std::string server = "127.0.0.1:8250";
  int timeout_ms = 35000;
  bool json = false;
  std::string user;
  app.add_option("--user", user,
                 "log in as USER first; the password comes from WEFT_PASSWORD or one line of standard input")
      ->envname("WEFT_USER");
  app.add_option("--server", server, "router RPC address host:port (default from WEFT_SERVER if set)")
      ->envname("WEFT_SERVER")
      ->capture_default_str();
  app.add_option("--timeout-ms", timeout_ms, "give up on a request after this many milliseconds")
      ->check(CLI::Range(1, 24 * 3600 * 1000))
      ->capture_default_str();
  app.add_flag("--json", json, "print the answer's raw data as JSON, for scripts");
  bool echo = false;
  app.add_flag("--echo", echo, "print each command read from standard input before its answer (scripts, demos)");
  app.set_version_flag("--version", "weft " WEFT_VERSION);
  // Everything from the first non-flag word on is the console command, passed through untouched, so a command's own
  // arguments (--account, values starting with '-') never meet the global flag parser.
  app.prefix_command();
  app.footer("\nUsage: weft [--server HOST:PORT] [--user USER] [--timeout-ms MS] [--json] [COMMAND [ARGS...]]\n"
             "Without COMMAND the console is interactive.\n\n" +
             help_text() +
             "\nExit codes: 0 success, 1 error answer or failed transaction, 2 usage error, 3 router not reachable.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp &) {
    std::cout << app.help();
    return kExitOk;
  } catch (const CLI::CallForVersion &) {
    std::cout << "weft " WEFT_VERSION "\n";
    return kExitOk;
  } catch (const CLI::ParseError &e) {
    std::cerr << "error: " << e.what() << " (try 'weft --help')\n";
    return kExitUsage;
  }

  const auto endpoint = parse_endpoint(server);
  if (!endpoint) {
    std::cerr << "error: --server '" << server << "' is not HOST:PORT\n";
    return kExitUsage;
  }
  HttpTimeouts timeouts;
  timeouts.total = std::chrono::milliseconds(timeout_ms);
  // The token lives in this process's memory only; every request carries it once logged in.
  auto session = std::make_shared<ConsoleSession>();
  const Transport transport = [endpoint = *endpoint, timeouts, session](const HttpRequest &request) {
    HttpRequest r = request;
    if (r.authorization.empty()) r.authorization = session->credential;
    return send_http(endpoint, r, timeouts);
  };
  const Options options{json, echo, session};
  if (!user.empty()) {
    const LoginFailure why = login(transport, user, read_password("password for " + user + ": "), *session);
    if (!why.message.empty()) {
      std::cerr << "error: " << why.message << "\n";
      return why.unreachable ? kExitUnreachable : kExitFailure;
    }
  }

  const std::vector<std::string> words = app.remaining();
  if (words.empty()) return run_repl(transport, options, server);
  if (words[0].starts_with("-")) { // a global flag CLI11 did not know, since commands never start with '-'
    std::cerr << "error: unknown option '" << words[0] << "' (try 'weft --help')\n";
    return kExitUsage;
  }
  const Outcome outcome = run_command(words, transport, options);
  print_outcome(outcome);
  return outcome.exit_code;
}

} // namespace

int main(int argc, char **argv) {
  // Nothing may leave main as an exception: the console's contract is one error line and an exit code.
  try {
    return run(argc, argv);
  } catch (const std::exception &e) {
    std::cerr << "error: " << e.what() << "\n";
  } catch (...) {
    std::cerr << "error: unexpected failure\n";
  }
  return kExitFailure;
}
