#include "vote_state.h"

#include "../error.h"

namespace weft::refchain::bft {
namespace {
constexpr uint8_t kVoteStateVersion = 1;
constexpr size_t kMaxPayload = size_t{1} << 30;

void write_opt_hash(Writer &w, const std::optional<Hash> &h) {
  w.u8(h ? 1 : 0);
  if (h) w.raw(*h);
}

std::optional<Hash> read_opt_hash(Reader &r, const char *what) {
  uint8_t flag = r.u8(what);
  if (flag > 1) throw DecodeError(std::string("bad flag for ") + what);
  if (!flag) return std::nullopt;
  return r.fixed<32>(what);
}
} // namespace

Bytes VoteState::encode() const {
  Writer w;
  w.u8(kVoteStateVersion);
  w.u64(height);
  w.u32(round);
  write_opt_hash(w, prepare);
  write_opt_hash(w, commit);
  write_prepared(w, prepared);
  if (prepared) w.blob(prepared_payload);
  return w.take();
}

VoteState VoteState::decode(ByteView bytes) {
  Reader r(bytes);
  if (r.u8("vote state version") != kVoteStateVersion) throw DecodeError("unknown vote state version");
  VoteState s;
  s.height = r.u64("height");
  s.round = r.u32("round");
  s.prepare = read_opt_hash(r, "prepare vote");
  s.commit = read_opt_hash(r, "commit vote");
  s.prepared = read_prepared(r);
  if (s.prepared) s.prepared_payload = r.blob(kMaxPayload, "prepared payload");
  r.expect_end("vote state");
  return s;
}

} // namespace weft::refchain::bft
