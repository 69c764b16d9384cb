// One validator of the reference chain: its ledger, its BFT engine and the thread that drives both. How frames
// travel is plugged in through Outbox: in-process queues for the validators embedded in the plugin, TCP for
// weft-node. Every frame a validator sends or receives is checked the same way in both.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bft/engine.h"
#include "config.h"
#include "ledger.h"
#include "validator_key.h"

namespace weft::refchain {

// The first byte of every frame between validators.
enum class FrameKind : uint8_t {
  Consensus = 1,   // a BFT engine message
  Transaction = 2, // a signed transaction being gossiped (the canonical encoding)
};

// Where a validator's outgoing frames go. Best effort: frames may be lost; thread-safe.
class Outbox {
 public:
  virtual ~Outbox() = default;
  virtual void broadcast(ByteView frame) = 0;
  virtual void send(uint32_t validator, ByteView frame) = 0;
};

struct ValidatorOptions {
  ChainConfig chain;
  std::vector<Address> validators; // the validator set, in index order
  uint32_t self = 0;
  std::string db_path;             // this validator's SQLite file
  ValidatorKey key;
  uint64_t round_timeout_ms = 1000;
};

class Validator {
 public:
  struct Listeners {
    std::function<void(const ExecutedBlock &)> committed;   // after the block is durable (validator's thread)
    std::function<void(const std::vector<Hash> &)> expired; // pool transactions dropped, block_limit passed
  };
  using Log = std::function<void(int level, const std::string &message)>; // 0 debug .. 3 error

  // Opens the store (throws Error). Starts nothing.
  Validator(ValidatorOptions options, Outbox &outbox, Listeners listeners, Log log);
  ~Validator();
  Validator(const Validator &) = delete;
  Validator &operator=(const Validator &) = delete;

  void start();
  // Joins the thread; no listener runs after it returns.
  void stop();

  // A frame from another validator; queued for the validator's thread. Thread-safe; never throws. Frames beyond
  // the inbox limit are dropped (consensus recovers lost messages through round changes and sync).
  void deliver(ByteView frame);
  // A client's transaction: admitted to the pool (throws Error: WEFT_E_REJECTED, WEFT_E_INVALID_ARGUMENT), then
  // gossiped to the other validators. Thread-safe.
  Hash submit(const Transaction &tx);

  Ledger &ledger() { return *ledger_; }
  const Address &address() const { return options_.key.address; }
  const ValidatorOptions &options() const { return options_; }
  bft::EngineStatus status();

 private:
  class LedgerApp;
  class KeySigner;
  class EngineNet;
  void run();
  void wake_if_first();
  // The clock consensus runs on: the wall clock plus the chain's block_time_offset_ms.
  uint64_t chain_ms() const;

  ValidatorOptions options_;
  Outbox &outbox_;
  Listeners listeners_;
  Log log_;
  std::unique_ptr<Ledger> ledger_;
  std::unique_ptr<LedgerApp> app_;
  std::unique_ptr<KeySigner> signer_;
  std::unique_ptr<EngineNet> net_;
  std::unique_ptr<bft::Engine> engine_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Bytes> inbox_;
  bool stopping_ = false;
  bool wake_ = false; // a transaction entered an empty pool
  bool started_ = false;
  bft::EngineStatus status_;
  uint64_t inbox_drops_ = 0;
  std::thread thread_;
};

} // namespace weft::refchain
