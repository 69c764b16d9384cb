// The exported C table of libweft_refchain.so: every entry is a noexcept trampoline into Runtime and the verbs, so
// no exception crosses the ABI.
#include "config.h"
#include "error.h"
#include "runtime.h"
#include "verbs.h"

#include <weft/adapter.hpp>

namespace {

using weft::plugin::Completion;
using weft::refchain::Runtime;
namespace verbs = weft::refchain::verbs;

Runtime *runtime(weft_chain *chain) { return reinterpret_cast<Runtime *>(chain); }

int32_t open_chain(const weft_open_args_v1 *args, weft_chain **out, char *err, size_t err_cap) noexcept {
  try {
    if (args == nullptr || out == nullptr) throw weft::refchain::Error(WEFT_E_INVALID_ARGUMENT, "open: no arguments");
    if (args->struct_size < sizeof(weft_open_args_v1))
      throw weft::refchain::Error(WEFT_E_INVALID_ARGUMENT, "open: the host's open arguments are too old");
    if (args->stub_type == nullptr || std::string_view(args->stub_type) != "RefChain")
      throw weft::refchain::Error(WEFT_E_UNSUPPORTED, "this library serves the stub type RefChain only");
    if (args->data_dir == nullptr || args->data_dir[0] == '\0')
      throw weft::refchain::Error(WEFT_E_INVALID_ARGUMENT, "open: the host gave no data directory");
    auto config = weft::refchain::parse_chain_config(args->config_json ? args->config_json : "");
    weft::plugin::Host host(args->host, args->chain_name ? args->chain_name : "");
    *out = reinterpret_cast<weft_chain *>(new Runtime(config, std::move(host), args->data_dir));
    return WEFT_OK;
  } catch (const weft::refchain::Error &e) {
    weft::plugin::write_error(err, err_cap, e.what());
    return e.status;
  } catch (const weft::plugin::Failure &f) {
    weft::plugin::write_error(err, err_cap, f.message);
    return f.status;
  } catch (const std::exception &e) {
    weft::plugin::write_error(err, err_cap, e.what());
    return WEFT_E_INTERNAL;
  } catch (...) {
    weft::plugin::write_error(err, err_cap, "unknown exception while opening the chain");
    return WEFT_E_INTERNAL;
  }
}

void close_chain(weft_chain *chain) noexcept {
  if (chain == nullptr) return;
  try {
    delete runtime(chain); // its destructor completes every pending operation and joins the threads
  } catch (...) {
  }
}

void cancel_op(weft_chain *chain, uint64_t op_id) noexcept {
  if (chain == nullptr) return;
  try {
    runtime(chain)->cancel(op_id);
  } catch (...) {
  }
}

int32_t subscribe_v2(weft_chain *chain, const uint8_t *request, size_t size, weft_record_fn on_record, void *ctx,
                     uint64_t *subscription_id, char *err, size_t err_cap) noexcept {
  try {
    if (chain == nullptr || subscription_id == nullptr)
      throw weft::refchain::Error(WEFT_E_INVALID_ARGUMENT, "subscribe_v2: no chain handle or id pointer");
    std::string req(request != nullptr ? reinterpret_cast<const char *>(request) : "", request != nullptr ? size : 0);
    *subscription_id = runtime(chain)->subscriptions().subscribe(req, on_record, ctx);
    return WEFT_OK;
  } catch (const weft::refchain::Error &e) {
    weft::plugin::write_error(err, err_cap, e.what());
    return e.status;
  } catch (const std::exception &e) {
    weft::plugin::write_error(err, err_cap, e.what());
    return WEFT_E_INTERNAL;
  } catch (...) {
    weft::plugin::write_error(err, err_cap, "unknown exception in subscribe_v2");
    return WEFT_E_INTERNAL;
  }
}

void unsubscribe(weft_chain *chain, uint64_t subscription_id) noexcept {
  if (chain == nullptr) return;
  try {
    runtime(chain)->subscriptions().unsubscribe(subscription_id);
  } catch (...) {
  }
}

using VerbBody = verbs::Result (*)(Runtime &, uint64_t, const std::string &);

// Copies the borrowed request and queues the verb on the chain's worker.
template <VerbBody Body>
void verb(weft_chain *chain, const uint8_t *request, size_t size, uint32_t deadline_ms, weft_callback cb, void *ctx,
          uint64_t *op_id) noexcept {
  if (op_id != nullptr) *op_id = 0;
  weft::plugin::guarded(cb, ctx, [&](const Completion &done) {
    if (chain == nullptr) throw weft::plugin::Failure(WEFT_E_INVALID_ARGUMENT, "no chain handle");
    Runtime *rt = runtime(chain);
    std::string req(request != nullptr ? reinterpret_cast<const char *>(request) : "", request != nullptr ? size : 0);
    uint64_t id = rt->post(done, deadline_ms, [rt, req = std::move(req)](uint64_t op) { return Body(*rt, op, req); });
    if (op_id != nullptr) *op_id = id;
  });
}

// A read verb: in remote mode a plain one is asked of the network from the calling thread and completed on the
// connection's thread (verbs::network_read); otherwise, or with XA options, it is queued like any verb.
template <VerbBody Body, const char *Name>
void read_verb(weft_chain *chain, const uint8_t *request, size_t size, uint32_t deadline_ms, weft_callback cb,
               void *ctx, uint64_t *op_id) noexcept {
  std::optional<verbs::NetworkRead> ask;
  if (chain != nullptr && runtime(chain)->remote()) {
    try {
      ask =
          verbs::network_read(Name, std::string_view(request != nullptr ? reinterpret_cast<const char *>(request) : "",
                                                     request != nullptr ? size : 0));
    } catch (...) {
      // A malformed request: the worker's verb reports it as it always has.
    }
  }
  if (!ask) return verb<Body>(chain, request, size, deadline_ms, cb, ctx, op_id);
  if (op_id != nullptr) *op_id = 0;
  weft::plugin::guarded(cb, ctx, [&](const Completion &done) {
    uint64_t id = runtime(chain)->ask_remote(done, deadline_ms, ask->op, std::move(ask->fields));
    if (op_id != nullptr) *op_id = id;
  });
}

constexpr char kCall[] = "call", kBlockHeight[] = "block_height", kGetBlock[] = "get_block",
               kGetReceipt[] = "get_receipt", kGetProof[] = "get_proof";

const char *const kStubTypes[] = {"RefChain", nullptr};

const weft_adapter_v1 kTable = [] {
  weft_adapter_v1 t{};
  t.struct_size = sizeof(weft_adapter_v1);
  t.abi_version = WEFT_ADAPTER_ABI_VERSION;
  t.name = "weft-refchain";
  t.version = "0.1.0";
  t.stub_types = kStubTypes;
  t.open = open_chain;
  t.close = close_chain;
  t.cancel = cancel_op;
  t.list_resources = verb<verbs::list_resources>;
  t.call = read_verb<verbs::call, kCall>;
  t.send_transaction = verb<verbs::send_transaction>;
  t.block_height = read_verb<verbs::block_height, kBlockHeight>;
  t.get_block = read_verb<verbs::get_block, kGetBlock>;
  t.get_receipt = read_verb<verbs::get_receipt, kGetReceipt>;
  t.get_proof = read_verb<verbs::get_proof, kGetProof>;
  t.health = verb<verbs::health>;
  t.account_info = verb<verbs::account_info>;
  t.chain_info = verb<verbs::chain_info>;
  // The XA proxy and the htlc contract are native (configured resources), so there is nothing to deploy:
  // deploy_stubs stays NULL, as does the first subscribe (subscribe_v2 replaces it).
  t.xa_start = verb<verbs::xa_start>;
  t.xa_commit = verb<verbs::xa_commit>;
  t.xa_rollback = verb<verbs::xa_rollback>;
  t.xa_status = verb<verbs::xa_status>;
  t.htlc_lock = verb<verbs::htlc_lock>;
  t.htlc_unlock = verb<verbs::htlc_unlock>;
  t.htlc_refund = verb<verbs::htlc_refund>;
  t.htlc_status = verb<verbs::htlc_status>;
  t.unsubscribe = unsubscribe;
  t.subscribe_v2 = subscribe_v2;
  return t;
}();

} // namespace

WEFT_ADAPTER_ENTRY(kTable)
