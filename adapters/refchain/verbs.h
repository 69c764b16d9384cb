// The adapter verbs of the reference chain: request JSON in, result JSON out, in WeCross's vocabulary where it has
// one. Each runs on the chain's worker thread as a Runtime::Work.
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

// How far ahead send_transaction sets block_limit: half the allowed range, so a transaction waits at most this
// many blocks in the pool before it expires.
inline constexpr uint64_t kSendBlockLimitAhead = 500;

} // namespace weft::refchain::verbs
