// An RPC request as an HTTP client sends it: the input is the target, a newline, then the body. parse_request splits
// path and query and reads the envelope; a bad body is kept as an error to answer, never thrown. The routes' helpers
// that read the envelope (version, parameters) run on whatever parsed.
#include "fuzz_check.h"

#include "request.h"

#include <string_view>

using namespace weft;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view text(reinterpret_cast<const char *>(data), size);
  size_t nl = text.find('\n');
  HttpRequest http;
  http.method = "POST";
  http.target = std::string(text.substr(0, nl));
  if (nl != std::string_view::npos) http.body = std::string(text.substr(nl + 1));
  for (const std::string prefix : {"", "/weft"}) {
    auto r = parse_request(http, prefix);
    if (!r.ok()) {
      FUZZ_CHECK(r.error().code == kOutsidePrefix, "the only error is a target outside the url prefix");
      continue;
    }
    for (const auto &part : r->parts)
      FUZZ_CHECK(!part.empty() && part.find('/') == std::string::npos, "a path segment is empty or holds a '/'");
    (void)r->check_version();
    for (const auto &name : {"path", "method", "version", "xaTransactionID"})
      (void)r->param(name);
    if (r->body_error) (void)reply_error(*r->body_error);
  }
  return 0;
}
