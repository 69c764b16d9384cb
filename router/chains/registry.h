// The router's table of chains and resources: every configured chain, whether it is up, down or still opening,
// and every resource the open ones expose, by path. Chains open and come back while the RPC serves, so every
// accessor is thread-safe and hands out copies or shared pointers, never references into the table.
#pragma once

#include <boost/json/object.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "chain_handle.h"

namespace weft {

struct ResourceEntry {
  std::string path; // zone.chain.resource
  std::string chain_path;
  std::string name;
  std::string stub_type;
  boost::json::object properties;
};

enum class ChainState { Opening, Up, Down };
inline const char *chain_state_name(ChainState s) {
  return s == ChainState::Up ? "up" : s == ChainState::Down ? "down" : "opening";
}

// What the router knows of a chain right now.
struct ChainSnapshot {
  ChainState state = ChainState::Opening;
  std::string reason;                      // why it is down ("" when up)
  std::optional<uint64_t> height;          // last height seen, if any
  std::chrono::system_clock::time_point since; // when the state last changed
  uint32_t open_attempts = 0;
};

// One configured chain. The handle appears when the chain opens and stays until shutdown.
class Chain {
 public:
  Chain(std::string zone, std::string name, std::string stub_type, std::string default_account,
        boost::json::object properties)
      : zone(std::move(zone)), name(std::move(name)), path(this->zone + "." + this->name),
        stub_type(std::move(stub_type)), default_account(std::move(default_account)),
        properties(std::move(properties)) {}

  const std::string zone;
  const std::string name;
  const std::string path; // zone.chain
  const std::string stub_type;
  const std::string default_account;
  const boost::json::object properties; // connection properties shown by /conn/listChains (strings)

  std::shared_ptr<ChainHandle> handle() const {
    std::lock_guard lock(mu_);
    return handle_;
  }
  ChainSnapshot status() const {
    std::lock_guard lock(mu_);
    return status_;
  }
  // Returns true when the state changed.
  bool set_state(ChainState s, std::string reason) {
    std::lock_guard lock(mu_);
    bool changed = status_.state != s || status_.reason != reason;
    if (status_.state != s) status_.since = std::chrono::system_clock::now();
    status_.state = s;
    status_.reason = std::move(reason);
    return changed;
  }
  void set_handle(std::shared_ptr<ChainHandle> h) {
    std::lock_guard lock(mu_);
    handle_ = std::move(h);
  }
  void set_height(uint64_t h) {
    std::lock_guard lock(mu_);
    status_.height = h;
  }
  // Never lowers it: answers arrive out of order.
  void raise_height(uint64_t h) {
    std::lock_guard lock(mu_);
    if (!status_.height || *status_.height < h) status_.height = h;
  }
  void count_attempt() {
    std::lock_guard lock(mu_);
    ++status_.open_attempts;
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<ChainHandle> handle_;
  ChainSnapshot status_;
};

class Registry {
 public:
  void add_chain(std::shared_ptr<Chain> chain) {
    std::unique_lock lock(mu_);
    chains_[chain->path] = std::move(chain);
  }
  std::shared_ptr<Chain> chain(const std::string &path) const {
    std::shared_lock lock(mu_);
    auto it = chains_.find(path);
    return it == chains_.end() ? nullptr : it->second;
  }
  // In path order.
  std::vector<std::shared_ptr<Chain>> chains() const {
    std::shared_lock lock(mu_);
    std::vector<std::shared_ptr<Chain>> out;
    for (const auto &[p, c] : chains_) out.push_back(c);
    return out;
  }
  std::optional<ResourceEntry> resource(const std::string &path) const {
    std::shared_lock lock(mu_);
    auto it = resources_.find(path);
    if (it == resources_.end()) return std::nullopt;
    return it->second;
  }
  // In path order.
  std::vector<ResourceEntry> resources() const {
    std::shared_lock lock(mu_);
    std::vector<ResourceEntry> out;
    for (const auto &[p, r] : resources_) out.push_back(r);
    return out;
  }
  // Replaces the resources of one chain; bumps the resource-table version (/sys/state) if anything changed.
  void set_resources(const std::string &chain_path, std::vector<ResourceEntry> list) {
    std::unique_lock lock(mu_);
    std::map<std::string, boost::json::object> before, after;
    for (const auto &[p, r] : resources_)
      if (r.chain_path == chain_path) before.emplace(p, r.properties);
    for (const auto &r : list) after.emplace(r.path, r.properties);
    std::erase_if(resources_, [&](const auto &kv) { return kv.second.chain_path == chain_path; });
    for (auto &r : list) resources_[r.path] = std::move(r);
    if (before != after) seq_.fetch_add(1);
  }
  // The resource table's version: 1 at start, +1 whenever a chain's resources change.
  uint64_t seq() const { return seq_.load(); }

 private:
  mutable std::shared_mutex mu_;
  std::map<std::string, std::shared_ptr<Chain>> chains_;
  std::map<std::string, ResourceEntry> resources_;
  std::atomic<uint64_t> seq_{1};
};

} // namespace weft
