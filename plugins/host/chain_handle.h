// The host side's C++ wrapper of one open chain: opens it through an adapter's table, runs every verb the ABI
// declares with a std::function completion, cancels, subscribes, and closes it after draining. It reports the
// adapter's raw status; turning a status into an RPC code is the router's business (router/rpc/adapter_status).
#pragma once

#include <weft/adapter.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "loader.h"

namespace weft {

// Every asynchronous verb of weft_adapter_v1, in table order. Nothing the header declares is unreachable.
enum class Verb {
  ListResources,
  Call,
  SendTransaction,
  BlockHeight,
  GetBlock,
  GetReceipt,
  GetProof,
  Health,
  AccountInfo,
  DeployStubs,
  XaStart,
  XaCommit,
  XaRollback,
  HtlcLock,
  HtlcUnlock,
  HtlcRefund,
  HtlcStatus,
  XaStatus,
  ChainInfo,
  RegisterResource,
};
inline constexpr std::array kAllVerbs = {
    Verb::ListResources, Verb::Call,       Verb::SendTransaction, Verb::BlockHeight, Verb::GetBlock,
    Verb::GetReceipt,    Verb::GetProof,   Verb::Health,          Verb::AccountInfo, Verb::DeployStubs,
    Verb::XaStart,       Verb::XaCommit,   Verb::XaRollback,      Verb::HtlcLock,    Verb::HtlcUnlock,
    Verb::HtlcRefund,    Verb::HtlcStatus, Verb::XaStatus,        Verb::ChainInfo,   Verb::RegisterResource};

// The ABI's field name of a verb, e.g. "send_transaction" (also the metrics label).
const char *verb_name(Verb v);

// One completion of a verb, copied out of the adapter's borrowed buffers. On WEFT_OK `data` is the result JSON;
// otherwise `message` explains and `data` may hold a JSON object of details (e.g. the hash of a sent transaction).
struct AdapterAnswer {
  int32_t status = WEFT_OK;
  std::string message;
  std::string data;
  bool ok() const { return status == WEFT_OK; }
};

// Statuses the host itself answers with, without calling the adapter.
inline constexpr int32_t kHostUnsupported = WEFT_E_UNSUPPORTED; // NULL verb, or table too small for it
inline constexpr int32_t kHostClosed = WEFT_E_CANCELLED;        // the chain is closed

class ChainHandle {
 public:
  // Called exactly once, on an adapter thread or inline on the calling thread.
  using Callback = std::function<void(AdapterAnswer)>;
  // One subscription record (JSON), on the adapter's thread; valid only during the call.
  using RecordFn = std::function<void(std::string_view)>;

  struct OpenArgs {
    std::string stub_type;
    std::string chain_path; // zone.chain
    std::string config_json;
    std::string data_dir;
    const weft_host_v1 *host = nullptr;
  };
  struct Opened {
    std::shared_ptr<ChainHandle> handle; // null on failure
    int32_t status = WEFT_OK;
    std::string message;
  };

  // Opens a chain; blocks while the adapter connects, so call it off the I/O threads.
  static Opened open(const AdapterLibrary &lib, const OpenArgs &args);
  ~ChainHandle();
  ChainHandle(const ChainHandle &) = delete;
  ChainHandle &operator=(const ChainHandle &) = delete;

  // Starts a verb and returns the adapter's operation id (0 if it gave none). An unsupported verb or a closed
  // chain completes at once, on the calling thread. No lock is held while the adapter runs, so a callback that
  // runs inline may start another verb on this chain.
  uint64_t invoke(Verb verb, std::string_view request_json, uint32_t deadline_ms, Callback cb);
  // Asks the adapter to end an operation early; its callback still runs once. Unknown or finished ids are ignored.
  void cancel(uint64_t op_id);

  // subscribe_v2: records in seq order until unsubscribe returns. On failure returns the status and message.
  AdapterAnswer subscribe(std::string_view request_json, RecordFn on_record, uint64_t &subscription_id);
  void unsubscribe(uint64_t subscription_id);

  // Closes the chain: waits for calls that are inside the adapter to return, then every pending operation
  // completes before this returns. Idempotent. Never call it from an adapter callback.
  void close();

  bool supports(Verb verb) const;
  bool supports_subscribe() const;
  const AdapterLibrary &library() const { return lib_; }
  const std::string &stub_type() const { return stub_type_; }
  const std::string &path() const { return path_; }
  size_t in_flight() const { return pending_.load(); }

 private:
  ChainHandle(const AdapterLibrary &lib, std::string stub_type, std::string path, weft_chain *chain);
  weft_verb_fn verb_fn(Verb verb) const;
  bool enter();
  void leave();
  static void on_complete(void *ctx, int32_t status, const char *message, const uint8_t *data, size_t size);
  static void on_record(void *ctx, const uint8_t *record, size_t size);

  AdapterLibrary lib_;
  std::string stub_type_;
  std::string path_;
  weft_chain *const chain_;
  // Guards the counters below only; never held while the adapter runs.
  mutable std::mutex mu_;
  std::condition_variable idle_;
  bool closed_ = false;
  size_t inside_ = 0;                  // calls currently inside the adapter's functions
  std::map<uint64_t, std::unique_ptr<RecordFn>> subscriptions_;
  std::atomic<size_t> pending_{0}; // operations whose callback has not run yet
};

} // namespace weft
