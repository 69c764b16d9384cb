// The console's commands that add resources to a chain (docs/console.md): registerResource PATH ADDRESS ABIFILE
// registers a deployed contract; deployContract PATH BINFILE ABIFILE [ARGS...] deploys one first. Both read their
// files here and send their contents; the router's adapter keeps the resource across restarts.
#pragma once

#include "commands.h"

namespace weft::console {

BuildResult build_register_resource(std::span<const std::string> args);
BuildResult build_deploy_contract(std::span<const std::string> args);
Outcome render_registered(const boost::json::value &data, const Options &options);

} // namespace weft::console
