// The exported C table of libweft_bcos.so (stub types BCOS2.0, GM_BCOS2.0, BCOS3, GM_BCOS3): noexcept trampolines
// into BcosChain, so no exception crosses the ABI.
#include "bcos_chain.h"

#include <weft/adapter.hpp>

namespace {

using weft::bcos::BcosChain;
using weft::plugin::Completion;
using weft::plugin::Failure;

BcosChain *chain_of(weft_chain *chain) {
  return reinterpret_cast<BcosChain *>(chain);
}

int32_t open_chain(const weft_open_args_v1 *args, weft_chain **out, char *err, size_t err_cap) noexcept {
  try {
    if (args == nullptr || out == nullptr) throw Failure(WEFT_E_INVALID_ARGUMENT, "open: no arguments");
    if (args->struct_size < sizeof(weft_open_args_v1))
      throw Failure(WEFT_E_INVALID_ARGUMENT, "open: the host's open arguments are too old");
    auto config = weft::bcos::parse_bcos_config(args->stub_type ? args->stub_type : "",
                                                args->config_json ? args->config_json : "");
    weft::plugin::Host host(args->host, args->chain_name ? args->chain_name : "");
    *out = reinterpret_cast<weft_chain *>(
        new BcosChain(std::move(config), std::move(host), args->data_dir ? args->data_dir : ""));
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

template <BcosChain::Verb Body>
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

const char *const kStubTypes[] = {"BCOS2.0", "GM_BCOS2.0", "BCOS3", "GM_BCOS3", nullptr};

const weft_adapter_v1 kTable = [] {
  weft_adapter_v1 t{};
  t.struct_size = sizeof(weft_adapter_v1);
  t.abi_version = WEFT_ADAPTER_ABI_VERSION;
  t.name = "weft-bcos";
  t.version = "0.1.0";
  t.stub_types = kStubTypes;
  t.open = open_chain;
  t.close = close_chain;
  t.cancel = cancel_op;
  t.list_resources = verb<&BcosChain::list_resources>;
  t.call = verb<&BcosChain::call>;
  t.send_transaction = verb<&BcosChain::send_transaction>;
  t.block_height = verb<&BcosChain::block_height>;
  t.get_block = verb<&BcosChain::get_block>;
  t.get_receipt = verb<&BcosChain::get_receipt>;
  t.health = verb<&BcosChain::health>;
  t.account_info = verb<&BcosChain::account_info>;
  t.chain_info = verb<&BcosChain::chain_info>;
  t.register_resource = verb<&BcosChain::register_resource>;
  // No inclusion proofs, XA, HTLC or subscriptions yet: NULL verbs the router answers with 44003.
  return t;
}();

} // namespace

WEFT_ADAPTER_ENTRY(kTable)
