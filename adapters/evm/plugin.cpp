// The exported C table of libweft_evm.so (stub type EVM): trampolines into EvmChain (plugin_glue.h).
#include "evm_chain.h"
#include "plugin_glue.h"

namespace {

using weft::evm::EvmChain;
namespace glue = weft::evm::glue;

int32_t open_chain(const weft_open_args_v1 *args, weft_chain **out, char *err, size_t err_cap) noexcept {
  return glue::open(args, out, err, err_cap, [](const weft_open_args_v1 &a) {
    if (a.stub_type == nullptr || std::string_view(a.stub_type) != "EVM")
      throw weft::plugin::Failure(WEFT_E_UNSUPPORTED, "this library serves the stub type EVM only");
    auto config = weft::evm::parse_evm_config(a.config_json ? a.config_json : "");
    weft::plugin::Host host(a.host, a.chain_name ? a.chain_name : "");
    return new EvmChain(std::move(config), std::move(host), a.data_dir ? a.data_dir : "");
  });
}

template <EvmChain::Verb Body>
constexpr weft_verb_fn verb = glue::verb<EvmChain, Body>;

const char *const kStubTypes[] = {"EVM", nullptr};

const weft_adapter_v1 kTable = [] {
  weft_adapter_v1 t{};
  t.struct_size = sizeof(weft_adapter_v1);
  t.abi_version = WEFT_ADAPTER_ABI_VERSION;
  t.name = "weft-evm";
  t.version = "0.1.0";
  t.stub_types = kStubTypes;
  t.open = open_chain;
  t.close = glue::close<EvmChain>;
  t.cancel = glue::cancel<EvmChain>;
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
  t.deploy_stubs = verb<&EvmChain::stub<&weft::evm::StubVerbs::deploy_stubs>>;
  t.xa_start = verb<&EvmChain::stub<&weft::evm::StubVerbs::xa_start>>;
  t.xa_commit = verb<&EvmChain::stub<&weft::evm::StubVerbs::xa_commit>>;
  t.xa_rollback = verb<&EvmChain::stub<&weft::evm::StubVerbs::xa_rollback>>;
  t.xa_status = verb<&EvmChain::stub<&weft::evm::StubVerbs::xa_status>>;
  t.htlc_lock = verb<&EvmChain::stub<&weft::evm::StubVerbs::htlc_lock>>;
  t.htlc_unlock = verb<&EvmChain::stub<&weft::evm::StubVerbs::htlc_unlock>>;
  t.htlc_refund = verb<&EvmChain::stub<&weft::evm::StubVerbs::htlc_refund>>;
  t.htlc_status = verb<&EvmChain::stub<&weft::evm::StubVerbs::htlc_status>>;
  t.subscribe_v2 = glue::subscribe_v2<EvmChain>;
  t.unsubscribe = glue::unsubscribe<EvmChain>;
  // No inclusion proofs (get_proof): a NULL verb the router answers with 44003.
  return t;
}();

} // namespace

WEFT_ADAPTER_ENTRY(kTable)
