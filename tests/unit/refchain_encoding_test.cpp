// Canonical encodings of the reference chain: transactions, headers, receipts and state writes; malformed bytes
// (truncated, oversized, trailing garbage, unknown version) are refused with a clear error.
#include "block.h"
#include "error.h"
#include "receipt.h"
#include "refchain_test_support.h"
#include "state.h"
#include "transaction.h"

#include <doctest/doctest.h>

using namespace weft::refchain;

namespace {
Transaction sample_tx() {
  Transaction tx;
  tx.chain_id = 0x0102030405060708ull;
  for (size_t i = 0; i < tx.nonce.size(); ++i)
    tx.nonce[i] = static_cast<uint8_t>(0xa0 + i);
  tx.block_limit = 501;
  tx.resource = "store";
  tx.method = "set";
  tx.args = {"k", "", std::string("\0bin", 4)};
  for (size_t i = 0; i < tx.signature.size(); ++i)
    tx.signature[i] = static_cast<uint8_t>(i);
  return tx;
}

std::string decode_error(const Bytes &b) {
  try {
    Transaction::decode(b);
  } catch (const DecodeError &e) {
    return e.what();
  }
  return "";
}
} // namespace

TEST_CASE("a transaction's encoding follows the documented layout and round-trips") {
  Transaction tx = sample_tx();
  Bytes enc = tx.encode();
  // version, chain id big-endian, nonce, block limit, then the length-prefixed resource
  CHECK(enc[0] == 1);
  CHECK(enc[1] == 0x01);
  CHECK(enc[8] == 0x08);
  CHECK(enc[9] == 0xa0);
  CHECK(enc[1 + 8 + 16 + 7] == 0xf5);  // 501 = 0x01f5
  CHECK(enc[1 + 8 + 16 + 8 + 3] == 5); // resource length
  CHECK(enc.size() == tx.encode_unsigned().size() + 65);

  Transaction back = Transaction::decode(enc);
  CHECK(back.chain_id == tx.chain_id);
  CHECK(back.nonce == tx.nonce);
  CHECK(back.block_limit == tx.block_limit);
  CHECK(back.resource == tx.resource);
  CHECK(back.method == tx.method);
  CHECK(back.args == tx.args);
  CHECK(back.signature == tx.signature);
  CHECK(back.encode() == enc);
  CHECK(back.hash() == sha256(enc));
  CHECK(back.signing_digest() == sha256(tx.encode_unsigned()));
}

TEST_CASE("every truncation of a transaction is refused") {
  Bytes enc = sample_tx().encode();
  for (size_t n = 0; n < enc.size(); ++n) {
    Bytes cut(enc.begin(), enc.begin() + static_cast<long>(n));
    CHECK_MESSAGE(decode_error(cut).find("truncated") != std::string::npos, "prefix of " << n << " bytes");
  }
}

TEST_CASE("trailing garbage, unknown versions and oversized fields are refused") {
  Bytes enc = sample_tx().encode();
  Bytes longer = enc;
  longer.push_back(0);
  CHECK(decode_error(longer).find("trailing garbage") != std::string::npos);

  Bytes v2 = enc;
  v2[0] = 2;
  CHECK(decode_error(v2).find("unknown transaction version") != std::string::npos);

  // A resource length far beyond the input: refused before any allocation of that size.
  Bytes huge = enc;
  size_t len_at = 1 + 8 + 16 + 8;
  huge[len_at] = 0x7f;
  CHECK(decode_error(huge).find("oversized") != std::string::npos);
  huge[len_at] = 0;
  huge[len_at + 3] = 200; // within the name limit but past the end
  CHECK(decode_error(huge).find("truncated") != std::string::npos);

  // An argument count beyond the limit.
  Transaction many = sample_tx();
  Bytes m = many.encode();
  size_t count_at = 1 + 8 + 16 + 8 + 4 + 5 + 4 + 3;
  m[count_at] = 0xff;
  CHECK(decode_error(m).find("too many arguments") != std::string::npos);

  Bytes too_big(kMaxTxBytes + 1, 0);
  CHECK(decode_error(too_big).find("oversized transaction") != std::string::npos);
}

TEST_CASE("block headers and receipts round-trip; genesis depends on the chain id only") {
  BlockHeader h = genesis_header(7);
  h.number = 3;
  h.timestamp_ms = 12345;
  h.proposer[19] = 9;
  Bytes enc = h.encode();
  CHECK(enc.size() == kHeaderBytes);
  CHECK(BlockHeader::decode(enc).hash() == h.hash());
  enc.push_back(1);
  CHECK_THROWS_AS(BlockHeader::decode(enc), DecodeError);
  enc.resize(kHeaderBytes - 1);
  CHECK_THROWS_AS(BlockHeader::decode(enc), DecodeError);

  CHECK(genesis_header(7).hash() == genesis_header(7).hash());
  CHECK(genesis_header(7).hash() != genesis_header(8).hash());
  CHECK(genesis_header(7).state_hash != genesis_header(8).state_hash);

  Receipt r;
  r.tx_hash[0] = 1;
  r.block_number = 4;
  r.index = 2;
  r.status = 4;
  r.message = "insufficient balance";
  r.result = {"a", "b"};
  r.from[0] = 0xee;
  r.resource = "token";
  r.method = "transfer";
  r.args = {"0x00", "5"};
  Bytes re = r.encode();
  Receipt back = Receipt::decode(re);
  CHECK(back.encode() == re);
  CHECK(back.message == r.message);
  CHECK(back.result == r.result);
  re.pop_back();
  CHECK_THROWS_AS(Receipt::decode(re), DecodeError);
}

TEST_CASE("hex text is 0x-prefixed lowercase and parsing rejects junk") {
  Bytes b = {0x00, 0xab, 0xff};
  CHECK(to_hex(b) == "0x00abff");
  CHECK(from_hex("0x00ABff") == b);
  CHECK_THROWS_AS(from_hex("0x0"), DecodeError);
  CHECK_THROWS_AS(from_hex("0xzz"), DecodeError);
  CHECK_THROWS_AS(hash_from_hex("0x00"), DecodeError);
}

TEST_CASE("state writes without deletions encode and hash exactly as before deletions existed") {
  StateWrites w{{{"store", "a"}, "1"}, {{"token", "supply"}, "100"}};
  // u32 count | per write: resource str | key str | value str (str = u32 big-endian length + bytes)
  CHECK(to_hex(encode_writes(w)) ==
        "0x000000020000000573746f72650000000161000000013100000005746f6b656e00000006737570706c7900000003313030");
  // Computed by the encoding before deletions were added; a chain's existing state hashes stay valid.
  CHECK(to_hex(next_state_hash(Hash{}, w)) == "0x55b35bf2123f0dcccfe227c4ca0f9e958a882ea174540b7603d4b56e84d90fec");

  StateWrites deleted{{{"store", "a"}, std::nullopt}};
  CHECK(to_hex(encode_writes(deleted)) == "0x000000010000000573746f7265000000016"
                                          "1ffffffff");
  StateWrites empty_value{{{"store", "a"}, ""}};
  CHECK(next_state_hash(Hash{}, deleted) != next_state_hash(Hash{}, empty_value));
}

TEST_CASE("an overlay's deletions hide the base's value and its scans see pending writes") {
  StateOverlay base(
      [](const std::string &, const std::string &k) -> std::optional<std::string> {
        return k == "a" || k == "b" ? std::optional<std::string>("base-" + k) : std::nullopt;
      },
      [](const std::string &, const std::string &) {
        return StateEntries{{"a", "base-a"}, {"b", "base-b"}};
      });
  StateOverlay tx = StateOverlay::over(base);
  tx.erase("r", "a");
  tx.put("r", "c", "new");
  CHECK_FALSE(tx.get("r", "a").has_value());
  CHECK(tx.get("r", "b") == "base-b");
  CHECK(tx.scan("r", "") == StateEntries{{"b", "base-b"}, {"c", "new"}});
  tx.merge_into(base);
  CHECK_FALSE(base.get("r", "a").has_value());
}
