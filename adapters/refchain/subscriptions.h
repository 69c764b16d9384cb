// subscribe_v2 streams of one open chain: new blocks or one resource's contract events, as numbered records with
// resumable cursors, explicit gaps and an end (adapter.h, weft_record_fn). Each subscription has its own thread, so
// records reach the host in order and never under a ledger lock. Embedded, the commit listener only queues the block
// (bounded: a subscriber that falls behind gets a "gap", consensus never waits for it); a resumed subscription first
// replays from the ledger. Remote, the thread polls the weft-node network every block interval.
#pragma once

#include "ledger.h"

#include <weft/adapter.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace weft::refchain {

class Runtime;

class Subscriptions {
public:
  // A committed block as subscriptions see it; events carry their ordinal within the block (over all resources).
  struct BlockEvent {
    uint32_t index = 0;
    Hash tx_hash{};
    Event event;
  };
  struct BlockView {
    uint64_t number = 0;
    Hash hash{};
    uint64_t timestamp_ms = 0;
    std::vector<BlockEvent> events;
  };

  explicit Subscriptions(Runtime &rt) : rt_(rt) {}
  ~Subscriptions() { close(); }
  Subscriptions(const Subscriptions &) = delete;
  Subscriptions &operator=(const Subscriptions &) = delete;

  // Starts a stream for request {"kind":"blocks"|"events","resource" (events),"from":cursor|null,"buffer":N}.
  // Throws Error: WEFT_E_INVALID_ARGUMENT (bad request or cursor), WEFT_E_NOT_FOUND (unknown resource),
  // WEFT_E_UNAVAILABLE (closed).
  uint64_t subscribe(const std::string &request, weft_record_fn on_record, void *ctx);
  // Ends one stream; no record of it is delivered after this returns (unless called from its own callback, where
  // it returns at once and nothing follows the current record). Unknown ids are ignored.
  void unsubscribe(uint64_t id);
  // Embedded: a block the front validator committed (its thread). Queues it, never blocks on a subscriber.
  void on_committed(const ExecutedBlock &block);
  // Ends every stream with an "end" record and joins the threads.
  void close();

  // Blocks queued per subscription before it gets a gap, unless the request says "buffer".
  static constexpr size_t kDefaultBuffer = 1024;

private:
  struct Sub;
  void run_embedded(const std::shared_ptr<Sub> &sub);
  void run_remote(const std::shared_ptr<Sub> &sub);
  std::optional<BlockView> read_block(Sub &sub, uint64_t number); // embedded: from the ledger
  void deliver(Sub &sub, const BlockView &block);

  Runtime &rt_;
  std::mutex mu_;
  bool closed_ = false;
  uint64_t next_id_ = 1;
  std::map<uint64_t, std::shared_ptr<Sub>> subs_;
};

} // namespace weft::refchain
