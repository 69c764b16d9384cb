// The exported C table of libweft_fabric.so (stub types Fabric1.4 and Fabric2.0, both over the classic Endorser /
// Broadcast / Deliver path): noexcept trampolines into FabricChain (the EVM adapter's plugin_glue.h).
#include "fabric_chain.h"
#include "plugin_glue.h"

namespace {

using weft::fabric::FabricChain;
namespace glue = weft::evm::glue;

int32_t open_chain(const weft_open_args_v1 *args, weft_chain **out, char *err, size_t err_cap) noexcept {
  return glue::open(args, out, err, err_cap, [](const weft_open_args_v1 &a) {
    const std::string type = a.stub_type ? a.stub_type : "";
    if (type != "Fabric1.4" && type != "Fabric2.0")
      throw weft::plugin::Failure(WEFT_E_UNSUPPORTED,
                                  "this library serves the stub types Fabric1.4 and Fabric2.0 only");
    auto config = weft::fabric::parse_fabric_config(a.config_json ? a.config_json : "");
    weft::plugin::Host host(a.host, a.chain_name ? a.chain_name : "");
    return new FabricChain(std::move(config), std::move(host), type);
  });
}

template <FabricChain::Verb Body> constexpr weft_verb_fn verb = glue::verb<FabricChain, Body>;

const char *const kStubTypes[] = {"Fabric1.4", "Fabric2.0", nullptr};

const weft_adapter_v1 kTable = [] {
  weft_adapter_v1 t{};
  t.struct_size = sizeof(weft_adapter_v1);
  t.abi_version = WEFT_ADAPTER_ABI_VERSION;
  t.name = "weft-fabric";
  t.version = "0.1.0";
  t.stub_types = kStubTypes;
  t.open = open_chain;
  t.close = glue::close<FabricChain>;
  t.cancel = glue::cancel<FabricChain>;
  t.list_resources = verb<&FabricChain::list_resources>;
  t.call = verb<&FabricChain::call>;
  t.send_transaction = verb<&FabricChain::send_transaction>;
  t.block_height = verb<&FabricChain::block_height>;
  t.get_block = verb<&FabricChain::get_block>;
  t.get_receipt = verb<&FabricChain::get_receipt>;
  t.health = verb<&FabricChain::health>;
  t.account_info = verb<&FabricChain::account_info>;
  t.chain_info = verb<&FabricChain::chain_info>;
  t.subscribe_v2 = glue::subscribe_v2<FabricChain>;
  t.unsubscribe = glue::unsubscribe<FabricChain>;
  // XA and HTLC over the chaincode stubs the channel's admins install (fabric_stubs.cpp). No deploy_stubs (Fabric
  // chaincode is installed by the network's admins, not deployed by a client), inclusion proofs or resource
  // registration: NULL verbs the router answers with 44003.
  t.xa_start = verb<&FabricChain::xa_start>;
  t.xa_commit = verb<&FabricChain::xa_commit>;
  t.xa_rollback = verb<&FabricChain::xa_rollback>;
  t.xa_status = verb<&FabricChain::xa_status>;
  t.htlc_lock = verb<&FabricChain::htlc_lock>;
  t.htlc_unlock = verb<&FabricChain::htlc_unlock>;
  t.htlc_refund = verb<&FabricChain::htlc_refund>;
  t.htlc_status = verb<&FabricChain::htlc_status>;
  return t;
}();

} // namespace

WEFT_ADAPTER_ENTRY(kTable)
