// Renderers: each turns the `data` of a successful envelope into an Outcome (text, exit code), one per command.
// A transaction that reached its chain and failed arrives here as data.errorCode != 0 and becomes exit code 1.
#pragma once

#include "commands.h"

namespace weft::console {

Outcome render_status(const boost::json::value &data, const Options &options);
Outcome render_supported_stubs(const boost::json::value &data, const Options &options);
Outcome render_list_resources(const boost::json::value &data, const Options &options);
Outcome render_detail(const boost::json::value &data, const Options &options);
Outcome render_call(const boost::json::value &data, const Options &options);
Outcome render_send_transaction(const boost::json::value &data, const Options &options);
Outcome render_receipt(const boost::json::value &data, const Options &options);
Outcome render_block(const boost::json::value &data, const Options &options);
// An account-manager answer {errorCode, message, chainAccount?}: its own errorCode decides the exit code.
Outcome render_am_answer(const boost::json::value &data, const Options &options);
Outcome render_whoami(const boost::json::value &data, const Options &options);
Outcome render_list_account(const boost::json::value &data, const Options &options);
Outcome render_accounts(const boost::json::value &data, const Options &options);

// "error <code>: <message>" as the one stderr line of a failure.
std::string error_line(long long code, std::string_view message);

} // namespace weft::console
