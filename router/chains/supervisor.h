// Brings chains up and keeps them honest: opens every configured chain in parallel, retries one that fails with
// backoff (its resources appear once it opens, with no restart), then watches its height so /sys/status, the
// console and the metrics show it up or down with the reason. One thread per chain: an adapter's open may block.
#pragma once

#include <weft/adapter.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "loader.h"
#include "registry.h"

namespace weft {

// Replaces a chain's resources with what its adapter's list_resources answered (at open, and after a resource is
// registered); an answer that is not a valid list is the error.
Status apply_listed_resources(Registry &registry, const std::string &chain_path, const std::string &stub_type,
                              std::string_view listed_json);

struct ChainPlan {
  std::shared_ptr<Chain> chain;
  const AdapterLibrary *adapter = nullptr; // null: no adapter serves the stub type (stays down)
  std::string config_json;
  std::string data_dir;
};

struct SupervisorOptions {
  std::chrono::milliseconds retry_initial{500};
  std::chrono::milliseconds retry_max{30000};
  std::chrono::milliseconds watch_interval{2000}; // height poll of an open chain
  uint32_t call_deadline_ms = 5000;               // for list_resources and the height poll
};

class ChainSupervisor {
 public:
  // Sees every change of a chain's state (up/down and the reason), on the chain's supervising thread.
  using TransitionFn = std::function<void(const Chain &, ChainState, const std::string &reason)>;

  ChainSupervisor(Registry &registry, const weft_host_v1 *host, SupervisorOptions options, TransitionFn on_transition);
  ~ChainSupervisor();

  // Starts one thread per chain and waits until each has made its first attempt to open, or `first_wait` passes.
  void start(std::vector<ChainPlan> plans, std::chrono::milliseconds first_wait);
  // Stops the threads (an open in progress finishes first) and closes every open chain. Idempotent.
  void stop();

 private:
  void run(ChainPlan plan);
  bool sleep_for(std::chrono::milliseconds d); // false when stopping
  void transition(Chain &c, ChainState s, std::string reason);

  Registry &registry_;
  const weft_host_v1 *host_;
  SupervisorOptions opt_;
  TransitionFn on_transition_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  size_t first_attempts_left_ = 0;
  std::vector<std::thread> threads_;
};

} // namespace weft
