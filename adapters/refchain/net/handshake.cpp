#include "handshake.h"

#include "error.h"

#include <openssl/rand.h>

namespace weft::refchain::net {

Challenge random_challenge() {
  Challenge c{};
  if (RAND_bytes(c.data(), static_cast<int>(c.size())) != 1)
    throw Error(WEFT_E_INTERNAL, "OpenSSL RAND_bytes failed to make a handshake challenge");
  return c;
}

Hash handshake_digest(uint64_t chain_id, const Challenge &challenge, const Address &acceptor) {
  Writer w;
  w.raw(view("weft-peer"));
  w.u64(chain_id);
  w.raw(challenge);
  w.raw(acceptor);
  return sha256(w.bytes());
}

Bytes answer_challenge(uint64_t chain_id, ByteView challenge_frame, const Address &acceptor, uint32_t self,
                       const SecretKey &key) {
  if (challenge_frame.size() != kChallengeBytes)
    throw DecodeError("peer handshake: expected a " + std::to_string(kChallengeBytes) + "-byte challenge, got " +
                      std::to_string(challenge_frame.size()) + " bytes");
  Challenge c{};
  std::copy(challenge_frame.begin(), challenge_frame.end(), c.begin());
  Writer w;
  w.u32(self);
  w.raw(sign_digest(key, handshake_digest(chain_id, c, acceptor)));
  return w.take();
}

std::optional<uint32_t> check_hello(uint64_t chain_id, const Challenge &challenge, uint32_t self,
                                    const std::vector<Address> &validators, ByteView hello, std::string *why) {
  auto fail = [&](std::string m) -> std::optional<uint32_t> {
    if (why) *why = std::move(m);
    return std::nullopt;
  };
  if (hello.size() != kHelloBytes)
    return fail("answer of " + std::to_string(hello.size()) + " bytes, expected " + std::to_string(kHelloBytes));
  try {
    Reader r(hello);
    uint32_t index = r.u32("index");
    auto sig = r.fixed<65>("signature");
    if (index >= validators.size()) return fail("unknown validator index " + std::to_string(index));
    if (index == self) return fail("a peer claims our own index " + std::to_string(index));
    Address signer = address_of(recover_signer(handshake_digest(chain_id, challenge, validators[self]), sig));
    if (signer != validators[index])
      return fail("signed by " + address_text(signer) + ", not by validator " + std::to_string(index) + " (" +
                  address_text(validators[index]) + ")");
    return index;
  } catch (const std::exception &e) {
    return fail(std::string("bad signature: ") + e.what());
  }
}

} // namespace weft::refchain::net
