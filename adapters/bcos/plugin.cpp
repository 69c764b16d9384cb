// The exported C table of libweft_bcos.so (stub types BCOS2.0, GM_BCOS2.0, BCOS3, GM_BCOS3): noexcept trampolines
// into BcosChain (plugin_glue.h).
#include "bcos_chain.h"
#include "plugin_glue.h"

namespace {

using weft::bcos::BcosChain;
namespace glue = weft::evm::glue;

int32_t open_chain(const weft_open_args_v1 *args, weft_chain **out, char *err, size_t err_cap) noexcept {
  return glue::open(args, out, err, err_cap, [](const weft_open_args_v1 &a) {
    auto config = weft::bcos::parse_bcos_config(a.stub_type ? a.stub_type : "", a.config_json ? a.config_json : "");
    weft::plugin::Host host(a.host, a.chain_name ? a.chain_name : "");
    return new BcosChain(std::move(config), std::move(host), a.data_dir ? a.data_dir : "");
  });
}

template <BcosChain::Verb Body>
constexpr weft_verb_fn verb = glue::verb<BcosChain, Body>;

const char *const kStubTypes[] = {"BCOS2.0", "GM_BCOS2.0", "BCOS3", "GM_BCOS3", nullptr};

const weft_adapter_v1 kTable = [] {
  weft_adapter_v1 t{};
  t.struct_size = sizeof(weft_adapter_v1);
  t.abi_version = WEFT_ADAPTER_ABI_VERSION;
  t.name = "weft-bcos";
  t.version = "0.1.0";
  t.stub_types = kStubTypes;
  t.open = open_chain;
  t.close = glue::close<BcosChain>;
  t.cancel = glue::cancel<BcosChain>;
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
  t.deploy_stubs = verb<&BcosChain::stub<&weft::evm::StubVerbs::deploy_stubs>>;
  t.xa_start = verb<&BcosChain::stub<&weft::evm::StubVerbs::xa_start>>;
  t.xa_commit = verb<&BcosChain::stub<&weft::evm::StubVerbs::xa_commit>>;
  t.xa_rollback = verb<&BcosChain::stub<&weft::evm::StubVerbs::xa_rollback>>;
  t.xa_status = verb<&BcosChain::stub<&weft::evm::StubVerbs::xa_status>>;
  t.htlc_lock = verb<&BcosChain::stub<&weft::evm::StubVerbs::htlc_lock>>;
  t.htlc_unlock = verb<&BcosChain::stub<&weft::evm::StubVerbs::htlc_unlock>>;
  t.htlc_refund = verb<&BcosChain::stub<&weft::evm::StubVerbs::htlc_refund>>;
  t.htlc_status = verb<&BcosChain::stub<&weft::evm::StubVerbs::htlc_status>>;
  // No inclusion proofs or subscriptions yet: NULL verbs the router answers with 44003.
  return t;
}();

} // namespace

WEFT_ADAPTER_ENTRY(kTable)
