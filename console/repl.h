// The interactive console: a libedit prompt with history and Tab completion over the same command table as one-shot
// mode. Also the one place that prints an Outcome, so both modes look the same.
#pragma once

#include "commands.h"

#include <string>

namespace weft::console {

// Writes out to stdout and err to stderr.
void print_outcome(const Outcome &outcome);

// Reads commands until quit, exit or end of input; returns the process exit code (0). When stdin is not a terminal
// it reads plain lines without prompt, history or completion, so `weft < script` works.
int run_repl(const Transport &transport, const Options &options, const std::string &server);

} // namespace weft::console
