#include "chain_handle.h"

#include <cstddef>

namespace weft {

const char *verb_name(Verb v) {
  switch (v) {
  case Verb::ListResources: return "list_resources";
  case Verb::Call: return "call";
  case Verb::SendTransaction: return "send_transaction";
  case Verb::BlockHeight: return "block_height";
  case Verb::GetBlock: return "get_block";
  case Verb::GetReceipt: return "get_receipt";
  case Verb::GetProof: return "get_proof";
  case Verb::Health: return "health";
  case Verb::AccountInfo: return "account_info";
  case Verb::DeployStubs: return "deploy_stubs";
  case Verb::XaStart: return "xa_start";
  case Verb::XaCommit: return "xa_commit";
  case Verb::XaRollback: return "xa_rollback";
  case Verb::HtlcLock: return "htlc_lock";
  case Verb::HtlcUnlock: return "htlc_unlock";
  case Verb::HtlcRefund: return "htlc_refund";
  case Verb::HtlcStatus: return "htlc_status";
  case Verb::XaStatus: return "xa_status";
  case Verb::ChainInfo: return "chain_info";
  case Verb::RegisterResource: return "register_resource";
  }
  return "unknown";
}

namespace {

struct Pending {
  ChainHandle::Callback cb;
  std::atomic<size_t> *pending;
};

// A field is usable only if the library's table is large enough to hold it (it may predate the field) and set.
template <class Field>
Field table_field(const weft_adapter_v1 *t, Field weft_adapter_v1::*field, size_t offset) {
  return t->struct_size >= offset + sizeof(Field) ? t->*field : nullptr;
}
#define WEFT_FIELD(t, field) table_field(t, &weft_adapter_v1::field, offsetof(weft_adapter_v1, field))

} // namespace

ChainHandle::ChainHandle(const AdapterLibrary &lib, std::string stub_type, std::string path, weft_chain *chain)
    : lib_(lib), stub_type_(std::move(stub_type)), path_(std::move(path)), chain_(chain) {}

ChainHandle::~ChainHandle() { close(); }

ChainHandle::Opened ChainHandle::open(const AdapterLibrary &lib, const OpenArgs &args) {
  weft_open_args_v1 oa{};
  oa.struct_size = sizeof oa;
  oa.host = args.host;
  oa.stub_type = args.stub_type.c_str();
  oa.chain_name = args.chain_path.c_str();
  oa.config_json = args.config_json.c_str();
  oa.data_dir = args.data_dir.c_str();
  weft_chain *chain = nullptr;
  char err[1024] = {0};
  int32_t rc = WEFT_E_INTERNAL;
  try {
    rc = lib.table->open(&oa, &chain, err, sizeof err);
  } catch (...) {
    return {nullptr, WEFT_E_INTERNAL, "adapter's open threw an exception across the ABI"};
  }
  err[sizeof err - 1] = '\0';
  if (rc != WEFT_OK || chain == nullptr)
    return {nullptr, rc == WEFT_OK ? WEFT_E_INTERNAL : rc,
            err[0] ? std::string(err) : std::string("adapter could not open the chain")};
  return {std::shared_ptr<ChainHandle>(new ChainHandle(lib, args.stub_type, args.chain_path, chain)), WEFT_OK, ""};
}

weft_verb_fn ChainHandle::verb_fn(Verb verb) const {
  const weft_adapter_v1 *t = lib_.table;
  switch (verb) {
  case Verb::ListResources: return WEFT_FIELD(t, list_resources);
  case Verb::Call: return WEFT_FIELD(t, call);
  case Verb::SendTransaction: return WEFT_FIELD(t, send_transaction);
  case Verb::BlockHeight: return WEFT_FIELD(t, block_height);
  case Verb::GetBlock: return WEFT_FIELD(t, get_block);
  case Verb::GetReceipt: return WEFT_FIELD(t, get_receipt);
  case Verb::GetProof: return WEFT_FIELD(t, get_proof);
  case Verb::Health: return WEFT_FIELD(t, health);
  case Verb::AccountInfo: return WEFT_FIELD(t, account_info);
  case Verb::DeployStubs: return WEFT_FIELD(t, deploy_stubs);
  case Verb::XaStart: return WEFT_FIELD(t, xa_start);
  case Verb::XaCommit: return WEFT_FIELD(t, xa_commit);
  case Verb::XaRollback: return WEFT_FIELD(t, xa_rollback);
  case Verb::HtlcLock: return WEFT_FIELD(t, htlc_lock);
  case Verb::HtlcUnlock: return WEFT_FIELD(t, htlc_unlock);
  case Verb::HtlcRefund: return WEFT_FIELD(t, htlc_refund);
  case Verb::HtlcStatus: return WEFT_FIELD(t, htlc_status);
  case Verb::XaStatus: return WEFT_FIELD(t, xa_status);
  case Verb::ChainInfo: return WEFT_FIELD(t, chain_info);
  case Verb::RegisterResource: return WEFT_FIELD(t, register_resource);
  }
  return nullptr;
}

bool ChainHandle::supports(Verb verb) const { return verb_fn(verb) != nullptr; }

bool ChainHandle::supports_subscribe() const {
  return WEFT_FIELD(lib_.table, subscribe_v2) != nullptr && WEFT_FIELD(lib_.table, unsubscribe) != nullptr;
}

bool ChainHandle::enter() {
  std::lock_guard lock(mu_);
  if (closed_) return false;
  ++inside_;
  return true;
}

void ChainHandle::leave() {
  std::lock_guard lock(mu_);
  if (--inside_ == 0 && closed_) idle_.notify_all();
}

void ChainHandle::on_complete(void *ctx, int32_t status, const char *message, const uint8_t *data, size_t size) {
  std::unique_ptr<Pending> p(static_cast<Pending *>(ctx));
  // Counted as finished before the host's callback runs: once that callback has run, the handle may be gone.
  p->pending->fetch_sub(1);
  try {
    AdapterAnswer a;
    a.status = status;
    if (data != nullptr) a.data.assign(reinterpret_cast<const char *>(data), size);
    if (status != WEFT_OK) {
      a.message = message != nullptr && message[0] != '\0' ? std::string(message)
                                                           : "adapter failed with status " + std::to_string(status);
    }
    p->cb(std::move(a));
  } catch (...) {
    // The host's own callback must not unwind into the adapter's thread.
  }
}

uint64_t ChainHandle::invoke(Verb verb, std::string_view request_json, uint32_t deadline_ms, Callback cb) {
  weft_verb_fn fn = verb_fn(verb);
  if (fn == nullptr) {
    cb(AdapterAnswer{kHostUnsupported, "chain " + path_ + " (" + stub_type_ + ") does not offer " + verb_name(verb), ""});
    return 0;
  }
  if (!enter()) {
    cb(AdapterAnswer{kHostClosed, "chain " + path_ + " is closed", ""});
    return 0;
  }
  pending_.fetch_add(1);
  auto *pending = new Pending{std::move(cb), &pending_};
  uint64_t op_id = 0;
  try {
    fn(chain_, reinterpret_cast<const uint8_t *>(request_json.data()), request_json.size(), deadline_ms,
       &ChainHandle::on_complete, pending, &op_id);
  } catch (...) {
    // An adapter that breaks the no-unwind rule: its callback may or may not have run, so leak `pending` rather
    // than risk running the callback twice; the router's guard answers the request.
    op_id = 0;
  }
  leave();
  return op_id;
}

void ChainHandle::cancel(uint64_t op_id) {
  if (op_id == 0 || lib_.table->cancel == nullptr || !enter()) return;
  try {
    lib_.table->cancel(chain_, op_id);
  } catch (...) {
  }
  leave();
}

void ChainHandle::on_record(void *ctx, const uint8_t *record, size_t size) {
  try {
    (*static_cast<RecordFn *>(ctx))(std::string_view(reinterpret_cast<const char *>(record), record ? size : 0));
  } catch (...) {
  }
}

AdapterAnswer ChainHandle::subscribe(std::string_view request_json, RecordFn on_record_fn, uint64_t &subscription_id) {
  auto sub = WEFT_FIELD(lib_.table, subscribe_v2);
  if (sub == nullptr || WEFT_FIELD(lib_.table, unsubscribe) == nullptr)
    return {kHostUnsupported, "chain " + path_ + " (" + stub_type_ + ") does not offer subscribe_v2", ""};
  if (!enter()) return {kHostClosed, "chain " + path_ + " is closed", ""};
  auto fn = std::make_unique<RecordFn>(std::move(on_record_fn));
  char err[512] = {0};
  uint64_t id = 0;
  int32_t rc = WEFT_E_INTERNAL;
  try {
    rc = sub(chain_, reinterpret_cast<const uint8_t *>(request_json.data()), request_json.size(),
             &ChainHandle::on_record, fn.get(), &id, err, sizeof err);
  } catch (...) {
  }
  err[sizeof err - 1] = '\0';
  if (rc == WEFT_OK) {
    std::lock_guard lock(mu_);
    subscriptions_[id] = std::move(fn);
  }
  leave();
  if (rc != WEFT_OK) return {rc, err[0] ? std::string(err) : "adapter refused the subscription", ""};
  subscription_id = id;
  return {};
}

void ChainHandle::unsubscribe(uint64_t subscription_id) {
  auto unsub = WEFT_FIELD(lib_.table, unsubscribe);
  if (unsub == nullptr || !enter()) return;
  try {
    unsub(chain_, subscription_id);
  } catch (...) {
  }
  std::unique_ptr<RecordFn> gone;
  {
    std::lock_guard lock(mu_);
    if (auto it = subscriptions_.find(subscription_id); it != subscriptions_.end()) {
      gone = std::move(it->second);
      subscriptions_.erase(it);
    }
  }
  leave();
}

void ChainHandle::close() {
  std::map<uint64_t, std::unique_ptr<RecordFn>> subs;
  {
    std::unique_lock lock(mu_);
    if (closed_) return;
    closed_ = true;
    // Calls already inside the adapter finish their entry (not their operation) before the chain goes away.
    idle_.wait(lock, [this] { return inside_ == 0; });
    subs.swap(subscriptions_);
  }
  auto unsub = WEFT_FIELD(lib_.table, unsubscribe);
  for (auto &[id, fn] : subs)
    if (unsub != nullptr) unsub(chain_, id);
  lib_.table->close(chain_);
}

#undef WEFT_FIELD

} // namespace weft
