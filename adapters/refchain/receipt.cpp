#include "receipt.h"

#include "error.h"
#include "transaction.h"

namespace weft::refchain {

namespace {
void write_list(Writer &w, const std::vector<std::string> &list) {
  w.u32(static_cast<uint32_t>(list.size()));
  for (const auto &s : list)
    w.str(s);
}

std::vector<std::string> read_list(Reader &r, const char *what) {
  uint32_t n = r.u32(what);
  if (n > kMaxArgs) throw DecodeError(std::string("too many entries in ") + what);
  std::vector<std::string> out;
  out.reserve(n);
  for (uint32_t i = 0; i < n; ++i)
    out.push_back(r.str(kMaxTxBytes, what));
  return out;
}
} // namespace

Bytes Receipt::encode() const {
  Writer w;
  w.raw(tx_hash);
  w.u64(block_number);
  w.u32(index);
  w.u32(status);
  w.str(message);
  write_list(w, result);
  w.raw(from);
  w.str(resource);
  w.str(method);
  write_list(w, args);
  if (!events.empty()) {
    w.raw(kReceiptEventsMarker);
    w.u32(static_cast<uint32_t>(events.size()));
    for (const auto &e : events) {
      w.str(e.resource);
      w.str(e.name);
      w.str(e.data);
    }
  }
  return w.take();
}

Receipt Receipt::decode(ByteView bytes) {
  Reader r(bytes);
  Receipt x;
  x.tx_hash = r.fixed<32>("tx_hash");
  x.block_number = r.u64("block_number");
  x.index = r.u32("index");
  x.status = r.u32("status");
  x.message = r.str(kMaxTxBytes, "message");
  x.result = read_list(r, "result");
  x.from = r.fixed<20>("from");
  x.resource = r.str(kMaxNameBytes, "resource");
  x.method = r.str(kMaxNameBytes, "method");
  x.args = read_list(r, "args");
  if (r.remaining() > 0) {
    auto marker = r.fixed<4>("receipt events marker");
    if (marker != kReceiptEventsMarker) throw DecodeError("receipt: trailing bytes that are not an event section");
    uint32_t n = r.u32("receipt events");
    // An empty section would give a second encoding of the same receipt.
    if (n == 0 || n > kMaxArgs) throw DecodeError("receipt: bad event count " + std::to_string(n));
    for (uint32_t i = 0; i < n; ++i) {
      Event e;
      e.resource = r.str(kMaxNameBytes, "event resource");
      e.name = r.str(kMaxNameBytes, "event name");
      e.data = r.str(kMaxTxBytes, "event data");
      x.events.push_back(std::move(e));
    }
  }
  r.expect_end("receipt");
  return x;
}

} // namespace weft::refchain
