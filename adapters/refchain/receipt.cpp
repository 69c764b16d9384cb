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
  r.expect_end("receipt");
  return x;
}

} // namespace weft::refchain
