// The EVM core's codec compared byte for byte with ethers 6.13.4, an independent implementation: ABI encodings and
// decodings of every common type, selectors and topics from an ABI JSON, calls, event logs, revert data, EIP-55,
// CREATE addresses, and EIP-155 / EIP-1559 transactions signed with libsecp256k1 (RFC 6979, so the signatures must
// match ethers' too). tests/evm/ethers_compare.sh runs tests/evm/ethers_vectors.js first and names its output in
// WEFT_ETHERS_VECTORS; without it this test fails rather than skips.
#include <doctest/doctest.h>

#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "abi.h"
#include "hex.h"
#include "tx.h"
#include "u256.h"

namespace json = boost::json;
using namespace weft::evm;
using namespace weft::evm::abi;

namespace {

const json::object &vectors() {
  static const json::value doc = [] {
    const char *path = std::getenv("WEFT_ETHERS_VECTORS");
    REQUIRE_MESSAGE(path != nullptr, "WEFT_ETHERS_VECTORS is not set: run this through tests/evm/ethers_compare.sh");
    std::ifstream in(path);
    REQUIRE_MESSAGE(in.good(), "cannot read " << path);
    std::stringstream text;
    text << in.rdbuf();
    return json::parse(text.str());
  }();
  return doc.as_object();
}

const json::array &section(std::string_view name) {
  const auto &a = vectors().at(name).as_array();
  REQUIRE_MESSAGE(!a.empty(), "ethers wrote no " << name);
  return a;
}

std::string str(const json::value &v) {
  return std::string(v.as_string());
}

std::vector<std::string> strings(const json::value &v) {
  std::vector<std::string> out;
  for (const auto &s : v.as_array())
    out.push_back(str(s));
  return out;
}

Bytes unhex(const json::value &v) {
  return from_hex(str(v)).value();
}

std::vector<Param> params_of(const std::vector<std::string> &types) {
  std::vector<Param> out;
  for (const auto &t : types) {
    auto type = parse_type(t);
    REQUIRE_MESSAGE(type.ok(), t << ": " << type.error().message);
    out.push_back(Param{"", *type, false});
  }
  return out;
}

ContractAbi contract_abi() {
  auto path = std::getenv("WEFT_ETHERS_CASES");
  REQUIRE_MESSAGE(path != nullptr, "WEFT_ETHERS_CASES is not set: run this through tests/evm/ethers_compare.sh");
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  auto cases = json::parse(text.str());
  auto abi = parse_abi_json(json::serialize(cases.as_object().at("contract_abi")));
  REQUIRE_MESSAGE(abi.ok(), abi.error().message);
  return *abi;
}

U256 u256(const json::value &v) {
  return U256::from_decimal(str(v)).value();
}
std::uint64_t u64(const json::value &v) {
  auto n = U256::from_decimal(v.is_string() ? str(v) : std::to_string(v.to_number<std::uint64_t>())).value();
  REQUIRE(n.fits_u64());
  return n.low_u64();
}
std::optional<Address> to_of(const json::value &v) {
  if (v.is_null()) return std::nullopt;
  return parse_address(str(v)).value();
}

struct Signer {
  secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_SIGN | SECP256K1_CONTEXT_VERIFY);
  ~Signer() { secp256k1_context_destroy(ctx); }

  // r || s || recid over the hash, deterministic (RFC 6979, libsecp256k1's default nonce) and low-S.
  std::array<std::uint8_t, 65> sign(const Hash256 &hash, const Bytes &key) const {
    secp256k1_ecdsa_recoverable_signature sig;
    REQUIRE(secp256k1_ecdsa_sign_recoverable(ctx, &sig, hash.data(), key.data(), nullptr, nullptr) == 1);
    std::array<std::uint8_t, 65> out{};
    int recid = 0;
    secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx, out.data(), &recid, &sig);
    out[64] = static_cast<std::uint8_t>(recid);
    return out;
  }

  std::array<std::uint8_t, 65> public_key(const Bytes &key) const {
    secp256k1_pubkey pub;
    REQUIRE(secp256k1_ec_pubkey_create(ctx, &pub, key.data()) == 1);
    std::array<std::uint8_t, 65> out{};
    std::size_t len = out.size();
    secp256k1_ec_pubkey_serialize(ctx, out.data(), &len, &pub, SECP256K1_EC_UNCOMPRESSED);
    return out;
  }
};

Bytes key_of(const json::object &c) {
  std::size_t index = c.contains("key") ? static_cast<std::size_t>(c.at("key").to_number<int>()) : 0;
  return unhex(section("keys").at(index).as_object().at("private_key"));
}

template <class Tx> void check_signed(const Tx &tx, const json::object &c) {
  static const Signer signer;
  CHECK(to_hex(signing_hash(tx)) == str(c.at("signing_hash")));
  auto sig = signer.sign(signing_hash(tx), key_of(c));
  Bytes raw = encode_signed(tx, sig);
  CHECK(to_hex(raw) == str(c.at("raw")));
  CHECK(to_hex(tx_hash(raw)) == str(c.at("hash")));
}

} // namespace

TEST_CASE("ABI encodings and decodings of every common type match ethers byte for byte") {
  for (const auto &v : section("abi_cases")) {
    const auto &c = v.as_object();
    auto types = strings(c.at("types"));
    auto args = strings(c.at("args"));
    std::string label = json::serialize(c.at("types")) + " " + json::serialize(c.at("args"));
    CAPTURE(label);
    auto params = params_of(types);
    auto encoded = encode_args(params, args);
    REQUIRE_MESSAGE(encoded.ok(), encoded.error().message);
    CHECK(to_hex(*encoded) == str(c.at("encoded")));
    auto decoded = decode_values(params, unhex(c.at("encoded")));
    REQUIRE_MESSAGE(decoded.ok(), decoded.error().message);
    CHECK(*decoded == strings(c.at("decoded")));
    // What the decoder gives is accepted back as arguments, and encodes to the same bytes.
    auto again = encode_args(params, *decoded);
    REQUIRE_MESSAGE(again.ok(), again.error().message);
    CHECK(to_hex(*again) == str(c.at("encoded")));
  }
}

TEST_CASE("Selectors, event topics and error selectors from an ABI JSON match ethers") {
  auto abi = contract_abi();
  CHECK(abi.functions.size() == section("functions").size());
  for (const auto &v : section("functions")) {
    std::string signature = str(v.at("signature"));
    auto f = abi.find(signature, 0);
    REQUIRE_MESSAGE(f.ok(), signature << ": " << f.error().message);
    CHECK((*f)->signature() == signature);
    CHECK(to_hex((*f)->selector) == str(v.at("selector")));
  }
  CHECK(abi.events.size() == section("events").size());
  for (const auto &v : section("events")) {
    auto topic = from_hex(str(v.at("topic"))).value();
    Hash256 t;
    std::copy(topic.begin(), topic.end(), t.begin());
    const Event *e = abi.event_by_topic(t);
    REQUIRE_MESSAGE(e != nullptr, str(v.at("signature")));
    CHECK(e->signature() == str(v.at("signature")));
  }
  CHECK(abi.errors.size() == section("errors").size());
  for (const auto &v : section("errors")) {
    auto sel = from_hex(str(v.at("selector"))).value();
    const CustomError *e = abi.error_by_selector(std::span<const std::uint8_t, 4>(sel.data(), 4));
    REQUIRE_MESSAGE(e != nullptr, str(v.at("signature")));
    CHECK(e->signature() == str(v.at("signature")));
  }
}

TEST_CASE("Calls (selector and arguments) match ethers' encodeFunctionData") {
  auto abi = contract_abi();
  for (const auto &v : section("calls")) {
    const auto &c = v.as_object();
    auto args = strings(c.at("args"));
    CAPTURE(str(c.at("method")));
    auto f = abi.find(str(c.at("method")), args.size());
    REQUIRE_MESSAGE(f.ok(), f.error().message);
    auto data = encode_call(**f, args);
    REQUIRE_MESSAGE(data.ok(), data.error().message);
    CHECK(to_hex(*data) == str(c.at("data")));
  }
}

TEST_CASE("Event logs decode as ethers decodes them, indexed dynamic values as their topic hash") {
  auto abi = contract_abi();
  for (const auto &v : section("logs")) {
    const auto &c = v.as_object();
    std::vector<Hash256> topics;
    for (const auto &t : c.at("topics").as_array()) {
      auto b = unhex(t);
      REQUIRE(b.size() == 32);
      topics.emplace_back();
      std::copy(b.begin(), b.end(), topics.back().begin());
    }
    auto log = decode_log(abi, topics, unhex(c.at("data")));
    REQUIRE_MESSAGE(log.ok(), log.error().message);
    CHECK(log->event == str(c.at("event")));
    const auto &fields = c.at("fields").as_array();
    REQUIRE(log->fields.size() == fields.size());
    for (std::size_t i = 0; i < fields.size(); ++i) {
      CHECK(log->fields[i].first == str(fields[i].as_array().at(0)));
      CHECK(log->fields[i].second == str(fields[i].as_array().at(1)));
    }
  }
}

TEST_CASE("Revert data encoded by ethers decodes to its message") {
  auto abi = contract_abi();
  for (const auto &v : section("reverts")) {
    auto message = decode_revert(unhex(v.at("data")), &abi);
    REQUIRE(message.has_value());
    CHECK(*message == str(v.at("message")));
  }
}

TEST_CASE("EIP-55 checksums, CREATE addresses and key addresses match ethers") {
  for (const auto &v : section("checksums")) {
    auto a = parse_address(str(v.at("input")));
    REQUIRE(a.ok());
    CHECK(checksum_address(*a) == str(v.at("checksummed")));
    CHECK(parse_address(str(v.at("checksummed"))).ok());
  }
  for (const auto &v : section("creates")) {
    auto sender = parse_address(str(v.at("sender"))).value();
    CHECK(checksum_address(contract_address(sender, u64(v.at("nonce")))) == str(v.at("address")));
  }
  Signer signer;
  for (const auto &v : section("keys")) {
    auto pub = signer.public_key(unhex(v.at("private_key")));
    CHECK(to_hex(pub) == str(v.at("public_key")));
    CHECK(lower_address(address_of(std::span<const std::uint8_t, 64>(pub.data() + 1, 64))) == str(v.at("address")));
  }
}

TEST_CASE("EIP-155 legacy transactions: signing hash, signed bytes and hash match ethers") {
  for (const auto &v : section("legacy")) {
    const auto &c = v.as_object();
    CAPTURE(json::serialize(c));
    LegacyTx tx{u64(c.at("nonce")),  u256(c.at("gas_price")), u64(c.at("gas")),     to_of(c.at("to")),
                u256(c.at("value")), unhex(c.at("data")),     u64(c.at("chain_id"))};
    check_signed(tx, c);
  }
}

TEST_CASE("EIP-1559 transactions: signing hash, signed bytes and hash match ethers") {
  for (const auto &v : section("eip1559")) {
    const auto &c = v.as_object();
    CAPTURE(json::serialize(c));
    Eip1559Tx tx{u64(c.at("chain_id")), u64(c.at("nonce")), u256(c.at("max_priority_fee")),
                 u256(c.at("max_fee")), u64(c.at("gas")),   to_of(c.at("to")),
                 u256(c.at("value")),   unhex(c.at("data"))};
    check_signed(tx, c);
  }
}
