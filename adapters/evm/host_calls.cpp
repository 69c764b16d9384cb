#include "host_calls.h"

#include "json_rpc.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <unordered_map>

namespace weft::evm {

namespace json = boost::json;

namespace {

// How late past its deadline a call on the host path may fail.
constexpr std::chrono::milliseconds kSweep{25};

struct HostOp {
  plugin::Completion done;
  std::atomic<bool> finished{false};
};

} // namespace

struct HostCalls::State : std::enable_shared_from_this<HostCalls::State> {
  State(const plugin::Host &host, Loop &l, const RpcOptions &rpc) : io(host), rpc(io, rpc), loop(l) {}
  plugin::HostIoLoop io;
  HostRpc rpc;
  Loop &loop;
  std::mutex mu; // ops, next
  std::unordered_map<uint64_t, std::shared_ptr<HostOp>> ops;
  uint64_t next = 1;
  std::atomic<bool> closed{false};
  std::atomic<bool> sweeping{false}; // a sweep is scheduled on the loop

  std::shared_ptr<HostOp> take(uint64_t id) {
    std::lock_guard lock(mu);
    auto it = ops.find(id);
    if (it == ops.end()) return nullptr;
    auto op = std::move(it->second);
    ops.erase(it);
    return op;
  }

  // Makes sure a sweep is scheduled; from call(), so the loop wakes only while calls are unanswered.
  void start_sweeps() {
    if (sweeping.exchange(true)) return;
    loop.post([weak = weak_from_this()] { sweep(weak); });
  }

  // On the loop: fails what is past its deadline, then comes back after kSweep while calls are unanswered.
  static void sweep(const std::weak_ptr<State> &weak) {
    auto s = weak.lock();
    if (!s || s->closed) return;
    s->rpc.sweep();
    if (s->rpc.unanswered() == 0) {
      s->sweeping = false;
      // A call made since the count was read saw `sweeping` still set and scheduled nothing: keep sweeping for it.
      if (s->rpc.unanswered() == 0 || s->sweeping.exchange(true)) return;
    }
    s->loop.after(kSweep, [weak] { sweep(weak); });
  }
};

std::unique_ptr<HostCalls> HostCalls::open(const plugin::Host &host, Loop &loop, const RpcOptions &rpc,
                                           bool rpc_io_thread, std::string &why) {
  if (rpc_io_thread) {
    why = "options.rpc_io is thread";
    return nullptr;
  }
  if (!host.has_io()) {
    why = "the router lends no event loop";
    return nullptr;
  }
  if (!HostRpc::servable(rpc, why)) return nullptr;
  return std::make_unique<HostCalls>(host, loop, rpc);
}

std::optional<json::object> HostCalls::plain_request(const std::string &request) {
  boost::system::error_code ec;
  auto v = json::parse(request, ec);
  if (ec || !v.is_object()) return std::nullopt;
  auto &req = v.as_object();
  if (const auto *o = req.if_contains("options"); o != nullptr && o->is_object())
    if (o->as_object().contains("XA_TRANSACTION_ID")) return std::nullopt;
  return std::move(req);
}

HostCalls::HostCalls(const plugin::Host &host, Loop &loop, const RpcOptions &rpc)
    : state_(std::make_shared<State>(host, loop, rpc)) {}

HostCalls::~HostCalls() { shutdown(); }

uint64_t HostCalls::call(plugin::Completion done, std::chrono::milliseconds budget, std::string_view method,
                         json::array params, Decode decode) {
  auto op = std::make_shared<HostOp>();
  op->done = std::move(done);
  uint64_t id;
  {
    std::lock_guard lock(state_->mu);
    id = kOpBit | state_->next++;
    state_->ops.emplace(id, op);
  }
  state_->rpc.call(method, std::move(params), HostRpc::Clock::now() + budget,
                   [s = state_.get(), id, op, decode = std::move(decode)](RpcAnswer a) {
                     s->take(id);
                     if (op->finished.exchange(true)) return; // cancelled
                     auto out = decode(a);
                     if (out.status == WEFT_OK)
                       op->done.succeed(json::serialize(out.answer));
                     else
                       op->done.fail(out.status, out.message);
                   });
  state_->start_sweeps(); // after the call counts as unanswered, so a sweep that is ending sees it
  return id;
}

void HostCalls::cancel(uint64_t op_id) {
  if (auto op = state_->take(op_id); op && !op->finished.exchange(true)) op->done.fail(WEFT_E_CANCELLED, "cancelled");
}

void HostCalls::shutdown() {
  state_->closed = true;
  state_->rpc.shutdown(); // every call's callback runs now, with WEFT_E_CANCELLED
}

} // namespace weft::evm
