// The C trampolines of an adapter whose chains are one object each with start/cancel/subscribe/unsubscribe (the EVM
// and FISCO BCOS adapters): every entry is noexcept and turns exceptions into statuses, so none crosses the ABI.
#pragma once

#include <weft/adapter.hpp>

#include <string>

namespace weft::evm::glue {

template <class Chain>
Chain *chain_of(weft_chain *chain) {
  return reinterpret_cast<Chain *>(chain);
}

inline std::string request_text(const uint8_t *request, size_t size) {
  return std::string(request != nullptr ? reinterpret_cast<const char *>(request) : "", request != nullptr ? size : 0);
}

// open: checks the host's arguments, then make(args) builds the chain (throwing plugin::Failure on a bad config).
template <class Make>
int32_t open(const weft_open_args_v1 *args, weft_chain **out, char *err, size_t err_cap, Make make) noexcept {
  return plugin::guarded_status(err, err_cap, [&]() -> int32_t {
    if (args == nullptr || out == nullptr) throw plugin::Failure(WEFT_E_INVALID_ARGUMENT, "open: no arguments");
    if (args->struct_size < sizeof(weft_open_args_v1))
      throw plugin::Failure(WEFT_E_INVALID_ARGUMENT, "open: the host's open arguments are too old");
    *out = reinterpret_cast<weft_chain *>(make(*args));
    return WEFT_OK;
  });
}

template <class Chain>
void close(weft_chain *chain) noexcept {
  if (chain == nullptr) return;
  try {
    delete chain_of<Chain>(chain); // completes every pending operation, then stops the chain's thread
  } catch (...) {
  }
}

template <class Chain>
void cancel(weft_chain *chain, uint64_t op_id) noexcept {
  if (chain == nullptr) return;
  try {
    chain_of<Chain>(chain)->cancel(op_id);
  } catch (...) {
  }
}

template <class Chain, typename Chain::Verb Body>
void verb(weft_chain *chain, const uint8_t *request, size_t size, uint32_t deadline_ms, weft_callback cb, void *ctx,
          uint64_t *op_id) noexcept {
  if (op_id != nullptr) *op_id = 0;
  plugin::guarded(cb, ctx, [&](const plugin::Completion &done) {
    if (chain == nullptr) throw plugin::Failure(WEFT_E_INVALID_ARGUMENT, "no chain handle");
    const uint64_t id = chain_of<Chain>(chain)->start(done, deadline_ms, request_text(request, size), Body);
    if (op_id != nullptr) *op_id = id;
  });
}

template <class Chain>
int32_t subscribe_v2(weft_chain *chain, const uint8_t *request, size_t size, weft_record_fn on_record, void *ctx,
                     uint64_t *subscription_id, char *err, size_t err_cap) noexcept {
  return plugin::guarded_status(err, err_cap, [&]() -> int32_t {
    if (chain == nullptr || subscription_id == nullptr || on_record == nullptr)
      throw plugin::Failure(WEFT_E_INVALID_ARGUMENT, "subscribe_v2: no chain handle, id pointer or record function");
    *subscription_id = chain_of<Chain>(chain)->subscribe(request_text(request, size), on_record, ctx);
    return WEFT_OK;
  });
}

template <class Chain>
void unsubscribe(weft_chain *chain, uint64_t id) noexcept {
  if (chain == nullptr) return;
  try {
    chain_of<Chain>(chain)->unsubscribe(id);
  } catch (...) {
  }
}

} // namespace weft::evm::glue
