#include "messages.h"

#include "../error.h"
#include "engine.h"

namespace weft::refchain::bft {
namespace {

constexpr std::string_view kDomain = "weft-refchain-bft-v1";
constexpr size_t kSignatureBytes = 65;

void write_header(Writer &w, MessageType type, uint64_t chain_id, uint64_t height, uint32_t round) {
  w.u8(static_cast<uint8_t>(type));
  w.u64(chain_id);
  w.u64(height);
  w.u32(round);
}

// A count read from hostile bytes may not promise more items than the remaining bytes can hold.
uint32_t bounded_count(Reader &r, size_t min_item_bytes, const char *what) {
  uint32_t n = r.u32(what);
  if (static_cast<uint64_t>(n) * min_item_bytes > r.remaining())
    throw DecodeError(std::string("truncated input: ") + what + " claims " + std::to_string(n) + " items");
  return n;
}

} // namespace

Hash bft_digest(ByteView signed_part) {
  Sha256 h;
  h.update(view(kDomain));
  h.update(signed_part);
  return h.finish();
}

Hash prepare_digest(uint64_t chain_id, uint64_t height, uint32_t round, const Hash &hash) {
  Writer w;
  write_header(w, MessageType::Prepare, chain_id, height, round);
  w.raw(hash);
  return bft_digest(w.bytes());
}

Bytes Message::encode_signed_part() const {
  Writer w;
  write_header(w, type, chain_id, height, round);
  switch (type) {
  case MessageType::Proposal:
    w.raw(hash);
    w.blob(payload);
    w.u32(static_cast<uint32_t>(justification.size()));
    for (const auto &j : justification)
      w.blob(j);
    break;
  case MessageType::Prepare:
  case MessageType::Commit:
    w.raw(hash);
    break;
  case MessageType::RoundChange:
    write_prepared(w, prepared);
    break;
  case MessageType::Status:
  case MessageType::SyncRequest:
    break;
  case MessageType::SyncResponse:
    w.u32(static_cast<uint32_t>(blocks.size()));
    for (const auto &b : blocks) {
      w.blob(b.payload);
      w.blob(encode_cert(b.cert));
    }
    break;
  }
  return w.take();
}

Hash Message::digest() const {
  return bft_digest(encode_signed_part());
}

Bytes Message::encode(bool with_attachment) const {
  Writer w;
  w.raw(encode_signed_part());
  w.raw(signature);
  if (type == MessageType::RoundChange) w.blob(with_attachment ? ByteView(payload) : ByteView());
  return w.take();
}

Message Message::decode(ByteView bytes, size_t max_bytes) {
  if (bytes.size() > max_bytes)
    throw DecodeError("message of " + std::to_string(bytes.size()) + " bytes exceeds the limit of " +
                      std::to_string(max_bytes));
  Reader r(bytes);
  Message m;
  uint8_t type = r.u8("type");
  if (type < 1 || type > 7) throw DecodeError("unknown message type " + std::to_string(type));
  m.type = static_cast<MessageType>(type);
  m.chain_id = r.u64("chain_id");
  m.height = r.u64("height");
  m.round = r.u32("round");
  switch (m.type) {
  case MessageType::Proposal: {
    m.hash = r.fixed<32>("block hash");
    m.payload = r.blob(max_bytes, "payload");
    uint32_t n = bounded_count(r, 4, "justification");
    for (uint32_t i = 0; i < n; ++i)
      m.justification.push_back(r.blob(max_bytes, "justification entry"));
    break;
  }
  case MessageType::Prepare:
  case MessageType::Commit:
    m.hash = r.fixed<32>("block hash");
    break;
  case MessageType::RoundChange:
    m.prepared = read_prepared(r);
    break;
  case MessageType::Status:
  case MessageType::SyncRequest:
    break;
  case MessageType::SyncResponse: {
    uint32_t n = bounded_count(r, 4 + 4, "sync blocks");
    for (uint32_t i = 0; i < n; ++i) {
      SyncBlock b;
      b.payload = r.blob(max_bytes, "block payload");
      b.cert = decode_cert(r.blob(max_bytes, "commit certificate"));
      m.blocks.push_back(std::move(b));
    }
    break;
  }
  }
  m.signature = r.fixed<kSignatureBytes>("signature");
  if (m.type == MessageType::RoundChange) m.payload = r.blob(max_bytes, "prepared payload");
  r.expect_end("message");
  return m;
}

void sign_message(Message &m, Signer &signer) {
  m.signature = signer.sign(m.digest());
}

void write_prepared(Writer &w, const std::optional<PreparedCert> &prepared) {
  w.u8(prepared ? 1 : 0);
  if (!prepared) return;
  w.u32(prepared->round);
  w.raw(prepared->hash);
  w.u32(static_cast<uint32_t>(prepared->prepares.size()));
  for (const auto &s : prepared->prepares)
    w.raw(s);
}

std::optional<PreparedCert> read_prepared(Reader &r) {
  uint8_t has = r.u8("prepared flag");
  if (has > 1) throw DecodeError("prepared flag must be 0 or 1");
  if (!has) return std::nullopt;
  PreparedCert c;
  c.round = r.u32("prepared round");
  c.hash = r.fixed<32>("prepared hash");
  uint32_t n = bounded_count(r, kSignatureBytes, "prepared certificate");
  for (uint32_t i = 0; i < n; ++i)
    c.prepares.push_back(r.fixed<kSignatureBytes>("prepare signature"));
  return c;
}

} // namespace weft::refchain::bft
