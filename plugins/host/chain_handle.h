// The host side's C++ wrapper of one open chain: opens it through an adapter's table, runs verbs with a
// std::function completion, maps adapter statuses to Weft errors, and closes it after draining.
#pragma once

#include <weft/adapter.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "core/error.h"
#include "loader.h"

namespace weft {

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
};

const char *verb_name(Verb v);

// Maps an adapter status and its message to the router's error (the one table; see docs/rpc.md).
Error error_from_status(int32_t status, std::string message);

class ChainHandle {
 public:
  // Called exactly once, on an adapter thread: the result JSON text, or an error.
  using Callback = std::function<void(Result<std::string>)>;

  struct OpenArgs {
    std::string stub_type;
    std::string chain_path; // zone.chain
    std::string config_json;
    std::string data_dir;
    const weft_host_v1 *host = nullptr;
  };

  // Opens a chain; blocks while the adapter connects, so call it off the I/O threads.
  static Result<std::shared_ptr<ChainHandle>> open(const AdapterLibrary &lib, const OpenArgs &args);
  ~ChainHandle();
  ChainHandle(const ChainHandle &) = delete;
  ChainHandle &operator=(const ChainHandle &) = delete;

  // Starts a verb. An unsupported verb or a closed chain completes at once, on the calling thread.
  void invoke(Verb verb, std::string_view request_json, uint32_t deadline_ms, Callback cb);

  // Closes the chain: every pending operation completes before this returns. Idempotent.
  void close();

  bool supports(Verb verb) const;
  const AdapterLibrary &library() const { return lib_; }
  const std::string &stub_type() const { return stub_type_; }
  const std::string &path() const { return path_; }
  size_t in_flight() const { return in_flight_.load(); }

 private:
  ChainHandle(const AdapterLibrary &lib, std::string stub_type, std::string path, weft_chain *chain);
  weft_verb_fn verb_fn(Verb verb) const;
  static void on_complete(void *ctx, int32_t status, const char *message, const uint8_t *data, size_t size);

  AdapterLibrary lib_;
  std::string stub_type_;
  std::string path_;
  std::mutex mu_; // guards chain_ against close racing invoke
  weft_chain *chain_ = nullptr;
  std::atomic<size_t> in_flight_{0};
};

} // namespace weft
