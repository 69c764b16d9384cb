// The HTLC engine: swaps of assets between two chains with hash-time locks, driven by the router (docs/htlc.md).
// The initiator locks first; the participant locks only once the initiator's lock is final and matches the
// proposal; the secret (sealed at rest, never logged or returned) is used only once the participant's lock is
// final; when the secret appears on the participant's chain the counterpart is claimed at once; after expiry each
// side is refunded. Every state is durable before the chain action it announces, and a restart resumes every open
// swap before new work is taken.
//
// Thread-safety: every public member may be called from any I/O thread. Swaps are driven on the engine's strand.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <weft/error.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "chains/chain_service.h"
#include "chains/registry.h"
#include "store/htlc_log.h"
#include "xa/coordinator.h"

namespace weft::accounts {
class KeyVault;
}

namespace weft::htlc {

using Actor = xa::Actor;

struct Options {
  std::chrono::milliseconds min_window{200000}; // t_participant >= now(participant chain) + this (WeCross: 200 s)
  std::chrono::milliseconds margin{5000};       // added to the safety gap delta
  std::chrono::milliseconds poll{250};          // how often a waiting swap looks at its chains without an event
  std::chrono::milliseconds clock_sample{2000}; // how often each chain's clock is measured again
  std::chrono::milliseconds retry_max{5000};    // a failed chain action is retried, backing off up to this
  std::chrono::milliseconds default_lead{5000}; // a chain's proposer timestamp lead when it does not report one
};

// What a chain's clock looks like from here: head block time minus local time when it was read (the newest of
// several reads: an idle chain's head is older than now), the chain's block interval and proposer lead.
struct ChainClock {
  std::int64_t offset_ms = 0;
  std::int64_t interval_ms = 0;
  std::int64_t finality_ms = 0;
  std::int64_t lead_ms = 0;
  std::int64_t idle_ms = 0; // the longest an idle chain goes without a block (its head may be that old)
  bool known = false;
  std::deque<std::int64_t> samples; // the last few offsets; offset_ms is their maximum
};

class Engine {
public:
  // `vault` seals secrets at rest; without it (no master key) the engine refuses proposals that carry a secret.
  Engine(store::Store &store, const Registry &registry, ChainService &chains, accounts::KeyVault *vault,
         Options options, boost::asio::any_io_executor executor);
  ~Engine();
  Engine(const Engine &) = delete;
  Engine &operator=(const Engine &) = delete;

  // Reads every unfinished swap and starts driving it, before the RPC serves. Fails only if the store cannot be read.
  Status recover();
  void stop();

  // {"initiator":{path,account,amount,timelock},"participant":{...},"hash","secret"?} -> the swap (no secret).
  // `resolve_account` turns a request's account into the signing handle the adapters take (or an error).
  using AccountResolver = std::function<Result<std::string>(const std::string &chain_path, const std::string &named)>;
  boost::asio::awaitable<Result<boost::json::object>> propose(Actor who, boost::json::object request,
                                                              AccountResolver resolve_account);
  Result<boost::json::object> get(const Actor &who, const std::string &id);
  Result<boost::json::object> list(const Actor &who, std::int64_t offset, std::int64_t size);
  // Both chains' own view of the swap's locks.
  boost::asio::awaitable<Result<boost::json::object>> status(Actor who, std::string id);
  // Cancels a swap before any lock was sent.
  boost::asio::awaitable<Result<boost::json::object>> cancel(Actor who, std::string id);
  // The safety gap for a pair of chains now, with its parts (for proposals and genTimelock).
  Result<boost::json::object> safety(const std::string &initiator_chain, const std::string &participant_chain);
  // The same, after measuring both chains' clocks now.
  boost::asio::awaitable<Result<boost::json::object>> measured_safety(std::string initiator_chain,
                                                                      std::string participant_chain);

private:
  struct Swap;
  using SwapPtr = std::shared_ptr<Swap>;

  boost::asio::awaitable<Status> durable(store::Store::WriteFn fn);
  boost::asio::awaitable<Status> save(SwapPtr s, std::string state, std::string note = "");
  boost::asio::awaitable<void> drive(SwapPtr s);
  boost::asio::awaitable<bool> step(SwapPtr s);
  boost::asio::awaitable<void> clock_loop();
  boost::asio::awaitable<void> measure(std::shared_ptr<Chain> chain);
  void spawn(SwapPtr s);
  // Asks for a resource's event stream once; the subscription is made on the watcher thread, since an adapter's
  // subscribe_v2 may wait for its chain (the position to start from) and the caller is an I/O thread.
  void watch(const std::string &chain_path, const std::string &resource);
  void watcher_loop();
  void subscribe_now(const std::string &key); // "chain/resource"
  void wake(const std::string &id);
  // A lock's state as its chain tells it (htlc_status), or {"state":"unknown","error"} when the chain does not answer.
  boost::asio::awaitable<boost::json::object> lock_status(std::shared_ptr<Chain> chain, boost::json::object side,
                                                          std::string id);
  Result<ChainClock> clock_of(const std::string &chain_path) const;
  std::int64_t chain_now(const ChainClock &c) const;
  boost::json::object swap_json(const Swap &s) const;

  store::Store &store_;
  const Registry &registry_;
  ChainService &chains_;
  accounts::KeyVault *vault_;
  Options options_;
  boost::asio::any_io_executor executor_;
  struct Shared;
  std::shared_ptr<Shared> shared_;

  mutable std::mutex mu_;
  std::map<std::string, SwapPtr> open_;                   // by id
  std::map<std::string, ChainClock> clocks_;              // by chain path
  std::map<std::string, std::uint64_t> watched_;          // "chain/resource" -> subscription id
  std::set<std::string> watching_;                         // asked for and not yet subscribed (queued or running)
  std::deque<std::string> to_watch_;                       // the same keys, in order, for the watcher
  std::condition_variable watch_cv_;                       // with mu_: to_watch_ grew, or stopping
  std::thread watcher_;                                    // started by the first watch
};

} // namespace weft::htlc
