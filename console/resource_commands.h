// The console's commands that add resources to a chain (docs/console.md): registerResource PATH ADDRESS ABIFILE
// registers a deployed contract; deployContract PATH BINFILE ABIFILE [ARGS...] deploys one first (both read their
// files here and send their contents); deployStubs CHAIN deploys a chain's XA proxy and HTLC escrows. The router's
// adapter keeps what they add across restarts.
#pragma once

#include "commands.h"

namespace weft::console {

BuildResult build_register_resource(std::span<const std::string> args);
BuildResult build_deploy_contract(std::span<const std::string> args);
Outcome render_registered(const boost::json::value &data, const Options &options);
// deployStubs CHAIN_PATH [xa] [htlc ASSET [NAME]]: the chain's XA proxy and HTLC escrows (xa alone by default).
BuildResult build_deploy_stubs(std::span<const std::string> args);
Outcome render_stubs(const boost::json::value &data, const Options &options);

} // namespace weft::console
