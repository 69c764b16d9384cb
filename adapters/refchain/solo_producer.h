// The block producer of a single-validator chain: it seals the pool into a block every block_interval_ms while
// transactions wait, and an empty block every empty_block_interval_ms when idle (HTLC timelocks read chain time).
// This is the seam PBFT replaces: a producer drives Ledger::propose/execute/commit and reports commits; nothing
// else in the chain knows how blocks come to be.
#pragma once

#include "ledger.h"

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace weft::refchain {

class SoloProducer {
public:
  struct Events {
    std::function<void(const ExecutedBlock &)> committed;   // after the block is durable
    std::function<void(const std::vector<Hash> &)> expired; // pool transactions dropped, block_limit passed
    std::function<void(const std::string &)> error;         // a failed seal (retried after block_interval)
  };

  SoloProducer(Ledger &ledger, Address proposer, std::chrono::milliseconds block_interval,
               std::chrono::milliseconds empty_block_interval, Events events);
  ~SoloProducer();
  SoloProducer(const SoloProducer &) = delete;
  SoloProducer &operator=(const SoloProducer &) = delete;

  void start();
  // Joins the thread; no event runs after it returns.
  void stop();
  // A transaction entered the pool: seal it within block_interval.
  void wake();

private:
  void run();
  // Returns whether it sealed a block or failed trying (false: there was nothing to seal).
  bool seal(bool allow_empty);

  Ledger &ledger_;
  Address proposer_;
  std::chrono::milliseconds block_interval_, empty_interval_;
  Events events_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool pending_ = false;
  bool stopping_ = false;
  std::chrono::steady_clock::time_point last_seal_;
  std::thread thread_;
};

} // namespace weft::refchain
