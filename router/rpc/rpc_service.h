// The RPC's routes: WeCross's /sys, /resource and /trans families plus Weft's own /weft additions, each
// answered in the one envelope. Resolves resource paths through the registry and calls chains' adapters.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "http_server.h"
#include "loader.h"
#include "registry.h"

namespace weft {

struct AccountSummary {
  std::string name;
  std::string algorithm;
};

struct RouterInfo {
  std::string version;
  std::string zone;
  std::chrono::steady_clock::time_point started;
  const LoadReport *adapters = nullptr;
  std::vector<AccountSummary> accounts;
  uint32_t request_timeout_ms = 30000;
};

class RpcService {
 public:
  RpcService(const Registry &registry, RouterInfo info) : registry_(registry), info_(std::move(info)) {}

  // Answers one request; never throws. Logs one line with its outcome and latency.
  boost::asio::awaitable<HttpResponse> handle(HttpRequest req);

  struct Reply;   // a response and the envelope code it carries (for the log line)
  struct Request; // a parsed request

 private:
  boost::asio::awaitable<Reply> dispatch(const HttpRequest &req);
  boost::asio::awaitable<Reply> status();
  Reply supported_stubs() const;
  Reply list_resources(const Request &r) const;
  boost::asio::awaitable<Reply> resource(const Request &r, const std::vector<std::string> &parts);
  boost::asio::awaitable<Reply> transaction(const Request &r, const ResourceEntry &res, bool send);
  boost::asio::awaitable<Reply> get_transaction(const Request &r);
  boost::asio::awaitable<Reply> get_block(const Request &r);
  boost::asio::awaitable<Reply> get_proof(const Request &r);
  boost::asio::awaitable<Reply> by_tx_hash(const Request &r, Verb verb);
  boost::asio::awaitable<Reply> accounts(const Request &r);

  const Registry &registry_;
  RouterInfo info_;
};

} // namespace weft
