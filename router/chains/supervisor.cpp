#include "supervisor.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <future>

#include "chain_answers.h"

namespace weft {

namespace {

// Runs one verb to completion from a supervising thread.
AdapterAnswer invoke_blocking(ChainHandle &h, Verb verb, const std::string &req, uint32_t deadline_ms) {
  auto p = std::make_shared<std::promise<AdapterAnswer>>();
  auto f = p->get_future();
  uint64_t op = h.invoke(verb, req, deadline_ms, [p](AdapterAnswer a) { p->set_value(std::move(a)); });
  // An adapter past its own deadline by a wide margin is cancelled; its answer still comes.
  if (f.wait_for(std::chrono::milliseconds(deadline_ms) + std::chrono::seconds(2)) != std::future_status::ready) {
    h.cancel(op);
    if (f.wait_for(std::chrono::seconds(2)) != std::future_status::ready)
      return AdapterAnswer{WEFT_E_TIMEOUT, std::string("adapter did not answer ") + verb_name(verb), ""};
  }
  return f.get();
}

} // namespace

Status apply_listed_resources(Registry &registry, const std::string &chain_path, const std::string &stub_type,
                              std::string_view listed_json) {
  auto resources = parse_resources(listed_json, chain_path);
  if (!resources.ok()) return resources.error();
  std::vector<ResourceEntry> entries;
  for (auto &r : *resources) {
    spdlog::info("resource {}.{} ({})", chain_path, r.name, stub_type);
    entries.push_back({chain_path + "." + r.name, chain_path, r.name, stub_type, std::move(r.properties)});
  }
  registry.set_resources(chain_path, std::move(entries));
  return Ok{};
}

ChainSupervisor::ChainSupervisor(Registry &registry, const weft_host_v1 *host, SupervisorOptions options,
                                 TransitionFn on_transition)
    : registry_(registry), host_(host), opt_(options), on_transition_(std::move(on_transition)) {}

ChainSupervisor::~ChainSupervisor() { stop(); }

void ChainSupervisor::start(std::vector<ChainPlan> plans, std::chrono::milliseconds first_wait) {
  {
    std::lock_guard lock(mu_);
    first_attempts_left_ = plans.size();
  }
  for (auto &p : plans) {
    registry_.add_chain(p.chain);
    threads_.emplace_back([this, p = std::move(p)]() mutable { run(std::move(p)); });
  }
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, first_wait, [this] { return first_attempts_left_ == 0 || stopping_; });
}

void ChainSupervisor::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto &t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
  for (const auto &c : registry_.chains())
    if (auto h = c->handle()) h->close();
}

bool ChainSupervisor::sleep_for(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  return !cv_.wait_for(lock, d, [this] { return stopping_; });
}

void ChainSupervisor::transition(Chain &c, ChainState s, std::string reason) {
  if (!c.set_state(s, reason)) return;
  if (s == ChainState::Up)
    spdlog::info("chain {} is up", c.path);
  else
    spdlog::warn("chain {} is down: {}", c.path, reason);
  if (on_transition_) on_transition_(c, s, reason);
}

void ChainSupervisor::run(ChainPlan plan) {
  Chain &c = *plan.chain;
  auto first_done = [this, done = false]() mutable {
    if (done) return;
    done = true;
    {
      std::lock_guard lock(mu_);
      --first_attempts_left_;
    }
    cv_.notify_all();
  };
  std::shared_ptr<ChainHandle> handle;
  auto backoff = opt_.retry_initial;
  // Open, retrying with doubling backoff until it works or the router stops.
  while (!handle) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) break;
    }
    c.count_attempt();
    std::string reason;
    if (plan.adapter == nullptr) {
      reason = "no loaded adapter serves stub type " + c.stub_type;
    } else {
      ChainHandle::OpenArgs args{c.stub_type, c.path, plan.config_json, plan.data_dir, host_};
      auto opened = ChainHandle::open(*plan.adapter, args);
      if (opened.handle) {
        auto listed = invoke_blocking(*opened.handle, Verb::ListResources, "{}", opt_.call_deadline_ms);
        auto resources = listed.ok() ? apply_listed_resources(registry_, c.path, c.stub_type, listed.data)
                                     : Status(Error{0, listed.message});
        if (resources.ok()) {
          handle = opened.handle;
          c.set_handle(handle);
          spdlog::info("chain {} open ({} via {})", c.path, c.stub_type, plan.adapter->file);
        } else {
          reason = "cannot list its resources: " + resources.error().message;
          opened.handle->close();
        }
      } else {
        reason = opened.message;
      }
    }
    if (handle) break;
    transition(c, ChainState::Down, reason);
    first_done();
    if (plan.adapter == nullptr) {
      // Nothing to retry: the adapter set is fixed for the life of the process.
      sleep_for(std::chrono::hours(24 * 365));
      return;
    }
    spdlog::info("chain {}: next attempt to open in {} ms", c.path, backoff.count());
    if (!sleep_for(backoff)) break;
    backoff = std::min(backoff * 2, opt_.retry_max);
  }
  if (!handle) {
    first_done();
    return;
  }
  // Watch: the height answers whether the chain still serves.
  for (;;) {
    auto h = invoke_blocking(*handle, Verb::BlockHeight, "{}", opt_.call_deadline_ms);
    auto height = h.ok() ? parse_height(h.data, c.path) : Result<uint64_t>(Error{0, h.message});
    if (height.ok()) {
      c.set_height(*height);
      transition(c, ChainState::Up, "");
    } else {
      transition(c, ChainState::Down, height.error().message);
    }
    first_done();
    if (!sleep_for(opt_.watch_interval)) break;
  }
}

} // namespace weft
