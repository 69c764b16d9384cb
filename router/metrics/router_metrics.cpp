#include "metrics/router_metrics.h"

#include <chrono>
#include <mutex>

#include "rpc/http_server.h"

namespace weft {

namespace {

// Every route family; "other" last, so that its index is the fallback.
constexpr std::array<const char *, 9> kRouteFamilies = {"sys", "resource", "trans", "conn", "weft",
                                                        "xa",  "auth",     "htlc",  "other"};

size_t route_family_index(std::string_view path) {
  path = path.substr(0, path.find('?'));
  size_t start = path.find_first_not_of('/');
  if (start == std::string_view::npos) return kRouteFamilies.size() - 1;
  path.remove_prefix(start);
  std::string_view first = path.substr(0, path.find('/'));
  for (size_t i = 0; i + 1 < kRouteFamilies.size(); ++i)
    if (first == kRouteFamilies[i]) return i;
  return kRouteFamilies.size() - 1;
}

HttpResponse text(int status, std::string body) {
  return HttpResponse{status, "text/plain; charset=utf-8", std::move(body), false};
}

} // namespace

const char *route_family(std::string_view path) {
  return kRouteFamilies[route_family_index(path)];
}

struct RouterMetrics::Sources {
  std::mutex mu;
  std::function<double()> in_flight;
  std::function<std::vector<ChainStatus>()> chains;
  std::function<std::map<std::string, std::int64_t>()> xa;
  std::function<double()> store_commits;

  std::vector<ChainStatus> chain_statuses() {
    std::function<std::vector<ChainStatus>()> fn;
    {
      std::lock_guard lock(mu);
      fn = chains;
    }
    return fn ? fn() : std::vector<ChainStatus>{};
  }
};

RouterMetrics::RouterMetrics(MetricsRegistry &registry, std::string_view version)
    : rpc_requests(registry.add_counter("weft_rpc_requests_total",
                                        "RPC requests answered, by route family and code (envelope errorCode, 0 on "
                                        "success, or the HTTP status of an answer without an envelope).",
                                        {"family", "code"})),
      rpc_request_duration(registry.add_histogram("weft_rpc_request_duration_seconds",
                                                  "Time to answer an RPC request, by route family.", {"family"},
                                                  {kLatencyBucketsSeconds.begin(), kLatencyBucketsSeconds.end()})),
      rpc_refusals(registry.add_counter(
          "weft_rpc_refusals_total", "Requests refused by the HTTP layer before routing, by HTTP status.", {"status"})),
      chain_calls(registry.add_counter("weft_chain_calls_total", "Calls into a chain's adapter, by chain and verb.",
                                       {"chain", "verb"})),
      chain_errors(registry.add_counter("weft_chain_errors_total",
                                        "Calls into a chain's adapter that failed, by chain and verb.",
                                        {"chain", "verb"})),
      chain_call_duration(registry.add_histogram(
          "weft_chain_call_duration_seconds", "Time of a call into a chain's adapter, by chain and verb.",
          {"chain", "verb"}, {kLatencyBucketsSeconds.begin(), kLatencyBucketsSeconds.end()})),
      build_info(registry.add_gauge("weft_build_info", "Always 1; the label carries the router's version.", {"version"})
                     .labels({version})),
      process_start_time(
          registry.add_gauge("weft_process_start_time_seconds", "Start time of the router, in Unix seconds.")
              .labels(std::span<const std::string_view>{})),
      sources_(std::make_shared<Sources>()) {
  static_assert(std::tuple_size_v<decltype(request_duration_by_family_)> == kRouteFamilies.size());
  build_info.set(1);
  auto now = std::chrono::system_clock::now().time_since_epoch();
  process_start_time.set(std::chrono::duration<double>(now).count());
  // Known label values exist from the start, so that rates over them work from the first scrape.
  for (size_t i = 0; i < kRouteFamilies.size(); ++i)
    request_duration_by_family_[i] = &rpc_request_duration.labels({kRouteFamilies[i]});
  for (const char *status : {"400", "408", "413", "414", "431", "503"}) rpc_refusals.labels({status});

  std::shared_ptr<Sources> sources = sources_;
  registry.add_gauge_callback("weft_rpc_requests_in_flight", "RPC requests being answered now.", {}, [sources] {
    std::function<double()> fn;
    {
      std::lock_guard lock(sources->mu);
      fn = sources->in_flight;
    }
    return MetricsRegistry::GaugeSamples{{{}, fn ? fn() : 0.0}};
  });
  registry.add_gauge_callback("weft_chain_up", "1 while the chain's adapter answers, else 0.", {"chain"}, [sources] {
    MetricsRegistry::GaugeSamples out;
    for (auto &c : sources->chain_statuses()) out.push_back({{std::move(c.chain)}, c.up ? 1.0 : 0.0});
    return out;
  });
  registry.add_gauge_callback("weft_store_commits",
                              "Write transactions the router store has committed with an fsync of its WAL.", {},
                              [sources] {
                                std::function<double()> fn;
                                {
                                  std::lock_guard lock(sources->mu);
                                  fn = sources->store_commits;
                                }
                                return MetricsRegistry::GaugeSamples{{{}, fn ? fn() : 0.0}};
                              });
  registry.add_gauge_callback(
      "weft_xa_transactions",
      "XA transactions in the coordinator's log, by status (heuristic ones wait for an admin: weft xa resolve).",
      {"status"}, [sources] {
        std::function<std::map<std::string, std::int64_t>()> fn;
        {
          std::lock_guard lock(sources->mu);
          fn = sources->xa;
        }
        MetricsRegistry::GaugeSamples out;
        if (fn)
          for (auto &[status, n] : fn()) out.push_back({{status}, static_cast<double>(n)});
        return out;
      });
  registry.add_gauge_callback("weft_chain_height", "Latest block height known of the chain.", {"chain"}, [sources] {
    MetricsRegistry::GaugeSamples out;
    for (auto &c : sources->chain_statuses())
      if (c.height) out.push_back({{std::move(c.chain)}, static_cast<double>(*c.height)});
    return out;
  });
}

void RouterMetrics::request_done(std::string_view path, int code, double seconds) {
  size_t family = route_family_index(path);
  std::string code_text = std::to_string(code);
  rpc_requests.labels({kRouteFamilies[family], code_text}).inc();
  request_duration_by_family_[family]->observe(seconds);
}

void RouterMetrics::refused(int status) {
  rpc_refusals.labels({std::to_string(status)}).inc();
}

void RouterMetrics::chain_call_done(std::string_view chain, std::string_view verb, bool ok, double seconds) {
  chain_calls.labels({chain, verb}).inc();
  if (!ok) chain_errors.labels({chain, verb}).inc();
  chain_call_duration.labels({chain, verb}).observe(seconds);
}

void RouterMetrics::set_store_source(std::function<double()> commits) {
  std::lock_guard lock(sources_->mu);
  sources_->store_commits = std::move(commits);
}

void RouterMetrics::set_xa_source(std::function<std::map<std::string, std::int64_t>()> fn) {
  std::lock_guard lock(sources_->mu);
  sources_->xa = std::move(fn);
}

void RouterMetrics::set_in_flight_source(std::function<double()> fn) {
  std::lock_guard lock(sources_->mu);
  sources_->in_flight = std::move(fn);
}

void RouterMetrics::set_chain_source(std::function<std::vector<ChainStatus>()> fn) {
  std::lock_guard lock(sources_->mu);
  sources_->chains = std::move(fn);
}

HttpResponse metrics_http_answer(const HttpRequest &request, const MetricsRegistry &registry, bool ready, bool live) {
  std::string_view target = request.target;
  std::string_view path = target.substr(0, target.find('?'));
  if (path != "/metrics" && path != "/health/live" && path != "/health/ready") return text(404, "not found\n");
  if (request.method != "GET") {
    HttpResponse r = text(405, "method not allowed; use GET\n");
    r.headers.emplace_back("Allow", "GET");
    return r;
  }
  if (path == "/metrics") {
    HttpResponse r = text(200, registry.render());
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    return r;
  }
  if (path == "/health/live") return live ? text(200, "live\n") : text(503, "not live\n");
  return ready ? text(200, "ready\n") : text(503, "not ready\n");
}

} // namespace weft
