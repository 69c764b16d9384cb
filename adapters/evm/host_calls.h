// Plain reads on the router's threads, for a chain that otherwise runs on its Loop (the EVM and FISCO BCOS
// adapters): one JSON-RPC request per verb through HostRpc, on the loop the host lends, decoded and completed on the
// router thread that reads the node's answer. The chain's loop only runs the deadline sweep, every 25 ms while
// calls are unanswered (an idle chain's loop is not woken for it).
//
// Ops started here carry kOpBit in their id, so the chain's cancel() can tell them from its OpBook's.
#pragma once

#include "host_rpc.h"

#include <weft/adapter.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>

namespace weft::evm {

class Loop;

class HostCalls {
 public:
  static constexpr uint64_t kOpBit = 1ull << 63;

  // What a verb answers for the node's answer: status WEFT_OK with `answer`, or a failure with `message`.
  struct Outcome {
    int32_t status = WEFT_OK;
    std::string message;
    boost::json::value answer;
  };
  using Decode = std::function<Outcome(const RpcAnswer &)>;

  // The host path of a chain, or null when it has none, with the reason in `why`: options.rpc_io is thread, the
  // host lends no loop, or the endpoint is not one HostRpc serves. `host` and `loop` outlive the result.
  static std::unique_ptr<HostCalls> open(const plugin::Host &host, Loop &loop, const RpcOptions &rpc,
                                         bool rpc_io_thread, std::string &why);
  HostCalls(const plugin::Host &host, Loop &loop, const RpcOptions &rpc);
  ~HostCalls(); // shutdown()
  HostCalls(const HostCalls &) = delete;
  HostCalls &operator=(const HostCalls &) = delete;

  static bool owns(uint64_t op_id) { return (op_id & kOpBit) != 0; }
  // A verb's request when the host path may take it: a JSON object outside an XA transaction (no
  // options.XA_TRANSACTION_ID). nullopt otherwise: the chain's loop takes it, and refuses it there if it is bad.
  static std::optional<boost::json::object> plain_request(const std::string &request);
  // What plan() builds from such a request while `resources` is held shared (the chain's loop adds resources under it
  // exclusively), or nullopt when plan() throws plugin::Failure: the loop takes the request and gives that error.
  template <class Plan>
  static auto try_plan(std::shared_mutex &resources, Plan plan) -> std::optional<decltype(plan())> {
    try {
      std::shared_lock lock(resources);
      return plan();
    } catch (const plugin::Failure &) {
      return std::nullopt;
    }
  }
  // A call's time: the verb's deadline (0: 30 s), at most one request's bound.
  static std::chrono::milliseconds budget(uint32_t deadline_ms, uint64_t request_timeout_ms) {
    return std::chrono::milliseconds(std::min<uint64_t>(deadline_ms == 0 ? 30000 : deadline_ms, request_timeout_ms));
  }

  // Sends method(params) within budget and returns the op id; `done` gets decode(the node's answer) once, or a
  // cancel's or a shutdown's WEFT_E_CANCELLED. From any thread; decode runs on a router thread and must not block.
  uint64_t call(plugin::Completion done, std::chrono::milliseconds budget, std::string_view method,
                boost::json::array params, Decode decode);
  // Completes the op as cancelled, if it has not ended; its answer, when it comes, is dropped.
  void cancel(uint64_t op_id);
  // Ends every op as cancelled and stops the sweeps. Idempotent; before the loop stops, and not from a callback.
  void shutdown();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

} // namespace weft::evm
