// The RPC's one response envelope, {version, errorCode, message, data}, as WeCross's router writes it, and the
// hot answers written into it directly (no JSON tree).
#pragma once

#include <boost/json/value.hpp>

#include <string>
#include <string_view>

#include <weft/error.hpp>

#include "chains/chain_answers.h"

namespace weft {

inline constexpr const char *kRpcVersion = "1";

std::string envelope_ok(const boost::json::value &data);
// The success envelope around `data_json`, JSON text written by the caller: no tree is built.
std::string envelope_ok_text(std::string_view data_json);
std::string envelope_error(const Error &e);

// A transaction's outcome as `data` of call and sendTransaction: {errorCode, message, hash, extraHashes,
// blockNumber, result, timestamp}, written directly, the same text boost::json writes for that object.
std::string tx_outcome_json(const TxOutcome &t);

// Appends `s` as a JSON string, quoted and escaped byte for byte as boost::json::serialize writes it.
void append_json_string(std::string &out, std::string_view s);

// Request versions WeCross's clients send and the router accepts.
bool supported_request_version(const std::string &v);

} // namespace weft
