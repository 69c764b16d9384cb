#include "adapter_status.h"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace weft {

int code_for_status(int32_t status) {
  switch (status) {
  case WEFT_OK: return code::kSuccess;
  case WEFT_E_INVALID_ARGUMENT: return code::kChainInvalidArgument;
  case WEFT_E_NOT_FOUND: return code::kChainNotFound;
  case WEFT_E_UNSUPPORTED: return code::kChainUnsupported;
  case WEFT_E_TIMEOUT: return code::kChainTimeout;
  case WEFT_E_UNAVAILABLE: return code::kChainUnreachable;
  case WEFT_E_REJECTED: return code::kChainRejected;
  case WEFT_E_ACCOUNT: return code::kChainAccount;
  case WEFT_E_CANCELLED: return code::kChainCancelled;
  case WEFT_E_BUSY: return code::kChainBusy;
  default: return code::kChainInternal;
  }
}

Error error_from_status(int32_t status, std::string message) {
  if (message.empty()) message = "adapter failed with status " + std::to_string(status);
  return Error{code_for_status(status), std::move(message)};
}

namespace {
// The "hash" detail of a failed answer, if the adapter gave one.
std::string detail_hash(const std::string &data) {
  if (data.empty()) return "";
  boost::system::error_code ec;
  auto v = boost::json::parse(data, ec);
  if (ec || !v.is_object()) return "";
  const auto *h = v.as_object().if_contains("hash");
  return h != nullptr && h->is_string() ? std::string(h->get_string()) : "";
}
} // namespace

Error error_from_answer(const AdapterAnswer &a, Verb verb) {
  if (verb == Verb::SendTransaction && (a.status == WEFT_E_TIMEOUT || a.status == WEFT_E_CANCELLED)) {
    std::string hash = detail_hash(a.data);
    if (!hash.empty()) {
      std::string msg = a.message;
      if (msg.find(hash) == std::string::npos) msg += "; transaction " + hash + " was sent";
      return Error{code::kChainTimeout,
                   msg + "; its outcome is unknown: look it up with /trans/getTransaction?txHash=" + hash};
    }
    if (a.status == WEFT_E_TIMEOUT)
      return Error{code::kChainTimeout, a.message + "; the outcome of the transaction is unknown"};
  }
  return error_from_status(a.status, a.message);
}

} // namespace weft
