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
  }
  return "unknown";
}

Error error_from_status(int32_t status, std::string message) {
  int c = code::kChainInternal;
  switch (status) {
  case WEFT_E_INVALID_ARGUMENT: c = code::kChainInvalidArgument; break;
  case WEFT_E_NOT_FOUND: c = code::kChainNotFound; break;
  case WEFT_E_UNSUPPORTED: c = code::kChainUnsupported; break;
  case WEFT_E_TIMEOUT: c = code::kChainTimeout; break;
  case WEFT_E_UNAVAILABLE: c = code::kChainUnreachable; break;
  case WEFT_E_REJECTED: c = code::kChainRejected; break;
  case WEFT_E_ACCOUNT: c = code::kChainAccount; break;
  case WEFT_E_CANCELLED: c = code::kChainCancelled; break;
  case WEFT_E_BUSY: c = code::kChainBusy; break;
  default: break;
  }
  if (message.empty()) message = "adapter failed with status " + std::to_string(status);
  return Error{c, std::move(message)};
}

namespace {

struct Pending {
  ChainHandle::Callback cb;
  std::atomic<size_t> *in_flight;
};

// Verbs the host requires of every adapter table (the prefix load_adapter checks); later ones are optional
// and may lie beyond a smaller table.
template <class Field>
bool table_has(const weft_adapter_v1 *t, Field weft_adapter_v1::*field, size_t offset) {
  return t->struct_size >= offset + sizeof(Field) && t->*field != nullptr;
}

} // namespace

ChainHandle::ChainHandle(const AdapterLibrary &lib, std::string stub_type, std::string path, weft_chain *chain)
    : lib_(lib), stub_type_(std::move(stub_type)), path_(std::move(path)), chain_(chain) {}

ChainHandle::~ChainHandle() { close(); }

Result<std::shared_ptr<ChainHandle>> ChainHandle::open(const AdapterLibrary &lib, const OpenArgs &args) {
  weft_open_args_v1 oa{};
  oa.struct_size = sizeof oa;
  oa.host = args.host;
  oa.stub_type = args.stub_type.c_str();
  oa.chain_name = args.chain_path.c_str();
  oa.config_json = args.config_json.c_str();
  oa.data_dir = args.data_dir.c_str();
  weft_chain *chain = nullptr;
  char err[1024] = {0};
  int32_t rc = lib.table->open(&oa, &chain, err, sizeof err);
  err[sizeof err - 1] = '\0';
  if (rc != WEFT_OK || chain == nullptr)
    return error_from_status(rc == WEFT_OK ? WEFT_E_INTERNAL : rc,
                             err[0] ? std::string(err) : std::string("adapter could not open the chain"));
  return std::shared_ptr<ChainHandle>(new ChainHandle(lib, args.stub_type, args.chain_path, chain));
}

weft_verb_fn ChainHandle::verb_fn(Verb verb) const {
  const weft_adapter_v1 *t = lib_.table;
#define WEFT_VERB(field) (table_has(t, &weft_adapter_v1::field, offsetof(weft_adapter_v1, field)) ? t->field : nullptr)
  switch (verb) {
  case Verb::ListResources: return WEFT_VERB(list_resources);
  case Verb::Call: return WEFT_VERB(call);
  case Verb::SendTransaction: return WEFT_VERB(send_transaction);
  case Verb::BlockHeight: return WEFT_VERB(block_height);
  case Verb::GetBlock: return WEFT_VERB(get_block);
  case Verb::GetReceipt: return WEFT_VERB(get_receipt);
  case Verb::GetProof: return WEFT_VERB(get_proof);
  case Verb::Health: return WEFT_VERB(health);
  case Verb::AccountInfo: return WEFT_VERB(account_info);
  }
#undef WEFT_VERB
  return nullptr;
}

bool ChainHandle::supports(Verb verb) const { return verb_fn(verb) != nullptr; }

void ChainHandle::on_complete(void *ctx, int32_t status, const char *message, const uint8_t *data, size_t size) {
  std::unique_ptr<Pending> p(static_cast<Pending *>(ctx));
  // Counted as finished before the host's callback runs: once that callback has run, the handle may be gone.
  p->in_flight->fetch_sub(1);
  try {
    if (status == WEFT_OK)
      p->cb(std::string(reinterpret_cast<const char *>(data), data != nullptr ? size : 0));
    else
      p->cb(error_from_status(status, message != nullptr ? std::string(message) : std::string()));
  } catch (...) {
    // The host's own callback must not unwind into the adapter's thread.
  }
}

void ChainHandle::invoke(Verb verb, std::string_view request_json, uint32_t deadline_ms, Callback cb) {
  weft_verb_fn fn = verb_fn(verb);
  if (fn == nullptr) {
    cb(Error{code::kChainUnsupported,
             "chain " + path_ + " (" + stub_type_ + ") does not offer " + verb_name(verb)});
    return;
  }
  std::lock_guard lock(mu_);
  if (chain_ == nullptr) {
    cb(Error{code::kChainCancelled, "chain " + path_ + " is closed"});
    return;
  }
  in_flight_.fetch_add(1);
  auto *pending = new Pending{std::move(cb), &in_flight_};
  fn(chain_, reinterpret_cast<const uint8_t *>(request_json.data()), request_json.size(), deadline_ms,
     &ChainHandle::on_complete, pending, nullptr);
}

void ChainHandle::close() {
  weft_chain *chain = nullptr;
  {
    std::lock_guard lock(mu_);
    chain = chain_;
    chain_ = nullptr;
  }
  if (chain != nullptr) lib_.table->close(chain);
}

} // namespace weft
