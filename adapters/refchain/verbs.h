// The adapter verbs of the reference chain: request JSON in, result JSON out, in WeCross's vocabulary where it has
// one. Each runs on the chain's worker thread as a Runtime::Work, except remote mode's plain reads (network_read).
#pragma once

#include "runtime.h"

#include <string>

namespace weft::refchain::verbs {

using Result = std::optional<std::string>;

Result list_resources(Runtime &rt, uint64_t op, const std::string &request);
Result call(Runtime &rt, uint64_t op, const std::string &request);
Result send_transaction(Runtime &rt, uint64_t op, const std::string &request);
Result block_height(Runtime &rt, uint64_t op, const std::string &request);
Result get_block(Runtime &rt, uint64_t op, const std::string &request);
Result get_receipt(Runtime &rt, uint64_t op, const std::string &request);
Result get_proof(Runtime &rt, uint64_t op, const std::string &request);
Result health(Runtime &rt, uint64_t op, const std::string &request);
Result account_info(Runtime &rt, uint64_t op, const std::string &request);
Result chain_info(Runtime &rt, uint64_t op, const std::string &request);
// XA (xa_verbs.cpp); request and answer JSON in docs/adapters.md, "XA verbs".
Result xa_start(Runtime &rt, uint64_t op, const std::string &request);
Result xa_commit(Runtime &rt, uint64_t op, const std::string &request);
Result xa_rollback(Runtime &rt, uint64_t op, const std::string &request);
Result xa_status(Runtime &rt, uint64_t op, const std::string &request);
// HTLC (htlc_verbs.cpp); request and answer JSON in docs/adapters.md, "HTLC verbs".
Result htlc_lock(Runtime &rt, uint64_t op, const std::string &request);
Result htlc_unlock(Runtime &rt, uint64_t op, const std::string &request);
Result htlc_refund(Runtime &rt, uint64_t op, const std::string &request);
Result htlc_status(Runtime &rt, uint64_t op, const std::string &request);
// Remote mode: a plain read verb ("call", "block_height", "get_block", "get_receipt", "get_proof") is the same
// question put to the network, asked from the calling thread with Runtime::ask_remote and answered on the
// connection's thread: no worker. Returns the node op and its fields, or nullopt when the verb must run on a
// worker (another verb, or a call with XA options, which is checked against its transaction first). Throws Error
// on a malformed request.
struct NetworkRead {
  std::string op;
  boost::json::object fields;
};
std::optional<NetworkRead> network_read(std::string_view verb, std::string_view request);
// Whether a call or send request carries options.XA_TRANSACTION_ID (xa_verbs.cpp).
bool has_xa_options(const boost::json::object &request);

// The verb's failure for a failed receipt of an XA proxy or htlc transaction: WEFT_E_BUSY (details add the holder),
// WEFT_E_NOT_FOUND (unknown transaction id, resource or method), WEFT_E_ACCOUNT (not the coordinator),
// WEFT_E_INVALID_ARGUMENT (bad arguments), else WEFT_E_REJECTED (finished, conflicting, refused, the HTLC refusals,
// an insufficient balance); details {"hash","code"}.
Runtime::Answer receipt_failure(uint32_t code, const std::string &message, const std::string &hash);

// Shared by the verbs of verbs.cpp and xa_verbs.cpp.
// What Ledger::check_invocation checks, from the configured contracts: it works without a local ledger.
void check_invocation(Runtime &rt, const Transaction &tx);
// Sets chain id, nonce and block limit, and signs tx with the account's key through the host. Throws Error.
void sign(Runtime &rt, uint64_t op, Transaction &tx, const std::string &account);
// Hands a signed transaction over: its commit (embedded) or the node's answer (remote) completes op, through
// transform if given. Returns nullopt.
Result dispatch(Runtime &rt, uint64_t op, const Transaction &tx, Runtime::Transform transform = {});
// send_transaction with options.XA_TRANSACTION_ID / XA_TRANSACTION_SEQ: checks the business call (resource,
// writing method, arity) and rewrites tx into WeCrossProxy.exec(xid, seq, resource, method, args...). Returns
// false, tx untouched, without XA options.
bool xa_wrap_step(Runtime &rt, const boost::json::object &request, Transaction &tx);
// A plain write to a resource the committed state shows locked fails before signing: WEFT_E_BUSY, {"holder"}.
void check_not_locked(Runtime &rt, uint64_t op, const Transaction &tx);
// call with options.XA_TRANSACTION_ID: the transaction must be processing and hold the resource, else
// WEFT_E_INVALID_ARGUMENT. Returns whether the request had XA options.
bool check_xa_read(Runtime &rt, uint64_t op, const boost::json::object &request);
// list_resources' entry for the XA proxy.
boost::json::object xa_proxy_resource_json(Runtime &rt);

// How far ahead send_transaction sets block_limit: half the allowed range, so a transaction waits at most this
// many blocks in the pool before it expires.
inline constexpr uint64_t kSendBlockLimitAhead = 500;

} // namespace weft::refchain::verbs
