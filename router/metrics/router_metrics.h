// The router's Prometheus metric set (RPC requests, refusals, chains, build) and the metrics listener's answers to
// GET /metrics, /health/live and /health/ready. Nothing here does I/O; the listener lives with the RPC door.
//
// The label rule: a label value comes from a small, bounded set — a route family, an HTTP status or envelope code, a
// chain ("zone.chain"), an adapter verb, the build version. A label NEVER carries a user or account, a resource path
// or a transaction id: each distinct value is a new time series kept forever by Prometheus, and labels are not private.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "metrics/metrics.h"

namespace weft {

struct HttpRequest;
struct HttpResponse;

// Upper bounds, in seconds, of every latency histogram of the router.
inline constexpr std::array<double, 14> kLatencyBucketsSeconds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                                  0.1,    0.25,  0.5,    1,     2.5,  5,     10};

// The route family of a request path (query allowed) by its first non-empty segment: "sys", "resource", "trans",
// "conn", "weft", "xa", "auth" or "htlc"; "other" for anything else, the metrics and health paths included.
const char *route_family(std::string_view path);

// One local chain as the metrics see it at scrape time.
struct ChainStatus {
  std::string chain; // "zone.chain"
  bool up = false;
  std::optional<uint64_t> height; // latest block height known; none yet, no weft_chain_height sample
};

// The router's metric families, registered on a registry that must outlive this set. Children are created on first use;
// the helpers below are what the RPC door and the chain calls use on their hot paths.
struct RouterMetrics {
  // `version` goes into weft_build_info; weft_process_start_time_seconds is set to now (the router builds its metrics
  // at startup). Throws std::invalid_argument if `registry` already holds one of these names.
  RouterMetrics(MetricsRegistry &registry, std::string_view version);
  RouterMetrics(const RouterMetrics &) = delete;
  RouterMetrics &operator=(const RouterMetrics &) = delete;

  // One answered RPC request. `path` is mapped to its route family here, so no path ever reaches a label; `code` is
  // the envelope's errorCode (0 on success), or the HTTP status when the answer carries no envelope (e.g. 404).
  void request_done(std::string_view path, int code, double seconds);
  // A request refused by the HTTP layer before any route saw it (400, 408, 413, 414, 431, 503).
  void refused(int status);
  // One call into a chain's adapter; `chain` is "zone.chain", `verb` the adapter verb (e.g. "call", "sendTransaction").
  void chain_call_done(std::string_view chain, std::string_view verb, bool ok, double seconds);

  // Scrape-time sources, each set once when the router is wired (before or after serving starts); thread-safe.
  // Until set, weft_rpc_requests_in_flight reads 0 and no chain is listed.
  void set_in_flight_source(std::function<double()> fn);
  void set_chain_source(std::function<std::vector<ChainStatus>()> fn);
  // weft_xa_transactions{status}: the XA coordinator's log by status.
  void set_xa_source(std::function<std::map<std::string, std::int64_t>()> fn);
  // weft_store_commits: the router store's committed write transactions (each one fsync of its WAL).
  void set_store_source(std::function<double()> commits);

  Family<Counter> &rpc_requests;           // weft_rpc_requests_total{family,code}
  Family<Histogram> &rpc_request_duration; // weft_rpc_request_duration_seconds{family}
  Family<Counter> &rpc_refusals;           // weft_rpc_refusals_total{status}
  Family<Counter> &chain_calls;            // weft_chain_calls_total{chain,verb}
  Family<Counter> &chain_errors;           // weft_chain_errors_total{chain,verb}
  Family<Histogram> &chain_call_duration;  // weft_chain_call_duration_seconds{chain,verb}
  Gauge &build_info;                       // weft_build_info{version} = 1
  Gauge &process_start_time;               // weft_process_start_time_seconds, Unix time
  // weft_rpc_requests_in_flight, weft_chain_up{chain} and weft_chain_height{chain} are computed at scrape time.

 private:
  struct Sources;
  std::shared_ptr<Sources> sources_; // shared with the registry's callbacks, which may outlive this set
  std::array<Histogram *, 9> request_duration_by_family_{};
};

// The metrics listener's answer: GET /metrics renders `registry`; GET /health/live is 200 while `live`, else 503;
// GET /health/ready is 200 while `ready`, else 503; another method on these paths is 405, any other path 404.
// Every answer is text/plain and keeps the connection open.
HttpResponse metrics_http_answer(const HttpRequest &request, const MetricsRegistry &registry, bool ready, bool live);

} // namespace weft
