// The one table from an adapter's answer status to the RPC's error codes (docs/rpc.md, "Adapter statuses").
#pragma once

#include <weft/error.hpp>

#include <cstdint>
#include <string>

#include "chain_handle.h"

namespace weft {

// The envelope code of an adapter status.
int code_for_status(int32_t status);
Error error_from_status(int32_t status, std::string message);
// An adapter's failed answer as the router's error. A send whose transaction was signed and then timed out or was
// cancelled is never "not sent": it becomes 40200 naming the transaction's hash, whose outcome is unknown.
Error error_from_answer(const AdapterAnswer &answer, Verb verb);

} // namespace weft
