// The exported C table of libweft_evm.so (stub type EVM): noexcept trampolines into EvmChain, so no exception
// crosses the ABI.
#include "evm_chain.h"

#include <weft/adapter.hpp>

namespace {

using weft::evm::EvmChain;
using weft::plugin::Completion;
using weft::plugin::Failure;

EvmChain *chain_of(weft_chain *chain) { return reinterpret_cast<EvmChain *>(chain); }

int32_t open_chain(const weft_open_args_v1 *args, weft_chain **out, char *err, size_t err_cap) noexcept {
  try {
    if (args == nullptr || out == nullptr) throw Failure(WEFT_E_INVALID_ARGUMENT, "open: no arguments");
    if (args->struct_size < sizeof(weft_open_args_v1))
      throw Failure(WEFT_E_INVALID_ARGUMENT, "open: the host's open arguments are too old");
    if (args->stub_type == nullptr || std::string_view(args->stub_type) != "EVM")
      throw Failure(WEFT_E_UNSUPPORTED, "this library serves the stub type EVM only");
    auto config = weft::evm::parse_evm_config(args->config_json ? args->config_json : "");
    weft::plugin::Host host(args->host, args->chain_name ? args->chain_name : "");
    *out = reinterpret_cast<weft_chain *>(
        new EvmChain(std::move(config), std::move(host), args->data_dir ? args->data_dir : ""));
    return WEFT_OK;
  } catch (const Failure &f) {
    weft::plugin::write_error(err, err_cap, f.message);
    return f.status;
  } catch (const std::exception &e) {
    weft::plugin::write_error(err, err_cap, e.what());
    return WEFT_E_INVALID_ARGUMENT;
  } catch (...) {
    weft::plugin::write_error(err, err_cap, "unknown exception while opening the chain");
    return WEFT_E_INTERNAL;
  }
}

void close_chain(weft_chain *chain) noexcept {
  if (chain == nullptr) return;
  try {
    delete chain_of(chain); // completes every pending operation, then stops the chain's thread
  } catch (...) {
  }
}

void cancel_op(weft_chain *chain, uint64_t op_id) noexcept {
  if (chain == nullptr) return;
  try {
    chain_of(chain)->cancel(op_id);
  } catch (...) {
  }
}

int32_t subscribe_v2(weft_chain *chain, const uint8_t *request, size_t size, weft_record_fn on_record, void *ctx,
                     uint64_t *subscription_id, char *err, size_t err_cap) noexcept {
  try {
    if (chain == nullptr || subscription_id == nullptr || on_record == nullptr)
      throw Failure(WEFT_E_INVALID_ARGUMENT, "subscribe_v2: no chain handle, id pointer or record function");
    std::string req(request != nullptr ? reinterpret_cast<const char *>(request) : "", request != nullptr ? size : 0);
    *subscription_id = chain_of(chain)->subscribe(req, on_record, ctx);
    return WEFT_OK;
  } catch (const Failure &f) {
    weft::plugin::write_error(err, err_cap, f.message);
    return f.status;
  } catch (const std::exception &e) {
    weft::plugin::write_error(err, err_cap, e.what());
    return WEFT_E_INTERNAL;
  } catch (...) {
    weft::plugin::write_error(err, err_cap, "unknown exception in subscribe_v2");
    return WEFT_E_INTERNAL;
  }
}

void unsubscribe(weft_chain *chain, uint64_t id) noexcept {
  if (chain == nullptr) return;
  try {
    chain_of(chain)->unsubscribe(id);
  } catch (...) {
  }
}

template <EvmChain::Verb Body>
void verb(weft_chain *chain, const uint8_t *request, size_t size, uint32_t deadline_ms, weft_callback cb, void *ctx,
          uint64_t *op_id) noexcept {
  if (op_id != nullptr) *op_id = 0;
  weft::plugin::guarded(cb, ctx, [&](const Completion &done) {
    if (chain == nullptr) throw Failure(WEFT_E_INVALID_ARGUMENT, "no chain handle");
    std::string req(request != nullptr ? reinterpret_cast<const char *>(request) : "", request != nullptr ? size : 0);
    const uint64_t id = chain_of(chain)->start(done, deadline_ms, req, Body);
    if (op_id != nullptr) *op_id = id;
  });
}

const char *const kStubTypes[] = {"EVM", nullptr};

const weft_adapter_v1 kTable = [] {
  weft_adapter_v1 t{};
  t.struct_size = sizeof(weft_adapter_v1);
  t.abi_version = WEFT_ADAPTER_ABI_VERSION;
  t.name = "weft-evm";
  t.version = "0.1.0";
  t.stub_types = kStubTypes;
  t.open = open_chain;
  t.close = close_chain;
  t.cancel = cancel_op;
  t.list_resources = verb<&EvmChain::list_resources>;
  t.call = verb<&EvmChain::call>;
  t.send_transaction = verb<&EvmChain::send_transaction>;
  t.block_height = verb<&EvmChain::block_height>;
  t.get_block = verb<&EvmChain::get_block>;
  t.get_receipt = verb<&EvmChain::get_receipt>;
  t.health = verb<&EvmChain::health>;
  t.account_info = verb<&EvmChain::account_info>;
  t.chain_info = verb<&EvmChain::chain_info>;
  t.register_resource = verb<&EvmChain::register_resource>;
  t.subscribe_v2 = subscribe_v2;
  t.unsubscribe = unsubscribe;
  // No inclusion proofs (get_proof), XA or HTLC yet: NULL verbs the router answers with 44003.
  return t;
}();

} // namespace

WEFT_ADAPTER_ENTRY(kTable)
