// Typed calls to chains for the router's routes and services: resolves a chain path, runs the verb through its
// adapter with the router's deadline, maps a failure to the router's error and parses the answer into a struct.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <weft/error.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "chain_answers.h"
#include "registry.h"

namespace weft {

struct TxRequest {
  std::string resource; // name on its chain
  std::string method;
  std::vector<std::string> args;
  std::string account;
  boost::json::object options;
};

class ChainService {
 public:
  // Sees every adapter call once it ends: chain path, verb, failed or not, seconds taken.
  using CallObserver = std::function<void(const std::string &, Verb, bool, double)>;

  ChainService(const Registry &registry, uint32_t request_timeout_ms) : registry_(registry), timeout_ms_(request_timeout_ms) {}
  void set_observer(CallObserver fn) { observer_ = std::move(fn); }
  uint32_t request_timeout_ms() const { return timeout_ms_; }

  // The chain at `path` ("zone.chain") if it is configured and open: 10001 if unknown, 40100 if down.
  Result<std::shared_ptr<Chain>> open_chain(const std::string &path) const;

  boost::asio::awaitable<Result<TxOutcome>> transact(std::shared_ptr<Chain> chain, TxRequest req, bool send);
  boost::asio::awaitable<Result<uint64_t>> height(std::shared_ptr<Chain> chain, uint32_t deadline_ms = 0);
  boost::asio::awaitable<Result<ChainInfo>> info(std::shared_ptr<Chain> chain);
  boost::asio::awaitable<Result<Block>> block(std::shared_ptr<Chain> chain, uint64_t number);
  boost::asio::awaitable<Result<Receipt>> receipt(std::shared_ptr<Chain> chain, std::string hash);
  boost::asio::awaitable<Result<boost::json::object>> proof(std::shared_ptr<Chain> chain, std::string hash);
  boost::asio::awaitable<Result<std::string>> address(std::shared_ptr<Chain> chain, std::string account);

  // The heights of several chains, asked all at once (one slow chain delays the answer by its deadline only).
  // A chain that answers has its cached height updated.
  boost::asio::awaitable<std::vector<std::optional<Result<uint64_t>>>> heights(std::vector<std::shared_ptr<Chain>> chains,
                                                                               uint32_t deadline_ms);

  // Any verb, with the adapter's own status kept (the XA coordinator tells "refused" from "unreachable").
  boost::asio::awaitable<AdapterAnswer> invoke_answer(std::shared_ptr<Chain> chain, Verb verb, std::string request,
                                                      uint32_t deadline_ms = 0);
  // Any verb, raw: the answer text or the mapped error.
  boost::asio::awaitable<Result<std::string>> invoke(std::shared_ptr<Chain> chain, Verb verb, std::string request,
                                                     uint32_t deadline_ms = 0);

 private:
  const Registry &registry_;
  uint32_t timeout_ms_;
  CallObserver observer_;
};

} // namespace weft
