#include "solo_producer.h"

namespace weft::refchain {

using Clock = std::chrono::steady_clock;

SoloProducer::SoloProducer(Ledger &ledger, Address proposer, std::chrono::milliseconds block_interval,
                           std::chrono::milliseconds empty_block_interval, Events events)
    : ledger_(ledger), proposer_(proposer), block_interval_(block_interval), empty_interval_(empty_block_interval),
      events_(std::move(events)) {}

SoloProducer::~SoloProducer() { stop(); }

void SoloProducer::start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  last_seal_ = Clock::now();
  pending_ = ledger_.pool_size() > 0; // a restart may find nothing, but a caller may have submitted already
  thread_ = std::thread([this] { run(); });
}

void SoloProducer::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SoloProducer::wake() {
  {
    std::lock_guard lock(mu_);
    pending_ = true;
  }
  cv_.notify_all();
}

void SoloProducer::run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    auto now = Clock::now();
    auto due = last_seal_ + (pending_ ? block_interval_ : empty_interval_);
    if (now < due) {
      cv_.wait_until(lock, due); // any wake re-evaluates the due time
      continue;
    }
    bool allow_empty = now >= last_seal_ + empty_interval_;
    pending_ = false;
    lock.unlock();
    bool acted = seal(allow_empty);
    bool more = ledger_.pool_size() > 0; // a pool larger than max_block_txs needs more blocks
    lock.lock();
    if (acted) last_seal_ = Clock::now(); // an idle pass must not push the next empty block back
    pending_ = pending_ || more;
  }
}

bool SoloProducer::seal(bool allow_empty) {
  try {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
                  .count();
    Proposal p = ledger_.propose(proposer_, static_cast<uint64_t>(ms), allow_empty);
    if (!p.expired.empty() && events_.expired) events_.expired(p.expired);
    if (!p.block) return false;
    ledger_.commit(*p.block);
    if (events_.committed) events_.committed(*p.block);
    return true;
  } catch (const std::exception &e) {
    if (events_.error) events_.error(std::string("sealing a block failed: ") + e.what());
    return true; // back off for one interval rather than spin on a failing store
  }
}

} // namespace weft::refchain
