// The EVM core's Keccak-256 and RLP, pinned by published vectors, and RLP decoding of hostile bytes.
#include <doctest/doctest.h>

#include <string>

#include "keccak.h"
#include "rlp.h"

using namespace weft::evm;

namespace {
std::string hex(std::span<const std::uint8_t> b) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (auto c : b) s += {kHex[c >> 4], kHex[c & 15]};
  return s;
}
rlp::Bytes unhex(std::string_view h) {
  rlp::Bytes out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) out.push_back(static_cast<uint8_t>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  return out;
}
} // namespace

TEST_CASE("Keccak-256 matches the published vectors (Keccak padding, not SHA3-256's)") {
  CHECK(hex(keccak256("")) == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
  CHECK(hex(keccak256("abc")) == "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
  // The ERC-20 transfer selector is the first 4 bytes of keccak256 of its signature.
  CHECK(hex(keccak256("transfer(address,uint256)")).substr(0, 8) == "a9059cbb");
  // Inputs around the 136-byte rate, where padding falls into a block of its own.
  CHECK(hex(keccak256(std::string(135, 'a'))) != hex(keccak256(std::string(136, 'a'))));
  CHECK(hex(keccak256(std::string(200, 'a'))).size() == 64);
}

TEST_CASE("RLP encodes the published examples") {
  CHECK(hex(rlp::encode_string("dog")) == "83646f67");
  CHECK(hex(rlp::encode_list({rlp::encode_string("cat"), rlp::encode_string("dog")})) == "c88363617483646f67");
  CHECK(hex(rlp::encode_string("")) == "80");
  CHECK(hex(rlp::encode_list({})) == "c0");
  CHECK(hex(rlp::encode_uint(0)) == "80");
  CHECK(hex(rlp::encode_uint(15)) == "0f");
  CHECK(hex(rlp::encode_uint(1024)) == "820400");
  // The set-theoretic representation of three: [ [], [[]], [ [], [[]] ] ].
  auto empty = rlp::encode_list({});
  auto one = rlp::encode_list({empty});
  CHECK(hex(rlp::encode_list({empty, one, rlp::encode_list({empty, one})})) == "c7c0c1c0c3c0c1c0");
  std::string lorem = "Lorem ipsum dolor sit amet, consectetur adipisicing elit";
  CHECK(hex(rlp::encode_string(lorem)).substr(0, 4) == "b838");
}

TEST_CASE("RLP decodes what it encodes and refuses hostile or non-canonical bytes") {
  auto enc = rlp::encode_list({rlp::encode_string("cat"), rlp::encode_list({rlp::encode_uint(1024)})});
  auto item = rlp::decode(enc);
  REQUIRE(item.ok());
  REQUIRE(item->is_list);
  REQUIRE(item->items.size() == 2);
  CHECK(std::string(item->items[0].bytes.begin(), item->items[0].bytes.end()) == "cat");
  CHECK(hex(item->items[1].items[0].bytes) == "0400");
  for (const char *bad : {"", "83646f", "c883636174", "8100", "b80100", "b90000ff", "83646f6700", "f9000100"}) {
    CAPTURE(bad);
    CHECK_FALSE(rlp::decode(unhex(bad)).ok());
  }
  rlp::Bytes deep = rlp::encode_list({});
  for (int i = 0; i < 100; ++i) deep = rlp::encode_list({deep}); // 100 nested one-item lists, well formed
  auto refused = rlp::decode(deep);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message.find("nested deeper") != std::string::npos);
}
