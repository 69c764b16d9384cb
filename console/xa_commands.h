// The console's XA commands, named as WeCross's console names them (docs/console.md "XA transactions"):
// startTransaction, execTransaction, callTransaction, commitTransaction, rollbackTransaction, getXATransaction,
// listXATransactions, getCurrentTransactionID, loadTransaction; and Weft's `xa resolve ID [NOTE]` for an admin.
// The current transaction (id, paths, the last seq) lives in the console's session, like WeCross's thread-locals.
#pragma once

#include "commands.h"

namespace weft::console {

using XaRunner = Outcome (*)(std::span<const std::string> args, const Transport &transport, const Options &options);

Outcome run_start_transaction(std::span<const std::string> args, const Transport &t, const Options &o);
Outcome run_exec_transaction(std::span<const std::string> args, const Transport &t, const Options &o);
Outcome run_call_transaction(std::span<const std::string> args, const Transport &t, const Options &o);
Outcome run_commit_transaction(std::span<const std::string> args, const Transport &t, const Options &o);
Outcome run_rollback_transaction(std::span<const std::string> args, const Transport &t, const Options &o);
Outcome run_get_xa_transaction(std::span<const std::string> args, const Transport &t, const Options &o);
Outcome run_list_xa_transactions(std::span<const std::string> args, const Transport &t, const Options &o);
Outcome run_get_current_transaction_id(std::span<const std::string> args, const Transport &t, const Options &o);
Outcome run_load_transaction(std::span<const std::string> args, const Transport &t, const Options &o);
Outcome run_xa_admin(std::span<const std::string> args, const Transport &t, const Options &o);

// A new transaction id as WeCross's SDK makes them: 32 lowercase hex characters.
std::string new_transaction_id();

} // namespace weft::console
