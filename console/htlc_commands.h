// The console's HTLC commands (docs/htlc.md): newHTLCProposal, genSecretAndHash (a secret from the system CSPRNG and
// its sha256), genTimelock (two timelocks that meet the router's safety rule for two chains now) and
// checkTransferStatus (where a swap stands, and each chain's own view of its lock).
#pragma once

#include "commands.h"

namespace weft::console {

Outcome run_new_htlc_proposal(std::span<const std::string> args, const Transport &t, const Options &o);
Outcome run_gen_secret_and_hash(std::span<const std::string> args);
Outcome run_gen_timelock(std::span<const std::string> args, const Transport &t, const Options &o);
Outcome run_check_transfer_status(std::span<const std::string> args, const Transport &t, const Options &o);

} // namespace weft::console
