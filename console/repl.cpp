#include "repl.h"

#include "completion.h"
#include "line_split.h"

#include <editline/readline.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>

namespace weft::console {

namespace {

// libedit's completion hooks are plain functions without a user pointer, so what they read lives here.
std::vector<std::string> g_resources;
std::vector<std::string> g_matches;
std::size_t g_next_match = 0;

char *next_match(const char * /*text*/, int state) {
  if (state == 0) g_next_match = 0;
  if (g_next_match >= g_matches.size()) return nullptr;
  return strdup(g_matches[g_next_match++].c_str()); // libedit frees it
}

char **attempt_completion(const char *text, int start, int /*end*/) {
  rl_attempted_completion_over = 1; // never fall back to file names
  const SplitLine before = split_line(std::string_view(rl_line_buffer, static_cast<std::size_t>(start)));
  if (!before.ok()) return nullptr;
  g_matches = complete(before.words, text, g_resources);
  return rl_completion_matches(text, next_match);
}

std::string history_path() {
  const char *home = std::getenv("HOME");
  return home && *home ? std::string(home) + "/.weft_history" : std::string();
}

void refresh_resources(const Outcome &outcome) {
  if (outcome.resources) g_resources = *outcome.resources;
}

// Runs one line; returns false when the console should stop.
bool run_line(const std::string &line, const Transport &transport, const Options &options) {
  const SplitLine split = split_line(line);
  if (!split.ok()) {
    std::cerr << "error: " << split.error << "\n";
    return true;
  }
  const Outcome outcome = run_command(split.words, transport, options);
  print_outcome(outcome);
  refresh_resources(outcome);
  return !outcome.quit;
}

int run_plain(const Transport &transport, const Options &options) {
  std::string line;
  while (std::getline(std::cin, line)) {
    if (options.echo) std::cout << "[weft]> " << line << std::endl;
    const SplitLine split = split_line(line);
    if (!split.ok()) {
      std::cerr << "error: " << split.error << "\n";
      continue;
    }
    const Outcome outcome = run_command(split.words, transport, options);
    print_outcome(outcome);
    refresh_resources(outcome);
    if (outcome.quit) break;
  }
  return kExitOk;
}

} // namespace

void print_outcome(const Outcome &outcome) {
  std::cout << outcome.out << std::flush;
  std::cerr << outcome.err << std::flush;
}

int run_repl(const Transport &transport, const Options &options, const std::string &server) {
  if (!isatty(STDIN_FILENO)) return run_plain(transport, options);

  std::cout << "weft console, router at " << server << "; 'help' lists the commands, Tab completes.\n";
  const std::string listing[] = {"listResources"};
  const Outcome initial = run_command(listing, transport, Options{});
  if (initial.exit_code != kExitOk) std::cerr << initial.err; // say now that the router is not answering, once
  refresh_resources(initial);

  rl_readline_name = "weft";
  rl_attempted_completion_function = attempt_completion;
  using_history();
  stifle_history(1000);
  const std::string history = history_path();
  if (!history.empty()) read_history(history.c_str()); // a missing or unreadable file only means no history

  while (true) {
    std::unique_ptr<char, decltype(&std::free)> raw(readline("weft> "), &std::free);
    if (!raw) { // Ctrl-D
      std::cout << "\n";
      break;
    }
    const std::string line(raw.get());
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    add_history(raw.get());
    if (!history.empty())
      write_history(history.c_str()); // each line, so a killed console keeps its history; failures are ignored
    if (!run_line(line, transport, options)) break;
  }
  return kExitOk;
}

} // namespace weft::console
