// The validator mesh's handshake: a dialer's answer comes from an unauthenticated socket, and a challenge from the
// node it dials. check_hello must refuse any answer without throwing; a challenge answered by a validator's key must
// be accepted as that validator.
#include "fuzz_check.h"

#include "error.h"
#include "handshake.h"

using namespace weft::refchain;

namespace {
constexpr uint64_t kChainId = 7;

struct Validators {
  std::vector<SecretKey> keys;
  std::vector<Address> addresses;
  Validators() {
    for (uint8_t i = 1; i <= 4; ++i) {
      SecretKey k{};
      k[31] = i;
      keys.push_back(k);
      addresses.push_back(address_of(public_key_of(k)));
    }
  }
};
const Validators &validators() {
  static const Validators v;
  return v;
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const auto &v = validators();
  net::Challenge challenge{};
  for (size_t i = 0; i < challenge.size() && i < size; ++i)
    challenge[i] = data[i];
  uint32_t self = size > 0 ? data[0] % 4 : 0;

  std::string why;
  auto index = net::check_hello(kChainId, challenge, self, v.addresses, ByteView(data, size), &why);
  FUZZ_CHECK(index || !why.empty(), "a refused answer carries no reason");

  if (size >= net::kChallengeBytes) {
    uint32_t dialer = (self + 1 + (size > 1 ? data[1] % 3 : 0)) % 4;
    ByteView frame(data, net::kChallengeBytes);
    Bytes hello = net::answer_challenge(kChainId, frame, v.addresses[self], dialer, v.keys[dialer]);
    auto accepted = net::check_hello(kChainId, challenge, self, v.addresses, hello, &why);
    FUZZ_CHECK(accepted && *accepted == dialer, "a validator's own answer is refused");
  }
  try {
    (void)net::answer_challenge(kChainId, ByteView(data, size), v.addresses[0], 1, v.keys[1]);
  } catch (const DecodeError &) {
  }
  return 0;
}
