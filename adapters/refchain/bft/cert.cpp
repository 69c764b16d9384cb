// Commit certificates: the seal digest, their encoding and their verification against the validator set alone.
#include "../error.h"
#include "engine.h"
#include "messages.h"

namespace weft::refchain::bft {
namespace {
constexpr size_t kSignatureBytes = 65;
constexpr size_t kSealBytes = 4 + kSignatureBytes;
} // namespace

Hash commit_digest(uint64_t chain_id, uint64_t height, uint32_t round, const Hash &block_hash) {
  Message m;
  m.type = MessageType::Commit;
  m.chain_id = chain_id;
  m.height = height;
  m.round = round;
  m.hash = block_hash;
  return m.digest();
}

size_t quorum(size_t n) {
  return n - (n == 0 ? 0 : (n - 1) / 3);
}

Bytes encode_cert(const CommitCert &cert) {
  Writer w;
  w.u32(cert.round);
  w.u32(static_cast<uint32_t>(cert.seals.size()));
  for (const auto &s : cert.seals) {
    w.u32(s.validator);
    w.raw(s.signature);
  }
  return w.take();
}

CommitCert decode_cert(ByteView bytes) {
  Reader r(bytes);
  CommitCert c;
  c.round = r.u32("certificate round");
  uint32_t n = r.u32("seal count");
  if (static_cast<uint64_t>(n) * kSealBytes > r.remaining()) throw DecodeError("truncated input: seals");
  c.seals.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    Seal s;
    s.validator = r.u32("seal validator");
    s.signature = r.fixed<kSignatureBytes>("seal signature");
    c.seals.push_back(s);
  }
  r.expect_end("commit certificate");
  return c;
}

bool verify_commit_cert(uint64_t chain_id, const std::vector<Address> &validators, uint64_t height,
                        const Hash &block_hash, const CommitCert &cert, std::string *why) {
  auto fail = [&](std::string reason) {
    if (why) *why = std::move(reason);
    return false;
  };
  size_t need = quorum(validators.size());
  if (cert.seals.size() < need)
    return fail("certificate has " + std::to_string(cert.seals.size()) + " seals, quorum is " + std::to_string(need));
  Hash digest = commit_digest(chain_id, height, cert.round, block_hash);
  std::vector<bool> seen(validators.size(), false);
  for (const auto &s : cert.seals) {
    if (s.validator >= validators.size()) return fail("seal names validator " + std::to_string(s.validator));
    if (seen[s.validator]) return fail("two seals of validator " + std::to_string(s.validator));
    seen[s.validator] = true;
    try {
      if (address_of(recover_signer(digest, s.signature)) != validators[s.validator])
        return fail("seal of validator " + std::to_string(s.validator) + " is not its signature");
    } catch (const Error &e) {
      return fail("seal of validator " + std::to_string(s.validator) + ": " + e.what());
    }
  }
  return true;
}

} // namespace weft::refchain::bft
