// The read-only questions every client API of the chain answers — the adapter verbs and weft-node's client port —
// as request JSON in, result JSON out, so both speak the same JSON. Also the request-field readers they share.
#pragma once

#include "ledger.h"

#include <boost/json/object.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace weft::refchain::queries {

namespace json = boost::json;

// Parses a request body: "" and "null" are an empty object; anything but an object throws
// Error(WEFT_E_INVALID_ARGUMENT).
json::object parse_request(std::string_view text);

// Field readers; a missing or mistyped field throws Error(WEFT_E_INVALID_ARGUMENT) naming it.
std::string string_field(const json::object &o, const char *key, bool required = true);
std::vector<std::string> args_field(const json::object &o); // "args": [str], absent = []
uint64_t uint_field(const json::object &o, const char *key);
Hash hash_field(const json::object &o); // "hash": "0x" + 64 hex digits

// {"errorCode":0,"message":"Success","hash":"","blockNumber":height,"result":[str],"timestamp":0}
json::object call(Ledger &ledger, const json::object &request);
// {"height":N}
json::object block_height(Ledger &ledger);
// block_json of {"number"}; WEFT_E_NOT_FOUND beyond the head.
json::object get_block(Ledger &ledger, const json::object &request);
// receipt_json of {"hash"}; WEFT_E_NOT_FOUND while not committed.
json::object get_receipt(Ledger &ledger, const json::object &request);
// proof_json of {"hash"}; WEFT_E_NOT_FOUND while not committed.
json::object get_proof(Ledger &ledger, const json::object &request);

// What a send answers once its transaction committed: {"errorCode","message","hash","blockNumber","result",
// "timestamp"}, and "events" when the receipt has any.
json::object sent_json(const Receipt &r, uint64_t block_timestamp_ms);

} // namespace weft::refchain::queries
