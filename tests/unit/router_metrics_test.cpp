// The metrics library's exposition text, its lock-free updates under threads, scrape-time gauges, the router's metric
// set and the metrics listener's answers.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <thread>

#include "metrics/metrics.h"
#include "metrics/router_metrics.h"
#include "rpc/http_server.h"

using namespace weft;

namespace {

std::vector<std::string> type_lines(const std::string &text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    std::string line = text.substr(pos, end - pos);
    if (line.starts_with("# TYPE ")) out.push_back(line.substr(7));
    pos = end == std::string::npos ? text.size() : end + 1;
  }
  return out;
}

bool has_line(const std::string &text, const std::string &line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

HttpRequest get(std::string target, std::string method = "GET") {
  return HttpRequest{.method = std::move(method), .target = std::move(target)};
}

} // namespace

TEST_CASE("a small registry renders exactly: HELP and label escaping, cumulative buckets, +Inf, _sum and _count") {
  MetricsRegistry r;
  auto &c = r.add_counter("t_requests_total", "Requests \\ with\na \"newline\".", {"path"});
  c.labels({"a\"b\\c\nd"}).inc(2);
  c.labels({"plain"}).inc();
  r.add_gauge("t_temp", "Temperature.").labels({}).set(-1.5);
  auto &h = r.add_histogram("t_latency_seconds", "Latency.", {"op", "chain"}, {0.5, 1, 2.5});
  auto &hx = h.labels({"x", "a.b"});
  for (double v : {0.25, 0.5, 2.0, 100.0}) hx.observe(v);
  h.labels({"w", "a.b"}); // created, never observed
  r.add_histogram("t_plain", "No labels.", {}, {1}).labels({}).observe(0.5);

  CHECK(r.render() == "# HELP t_latency_seconds Latency.\n"
                      "# TYPE t_latency_seconds histogram\n"
                      "t_latency_seconds_bucket{op=\"w\",chain=\"a.b\",le=\"0.5\"} 0\n"
                      "t_latency_seconds_bucket{op=\"w\",chain=\"a.b\",le=\"1\"} 0\n"
                      "t_latency_seconds_bucket{op=\"w\",chain=\"a.b\",le=\"2.5\"} 0\n"
                      "t_latency_seconds_bucket{op=\"w\",chain=\"a.b\",le=\"+Inf\"} 0\n"
                      "t_latency_seconds_sum{op=\"w\",chain=\"a.b\"} 0\n"
                      "t_latency_seconds_count{op=\"w\",chain=\"a.b\"} 0\n"
                      "t_latency_seconds_bucket{op=\"x\",chain=\"a.b\",le=\"0.5\"} 2\n"
                      "t_latency_seconds_bucket{op=\"x\",chain=\"a.b\",le=\"1\"} 2\n"
                      "t_latency_seconds_bucket{op=\"x\",chain=\"a.b\",le=\"2.5\"} 3\n"
                      "t_latency_seconds_bucket{op=\"x\",chain=\"a.b\",le=\"+Inf\"} 4\n"
                      "t_latency_seconds_sum{op=\"x\",chain=\"a.b\"} 102.75\n"
                      "t_latency_seconds_count{op=\"x\",chain=\"a.b\"} 4\n"
                      "# HELP t_plain No labels.\n"
                      "# TYPE t_plain histogram\n"
                      "t_plain_bucket{le=\"1\"} 1\n"
                      "t_plain_bucket{le=\"+Inf\"} 1\n"
                      "t_plain_sum 0.5\n"
                      "t_plain_count 1\n"
                      "# HELP t_requests_total Requests \\\\ with\\na \"newline\".\n"
                      "# TYPE t_requests_total counter\n"
                      "t_requests_total{path=\"a\\\"b\\\\c\\nd\"} 2\n"
                      "t_requests_total{path=\"plain\"} 1\n"
                      "# HELP t_temp Temperature.\n"
                      "# TYPE t_temp gauge\n"
                      "t_temp -1.5\n");
}

TEST_CASE("values print as integers when integral, else in their shortest exact form, and NaN and infinities by name") {
  MetricsRegistry r;
  auto &g = r.add_gauge("v", "Values.", {"k"});
  g.labels({"a"}).set(1700000000);
  g.labels({"b"}).set(0.1);
  g.labels({"c"}).set(1700000000.25);
  g.labels({"d"}).set(std::numeric_limits<double>::quiet_NaN());
  g.labels({"e"}).set(std::numeric_limits<double>::infinity());
  g.labels({"f"}).set(-std::numeric_limits<double>::infinity());
  g.labels({"g"}).set(1e300);
  g.labels({"h"}).set(0.0005);
  g.labels({"i"}).set(0.00001);
  g.labels({"j"}).set(-2.5);
  std::string text = r.render();
  CHECK(has_line(text, "v{k=\"a\"} 1700000000"));
  CHECK(has_line(text, "v{k=\"b\"} 0.1"));
  CHECK(has_line(text, "v{k=\"c\"} 1700000000.25"));
  CHECK(has_line(text, "v{k=\"d\"} NaN"));
  CHECK(has_line(text, "v{k=\"e\"} +Inf"));
  CHECK(has_line(text, "v{k=\"f\"} -Inf"));
  CHECK(has_line(text, "v{k=\"g\"} 1e+300"));
  CHECK(has_line(text, "v{k=\"h\"} 0.0005"));
  CHECK(has_line(text, "v{k=\"i\"} 1e-05"));
  CHECK(has_line(text, "v{k=\"j\"} -2.5"));
}

TEST_CASE("a child is created once: the same label values give the same object") {
  MetricsRegistry r;
  auto &f = r.add_counter("c_total", "C.", {"a", "b"});
  Counter &x = f.labels({"1", "2"});
  std::vector<std::string> values = {"1", "2"};
  std::vector<std::string_view> views(values.begin(), values.end());
  CHECK(&f.labels(views) == &x);
  CHECK(&f.labels({"1", "3"}) != &x);
  CHECK_THROWS_AS(f.labels({"1"}), std::invalid_argument);
  CHECK_THROWS_AS(f.labels({"1", "2", "3"}), std::invalid_argument);
}

TEST_CASE("registration refuses bad names, clashes, reserved labels and unordered bounds") {
  MetricsRegistry r;
  CHECK_THROWS_AS(r.add_counter("requests", "No _total."), std::invalid_argument);
  CHECK_THROWS_AS(r.add_gauge("1abc", "Leading digit."), std::invalid_argument);
  CHECK_THROWS_AS(r.add_gauge("a-b", "Dash."), std::invalid_argument);
  CHECK_THROWS_AS(r.add_gauge("g", "Bad label.", {"bad-label"}), std::invalid_argument);
  CHECK_THROWS_AS(r.add_gauge("g", "Reserved label.", {"__x"}), std::invalid_argument);
  CHECK_THROWS_AS(r.add_gauge("g", "Label twice.", {"a", "a"}), std::invalid_argument);
  CHECK_THROWS_AS(r.add_histogram("h", "le.", {"le"}, {1}), std::invalid_argument);
  CHECK_THROWS_AS(r.add_histogram("h", "Unordered.", {}, {1, 1}), std::invalid_argument);
  CHECK_THROWS_AS(r.add_histogram("h", "Infinite.", {}, {1, std::numeric_limits<double>::infinity()}),
                  std::invalid_argument);

  r.add_histogram("lat", "L.", {}, {1});
  CHECK_THROWS_AS(r.add_gauge("lat", "Same name."), std::invalid_argument);
  CHECK_THROWS_AS(r.add_gauge("lat_count", "A histogram's sample name."), std::invalid_argument);
  CHECK_THROWS_AS(r.add_gauge_callback("lat_sum", "Same.", {}, [] { return MetricsRegistry::GaugeSamples{}; }),
                  std::invalid_argument);
  r.add_counter("n_total", "N.");
  CHECK_THROWS_AS(r.add_counter("n_total", "Again."), std::invalid_argument);
  CHECK(type_lines(r.render()) == std::vector<std::string>{"lat histogram", "n_total counter"});
}

TEST_CASE("threads updating the same children and creating new ones concurrently give exact totals") {
  MetricsRegistry r;
  auto &counters = r.add_counter("hits_total", "Hits.", {"worker"});
  auto &gauge = r.add_gauge("level", "Level.").labels({});
  auto &hist = r.add_histogram("obs", "Obs.", {}, {1, 2}).labels({});
  Counter &shared = r.add_counter("shared_total", "Shared.").labels({});
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50000;
  std::atomic<bool> stop{false};
  size_t empty_scrapes = 0;
  std::thread scraper([&] {
    while (!stop.load()) empty_scrapes += r.render().empty();
  });
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t)
    workers.emplace_back([&, t] {
      Counter &mine = counters.labels({std::to_string(t)});
      for (int i = 0; i < kPerThread; ++i) {
        shared.inc();
        mine.inc();
        gauge.inc(0.5);
        hist.observe(i % 3 == 0 ? 0.5 : 1.5); // dyadic values: the sum is exact
        if (i % 1000 == 0) counters.labels({"w" + std::to_string(t) + "-" + std::to_string(i)}).inc();
      }
    });
  for (auto &w : workers) w.join();
  stop = true;
  scraper.join();
  CHECK(empty_scrapes == 0);

  CHECK(shared.value() == uint64_t{kThreads} * kPerThread);
  for (int t = 0; t < kThreads; ++t) CHECK(counters.labels({std::to_string(t)}).value() == kPerThread);
  CHECK(gauge.value() == kThreads * kPerThread * 0.5);
  auto s = hist.snapshot();
  const uint64_t low = uint64_t{kThreads} * ((kPerThread + 2) / 3);
  CHECK(s.cumulative == std::vector<uint64_t>{low, uint64_t{kThreads} * kPerThread, uint64_t{kThreads} * kPerThread});
  CHECK(s.count == uint64_t{kThreads} * kPerThread);
  CHECK(s.sum == 0.5 * low + 1.5 * (uint64_t{kThreads} * kPerThread - low));
  std::string text = r.render();
  CHECK(has_line(text, "shared_total 200000"));
  CHECK(has_line(text, "hits_total{worker=\"w3-49000\"} 1"));
}

TEST_CASE("a callback gauge is computed at each scrape, sorted, and drops malformed samples") {
  MetricsRegistry r;
  int calls = 0;
  r.add_gauge_callback("cb", "Computed.", {"chain"}, [&calls] {
    ++calls;
    return MetricsRegistry::GaugeSamples{
        {{"z.b"}, 1}, {{"a.c"}, double(calls)}, {{"too", "many"}, 7}, {{"z.b"}, 9}, {{}, 8}};
  });
  CHECK(r.render() == "# HELP cb Computed.\n# TYPE cb gauge\ncb{chain=\"a.c\"} 1\ncb{chain=\"z.b\"} 1\n");
  CHECK(has_line(r.render(), "cb{chain=\"a.c\"} 2"));

  r.add_gauge_callback("broken", "Throws.", {},
                       []() -> MetricsRegistry::GaugeSamples { throw std::runtime_error("source gone"); });
  r.add_gauge("zz", "After the broken one.").labels({}).set(4);
  std::string text = r.render();
  CHECK(text.find("# HELP broken Throws.\n# TYPE broken gauge\n# HELP cb") != std::string::npos);
  CHECK(has_line(text, "zz 4"));
}

TEST_CASE("route_family maps a path's first segment to its family and everything else to other") {
  CHECK(std::string(route_family("/sys/test")) == "sys");
  CHECK(std::string(route_family("/resource/payment/bcos/HelloWorld/call")) == "resource");
  CHECK(std::string(route_family("/trans/getBlock?chain=a.b")) == "trans");
  CHECK(std::string(route_family("/conn/listPeers")) == "conn");
  CHECK(std::string(route_family("/weft/ws")) == "weft");
  CHECK(std::string(route_family("/xa/startXATransaction")) == "xa");
  CHECK(std::string(route_family("/auth/login")) == "auth");
  CHECK(std::string(route_family("/htlc/lock")) == "htlc");
  CHECK(std::string(route_family("//sys//status")) == "sys");
  CHECK(std::string(route_family("/sys")) == "sys");
  CHECK(std::string(route_family("/sys?x=1")) == "sys");
  CHECK(std::string(route_family("/metrics")) == "other");
  CHECK(std::string(route_family("/health/ready")) == "other");
  CHECK(std::string(route_family("/SYS/test")) == "other");
  CHECK(std::string(route_family("/system/test")) == "other");
  CHECK(std::string(route_family("/")) == "other");
  CHECK(std::string(route_family("")) == "other");
}

TEST_CASE("the router's set registers exactly its families, and its helpers fill them") {
  MetricsRegistry r;
  RouterMetrics m(r, "1.2.3");
  CHECK(type_lines(r.render()) == std::vector<std::string>{
                                      "weft_build_info gauge",
                                      "weft_chain_call_duration_seconds histogram",
                                      "weft_chain_calls_total counter",
                                      "weft_chain_errors_total counter",
                                      "weft_chain_height gauge",
                                      "weft_chain_up gauge",
                                      "weft_process_start_time_seconds gauge",
                                      "weft_rpc_refusals_total counter",
                                      "weft_rpc_request_duration_seconds histogram",
                                      "weft_rpc_requests_in_flight gauge",
                                      "weft_rpc_requests_total counter",
                                      "weft_store_commits gauge",
                                      "weft_xa_transactions gauge",
                                  });
  CHECK_THROWS_AS(RouterMetrics(r, "again"), std::invalid_argument);

  std::string text = r.render();
  CHECK(has_line(text, "weft_build_info{version=\"1.2.3\"} 1"));
  CHECK(has_line(text, "weft_rpc_requests_in_flight 0"));
  CHECK(has_line(text, "weft_rpc_refusals_total{status=\"413\"} 0"));
  CHECK(has_line(text, "weft_rpc_request_duration_seconds_count{family=\"htlc\"} 0"));
  CHECK(has_line(text, "weft_rpc_request_duration_seconds_bucket{family=\"sys\",le=\"0.0005\"} 0"));
  CHECK(has_line(text, "weft_rpc_request_duration_seconds_bucket{family=\"sys\",le=\"10\"} 0"));
  CHECK(m.process_start_time.value() > 1.6e9);

  m.request_done("/resource/payment/bcos/HelloWorld/sendTransaction", 0, 0.003);
  m.request_done("/resource/payment/bcos/Other/call", 0, 0.02);
  m.request_done("/nope", 404, 0.0001);
  m.refused(413);
  m.chain_call_done("payment.bcos", "call", true, 0.0625);
  m.chain_call_done("payment.bcos", "call", false, 0.5);
  m.set_in_flight_source([] { return 2.0; });
  m.set_chain_source([] {
    return std::vector<ChainStatus>{{"payment.bcos", true, 42}, {"payment.eth", false, std::nullopt}};
  });
  text = r.render();
  CHECK(has_line(text, "weft_rpc_requests_total{family=\"resource\",code=\"0\"} 2"));
  CHECK(has_line(text, "weft_rpc_requests_total{family=\"other\",code=\"404\"} 1"));
  CHECK(text.find("HelloWorld") == std::string::npos); // no resource path in any label
  CHECK(has_line(text, "weft_rpc_request_duration_seconds_bucket{family=\"resource\",le=\"0.0025\"} 0"));
  CHECK(has_line(text, "weft_rpc_request_duration_seconds_bucket{family=\"resource\",le=\"0.005\"} 1"));
  CHECK(has_line(text, "weft_rpc_request_duration_seconds_bucket{family=\"resource\",le=\"0.025\"} 2"));
  CHECK(has_line(text, "weft_rpc_request_duration_seconds_count{family=\"other\"} 1"));
  CHECK(has_line(text, "weft_rpc_refusals_total{status=\"413\"} 1"));
  CHECK(has_line(text, "weft_chain_calls_total{chain=\"payment.bcos\",verb=\"call\"} 2"));
  CHECK(has_line(text, "weft_chain_errors_total{chain=\"payment.bcos\",verb=\"call\"} 1"));
  CHECK(has_line(text, "weft_chain_call_duration_seconds_sum{chain=\"payment.bcos\",verb=\"call\"} 0.5625"));
  CHECK(has_line(text, "weft_rpc_requests_in_flight 2"));
  CHECK(has_line(text, "weft_chain_up{chain=\"payment.bcos\"} 1"));
  CHECK(has_line(text, "weft_chain_up{chain=\"payment.eth\"} 0"));
  CHECK(has_line(text, "weft_chain_height{chain=\"payment.bcos\"} 42"));
  CHECK(text.find("weft_chain_height{chain=\"payment.eth\"}") == std::string::npos);
}

TEST_CASE("the metrics listener answers /metrics, /health/live and /health/ready, 405 for other methods, else 404") {
  MetricsRegistry r;
  r.add_gauge("g", "G.").labels({}).set(3);

  HttpResponse m = metrics_http_answer(get("/metrics"), r, true, true);
  CHECK(m.status == 200);
  CHECK(m.content_type == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(m.body == r.render());
  CHECK_FALSE(m.close);
  CHECK(metrics_http_answer(get("/metrics?x=1"), r, false, false).status == 200); // metrics even when unready

  HttpResponse live = metrics_http_answer(get("/health/live"), r, false, true);
  CHECK(live.status == 200);
  CHECK(live.body == "live\n");
  CHECK(metrics_http_answer(get("/health/live"), r, true, false).status == 503);

  HttpResponse ready = metrics_http_answer(get("/health/ready"), r, true, true);
  CHECK(ready.status == 200);
  CHECK(ready.body == "ready\n");
  HttpResponse unready = metrics_http_answer(get("/health/ready"), r, false, true);
  CHECK(unready.status == 503);
  CHECK(unready.body == "not ready\n");

  for (const char *path : {"/metrics", "/health/live", "/health/ready"})
    for (const char *method : {"POST", "PUT", "HEAD", "get"}) {
      CAPTURE(path);
      CAPTURE(method);
      HttpResponse a = metrics_http_answer(get(path, method), r, true, true);
      CHECK(a.status == 405);
      CHECK_FALSE(a.close);
      REQUIRE(a.headers.size() == 1);
      CHECK(a.headers[0] == std::pair<std::string, std::string>{"Allow", "GET"});
    }
  for (const char *path : {"/", "/metric", "/metrics/", "/health", "/sys/test", "/health/ready/x"}) {
    CAPTURE(path);
    HttpResponse a = metrics_http_answer(get(path), r, true, true);
    CHECK(a.status == 404);
    CHECK(a.content_type.starts_with("text/plain"));
    CHECK_FALSE(a.close);
  }
}
