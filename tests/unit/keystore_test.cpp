// Pins the keystore's promises: private key files created once and reused, signatures that recover to the account's
// key and are low-S, and clear refusals for unknown accounts and unsafe or broken key files.
#include "keystore.h"

#include "accounts/chain_keys.h"

#include <doctest/doctest.h>

#include "test_support.h"

#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

using namespace weft;
namespace fs = std::filesystem;

namespace {

struct TempDir : test::TempDir {
  TempDir() : test::TempDir("weft-keystore") {}
};

AccountConfig account(const std::string &name, const fs::path &key_file = {}) {
  AccountConfig a;
  a.name = name;
  a.key_file = key_file;
  return a;
}

unsigned mode_of(const fs::path &p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

void write_file(const fs::path &p, const std::string &text, unsigned mode) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
  REQUIRE(::chmod(p.c_str(), mode) == 0);
}

std::unique_ptr<Keystore> open_ok(const fs::path &dir, const std::vector<AccountConfig> &accounts) {
  auto ks = Keystore::open(dir, accounts);
  REQUIRE_MESSAGE(ks.ok(), (ks.ok() ? "" : ks.error().message));
  return std::move(ks).value();
}

std::string open_error(const fs::path &dir, const std::vector<AccountConfig> &accounts) {
  auto ks = Keystore::open(dir, accounts);
  REQUIRE_FALSE(ks.ok());
  return ks.error().message;
}

std::array<std::uint8_t, 32> digest_of(int i) {
  std::array<std::uint8_t, 32> d{};
  for (std::size_t j = 0; j < d.size(); ++j)
    d[j] = static_cast<std::uint8_t>(i * 31 + j * 7 + 1);
  return d;
}

// Half the secp256k1 group order, big-endian: a low-S signature has s <= this.
constexpr std::array<std::uint8_t, 32> kHalfOrder = {0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                                     0xff, 0xff, 0xff, 0xff, 0xff, 0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4,
                                                     0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0};

} // namespace

TEST_CASE("a missing key file is created private and reused on reopen") {
  TempDir tmp;
  fs::path data = tmp.path / "data";
  auto first = open_ok(data, {account("alice")});
  fs::path key = data / "keys" / "alice.key";
  REQUIRE(fs::exists(key));
  CHECK(mode_of(key) == 0600);
  CHECK(mode_of(data / "keys") == 0700);
  CHECK(mode_of(data) == 0700);
  CHECK(fs::file_size(key) == 65);
  auto pub1 = first->public_key("alice", "secp256k1");
  REQUIRE(pub1.ok());
  CHECK(pub1->size() == 64);
  first.reset();

  auto second = open_ok(data, {account("alice")});
  auto pub2 = second->public_key("alice", "secp256k1");
  REQUIRE(pub2.ok());
  CHECK(*pub1 == *pub2);
  // Leaves no temporary files behind.
  CHECK(std::distance(fs::directory_iterator(data / "keys"), fs::directory_iterator()) == 1);
}

TEST_CASE("a known secret gives the known public key; an explicit key_file is used") {
  TempDir tmp;
  // Secret 1: the public key is the generator point G.
  fs::path key = tmp.path / "elsewhere" / "one.key";
  write_file(key, std::string(63, '0') + "1\n", 0600);
  auto ks = open_ok(tmp.path / "data", {account("one", key)});
  auto pub = ks->public_key("one", "secp256k1");
  REQUIRE(pub.ok());
  const std::array<std::uint8_t, 64> g = {0x79, 0xbe, 0x66, 0x7e, 0xf9, 0xdc, 0xbb, 0xac, 0x55, 0xa0, 0x62, 0x95, 0xce,
                                          0x87, 0x0b, 0x07, 0x02, 0x9b, 0xfc, 0xdb, 0x2d, 0xce, 0x28, 0xd9, 0x59, 0xf2,
                                          0x81, 0x5b, 0x16, 0xf8, 0x17, 0x98, 0x48, 0x3a, 0xda, 0x77, 0x26, 0xa3, 0xc4,
                                          0x65, 0x5d, 0xa4, 0xfb, 0xfc, 0x0e, 0x11, 0x08, 0xa8, 0xfd, 0x17, 0xb4, 0x48,
                                          0xa6, 0x85, 0x54, 0x19, 0x9c, 0x47, 0xd0, 0x8f, 0xfb, 0x10, 0xd4, 0xb8};
  CHECK(std::equal(pub->begin(), pub->end(), g.begin(), g.end()));
  CHECK_FALSE(fs::exists(tmp.path / "data" / "keys"));
}

TEST_CASE("signatures recover to the account's public key, verify, and are low-S") {
  TempDir tmp;
  auto ks = open_ok(tmp.path, {account("alice"), account("bob")});
  secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
  for (int i = 0; i < 32; ++i) {
    auto digest = digest_of(i);
    auto s = ks->sign(i % 2 ? "bob" : "alice", "secp256k1", digest);
    REQUIRE(s.ok());
    int recid = s->signature[64];
    REQUIRE(recid >= 0);
    REQUIRE(recid <= 3);

    secp256k1_ecdsa_recoverable_signature rsig;
    REQUIRE(secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &rsig, s->signature.data(), recid));
    secp256k1_pubkey recovered;
    REQUIRE(secp256k1_ecdsa_recover(ctx, &recovered, &rsig, digest.data()));
    std::array<std::uint8_t, 65> ser{};
    std::size_t len = ser.size();
    secp256k1_ec_pubkey_serialize(ctx, ser.data(), &len, &recovered, SECP256K1_EC_UNCOMPRESSED);
    CHECK(ser[0] == 0x04);
    CHECK(std::equal(ser.begin() + 1, ser.end(), s->public_key.begin(), s->public_key.end()));
    auto pub = ks->public_key(i % 2 ? "bob" : "alice", "secp256k1");
    CHECK(std::equal(pub->begin(), pub->end(), s->public_key.begin(), s->public_key.end()));

    secp256k1_ecdsa_signature sig;
    secp256k1_ecdsa_recoverable_signature_convert(ctx, &sig, &rsig);
    CHECK(secp256k1_ecdsa_verify(ctx, &sig, digest.data(), &recovered) == 1);
    // normalize returns 1 only when it had to lower S.
    CHECK(secp256k1_ecdsa_signature_normalize(ctx, nullptr, &sig) == 0);
    CHECK(std::lexicographical_compare(s->signature.begin() + 32, s->signature.begin() + 64, kHalfOrder.begin(),
                                       kHalfOrder.end()));
  }
  secp256k1_context_destroy(ctx);
}

TEST_CASE("signing from several threads at once gives the same deterministic signatures") {
  TempDir tmp;
  auto ks = open_ok(tmp.path, {account("alice")});
  auto digest = digest_of(5);
  auto expected = ks->sign("alice", "secp256k1", digest);
  REQUIRE(expected.ok());
  std::vector<std::thread> threads;
  std::array<int, 4> mismatches{};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i)
        if (ks->sign("alice", "secp256k1", digest)->signature != expected->signature) ++mismatches[t];
    });
  for (auto &t : threads)
    t.join();
  CHECK(mismatches == std::array<int, 4>{});
}

TEST_CASE("unknown accounts, other algorithms and bad digests are refused") {
  TempDir tmp;
  auto ks = open_ok(tmp.path, {account("alice"), account("carol")});
  auto digest = digest_of(1);
  auto r = ks->sign("bob", "secp256k1", digest);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == code::kAccountNotFound);
  CHECK(r.error().message == "account 'bob' not found; configured accounts: alice, carol");
  CHECK(ks->public_key("bob", "secp256k1").error().code == code::kAccountNotFound);

  auto sm2 = ks->sign("alice", "sm2", digest);
  REQUIRE_FALSE(sm2.ok());
  CHECK(sm2.error().code == code::kChainAccount);
  CHECK(sm2.error().message == "account 'alice' holds a secp256k1 key; cannot use it as 'sm2'");

  std::array<std::uint8_t, 31> short_digest{};
  auto bad = ks->sign("alice", "secp256k1", short_digest);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find("32 bytes, got 31") != std::string::npos);

  auto empty = open_ok(tmp.path, {});
  CHECK(empty->sign("alice", "secp256k1", digest).error().message.find("no accounts are configured") !=
        std::string::npos);

  AccountConfig a = account("dave");
  a.algorithm = "p256";
  auto ks2 = Keystore::open(tmp.path, {a});
  REQUIRE_FALSE(ks2.ok());
  CHECK(ks2.error().code == code::kChainAccount);
  CHECK(ks2.error().message.find("use secp256k1 or sm2") != std::string::npos);
}

namespace {
AccountConfig sm2_account(const std::string &name, const fs::path &key_file = {}) {
  AccountConfig a = account(name, key_file);
  a.algorithm = "sm2";
  return a;
}
std::vector<std::uint8_t> unhex(std::string_view h) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i + 1 < h.size(); i += 2) out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  return out;
}
} // namespace

TEST_CASE("an sm2 account: FISCO BCOS's published key gives its public key") {
  // FISCO-BCOS/go-sdk, branch master-FISCO-BCOS-v2, smcrypto/sm_crypto_test.go: sm2Hex and sm2pubHex.
  TempDir tmp;
  fs::path key = tmp.path / "keys" / "gm.key";
  write_file(key, "f82aeb0b2ae031bf35f68b5f0407f936a1d8ca26f4dfd8afaeedb47dc3675754\n", 0600);
  auto ks = open_ok(tmp.path, {sm2_account("gm", key), account("alice")});
  auto pub = ks->public_key("gm", "sm2");
  REQUIRE(pub.ok());
  CHECK(*pub == unhex("a893d2cdb81255adf068b1b5df3e41b982f64a653153e6cfd6fc15b92fbca83c05b091f120396899d78aad4c54bfe7"
                      "addbf64b3cfc768dc451acaf930128867f"));
  // The account is sm2 only; the secp256k1 account beside it is unchanged.
  CHECK(ks->public_key("gm", "secp256k1").error().code == code::kChainAccount);
  CHECK(ks->public_key("alice", "secp256k1").ok());
  CHECK(ks->list()[0].algorithm == "sm2");
}

TEST_CASE("sm2 signatures verify against the account's key and are randomized") {
  TempDir tmp;
  auto ks = open_ok(tmp.path, {sm2_account("gm")});
  fs::path key = tmp.path / "keys" / "gm.key";
  REQUIRE(fs::exists(key));
  CHECK(mode_of(key) == 0600);
  auto pub = ks->public_key("gm", "sm2");
  REQUIRE(pub.ok());
  const auto digest = digest_of(3);
  auto a = ks->sign("gm", "sm2", digest);
  auto b = ks->sign("gm", "sm2", digest);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->signature.size() == 64);
  CHECK(a->signature != b->signature); // SM2's k is random: verify, never compare
  CHECK(std::equal(a->public_key.begin(), a->public_key.end(), pub->begin(), pub->end()));
  std::array<std::uint8_t, 64> p{};
  std::copy(pub->begin(), pub->end(), p.begin());
  for (const auto *s : {&*a, &*b}) {
    auto ok = accounts::verify(accounts::KeyAlgorithm::Sm2, p, digest, s->signature);
    REQUIRE(ok.ok());
    CHECK(*ok);
  }
  auto other = digest_of(4);
  CHECK_FALSE(*accounts::verify(accounts::KeyAlgorithm::Sm2, p, other, a->signature));
  CHECK(ks->sign("gm", "secp256k1", digest).error().code == code::kChainAccount);

  // Reopened, the same key; a key file that is not an SM2 scalar is refused by name.
  auto again = open_ok(tmp.path, {sm2_account("gm")});
  CHECK(*again->public_key("gm", "sm2") == *pub);
  write_file(key, std::string(64, 'f') + "\n", 0600);
  CHECK(open_error(tmp.path, {sm2_account("gm")}).find("does not hold a valid sm2 secret key") != std::string::npos);
}

TEST_CASE("list() gives every account in configuration order with its public key") {
  TempDir tmp;
  auto ks = open_ok(tmp.path, {account("zed"), account("alice")});
  auto all = ks->list();
  REQUIRE(all.size() == 2);
  CHECK(all[0].name == "zed");
  CHECK(all[1].name == "alice");
  CHECK(all[0].algorithm == "secp256k1");
  CHECK(all[0].public_key == *ks->public_key("zed", "secp256k1"));
  CHECK(all[0].public_key != all[1].public_key);
}

TEST_CASE("a key file that group or others can read is refused") {
  TempDir tmp;
  fs::path key = tmp.path / "keys" / "alice.key";
  for (unsigned mode : {0644u, 0640u, 0604u, 0660u}) {
    CAPTURE(mode);
    write_file(key, std::string(63, '0') + "1\n", mode);
    std::string msg = open_error(tmp.path, {account("alice")});
    CHECK(msg.find("group or others can read it") != std::string::npos);
    CHECK(msg.find("chmod 600 " + key.string()) != std::string::npos);
  }
  REQUIRE(::chmod(key.c_str(), 0400) == 0); // read-only for the owner is fine
  open_ok(tmp.path, {account("alice")});
}

TEST_CASE("a malformed key file is refused without echoing its content") {
  TempDir tmp;
  fs::path key = tmp.path / "keys" / "alice.key";
  const std::string valid = "8a3f" + std::string(60, 'c');
  for (const std::string &text : {std::string(), valid.substr(0, 63) + "\n", valid + "\n\n", valid + "\nmore\n",
                                  valid.substr(0, 62) + "zz\n", " " + valid + "\n", valid + "\r\n"}) {
    CAPTURE(text);
    write_file(key, text, 0600);
    std::string msg = open_error(tmp.path, {account("alice")});
    CHECK(msg.find("is malformed") != std::string::npos);
    CHECK(msg.find("cccccc") == std::string::npos);
  }
  write_file(key, std::string(64, '0') + "\n", 0600);
  CHECK(open_error(tmp.path, {account("alice")}).find("does not hold a valid secp256k1 secret key") !=
        std::string::npos);
  write_file(key, std::string(64, 'f') + "\n", 0600); // above the curve order
  CHECK(open_error(tmp.path, {account("alice")}).find("does not hold a valid") != std::string::npos);
  // A missing final newline is tolerated: editors and `echo -n` both happen.
  write_file(key, valid, 0600);
  open_ok(tmp.path, {account("alice")});
  write_file(key, "8A3F" + std::string(60, 'C') + "\n", 0600);
  open_ok(tmp.path, {account("alice")});
}

TEST_CASE("the same account configured twice is refused") {
  TempDir tmp;
  CHECK(open_error(tmp.path, {account("alice"), account("alice")}).find("configured twice") != std::string::npos);
}
