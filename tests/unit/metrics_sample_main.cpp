// weft-metrics-sample: fills the router's metric set with fixed sample values and prints its exposition text, for the
// check of that text with the Prometheus client's own parser (metrics_parse_check.py). Built only for the tests.
#include <cstdio>
#include <optional>

#include "metrics/router_metrics.h"

int main() {
  using namespace weft;
  MetricsRegistry registry;
  RouterMetrics m(registry, "1.2.3");
  m.process_start_time.set(1700000000.5);

  // Durations are powers of two, so that sums are exact in any order.
  m.request_done("/sys/test", 0, 0.000244140625);
  m.request_done("/resource/payment/bcos/HelloWorld/call", 0, 0.0078125);
  m.request_done("/resource/payment/bcos/HelloWorld/sendTransaction", 0, 0.375);
  m.request_done("/resource/payment/bcos/Missing/call", 44002, 20);
  m.request_done("/no/such/route", 404, 0.0009765625);
  m.refused(413);
  m.refused(413);
  m.refused(503);

  // A chain name no router would accept, to push quote, backslash and newline through label escaping.
  const char *odd = "odd\"zone\\x\ny.chain";
  m.chain_call_done("payment.bcos", "call", true, 0.015625);
  m.chain_call_done("payment.bcos", "sendTransaction", false, 1.5);
  m.chain_call_done(odd, "call", true, 0.03125);

  m.set_in_flight_source([] { return 3.0; });
  m.set_chain_source([odd] {
    return std::vector<ChainStatus>{{"payment.bcos", true, 1234}, {"payment.eth", false, std::nullopt}, {odd, true, 7}};
  });

  std::string text = registry.render();
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}
