// Chain account crypto: signatures checked by independent verifiers (libsecp256k1's recovery, the openssl command
// line tool, the GM/T 0003.5 annex example), key parsing bounds, and sealing keys at rest under a master key file.
#include "accounts/chain_keys.h"
#include "accounts/key_wrap.h"
#include "test_support.h"

#include <doctest/doctest.h>

#include "signature_check.h"
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace weft::accounts;
using weft::test::Bytes;
using weft::test::der_signature;
using weft::test::from_hex;
using weft::test::spki_pem;
using weft::test::write_file;

namespace {

constexpr KeyAlgorithm kAll[] = {KeyAlgorithm::Secp256k1, KeyAlgorithm::Sm2, KeyAlgorithm::P256};

std::array<std::uint8_t, 32> random32() {
  std::array<std::uint8_t, 32> out{};
  REQUIRE(RAND_bytes(out.data(), static_cast<int>(out.size())) == 1);
  return out;
}

// The group orders, and n/2 for the low-S checks, from the curves' specifications.
const Bytes kSecp256k1N = from_hex("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141");
const Bytes kSecp256k1HalfN = from_hex("7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0");
const Bytes kP256N = from_hex("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551");
const Bytes kP256HalfN = from_hex("7FFFFFFF800000007FFFFFFFFFFFFFFFDE737D56D38BCF4279DCE5617E3192A8");
const Bytes kSm2N = from_hex("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123");

const Bytes &order(KeyAlgorithm a) {
  return a == KeyAlgorithm::Secp256k1 ? kSecp256k1N : a == KeyAlgorithm::Sm2 ? kSm2N : kP256N;
}

// Big-endian comparison of equal-length byte strings.
bool less_equal(std::span<const std::uint8_t> a, const Bytes &b) {
  return !std::lexicographical_compare(b.begin(), b.end(), a.begin(), a.end());
}

void write_text(const fs::path &path, std::string_view text) {
  write_file(path, std::span(reinterpret_cast<const std::uint8_t *>(text.data()), text.size()));
}

struct Run {
  int exit_code = -1;
  std::string output;
};

Run run(const std::string &command) {
  Run r;
  FILE *p = ::popen((command + " 2>&1").c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[512];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p))
    r.output.append(buf, n);
  int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string quoted(const fs::path &p) {
  return "'" + p.string() + "'";
}

bool openssl_verifies(const Run &r) {
  return r.exit_code == 0 && r.output.find("Signature Verified Successfully") != std::string::npos;
}

SecretKey generated(KeyAlgorithm a) {
  auto key = generate_key(a);
  REQUIRE_MESSAGE(key.ok(), key.error().message);
  return std::move(key).value();
}

PublicKey public_of(KeyAlgorithm a, const SecretKey &key) {
  auto pub = public_key(a, key);
  REQUIRE_MESSAGE(pub.ok(), pub.error().message);
  return *pub;
}

Bytes signed_by(KeyAlgorithm a, const SecretKey &key, std::span<const std::uint8_t> digest) {
  auto sig = sign(a, key, digest);
  REQUIRE_MESSAGE(sig.ok(), sig.error().message);
  return *sig;
}

bool verifies(KeyAlgorithm a, const PublicKey &pub, std::span<const std::uint8_t> digest,
              std::span<const std::uint8_t> sig) {
  auto ok = verify(a, pub, digest, sig);
  REQUIRE_MESSAGE(ok.ok(), ok.error().message);
  return *ok;
}

// SM3(data), computed by the test itself.
std::array<std::uint8_t, 32> sm3(std::span<const std::uint8_t> data) {
  std::array<std::uint8_t, 32> out{};
  unsigned len = 0;
  REQUIRE(EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sm3(), nullptr) == 1);
  return out;
}

// Z_A = SM3(ENTL || ID || a || b || xG || yG || xA || yA) on the SM2 recommended curve (GB/T 32918.5).
std::array<std::uint8_t, 32> sm2_z(std::string_view id, const PublicKey &pub) {
  Bytes in{static_cast<std::uint8_t>(id.size() * 8 >> 8), static_cast<std::uint8_t>(id.size() * 8)};
  in.insert(in.end(), id.begin(), id.end());
  for (std::string_view part : {"FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC",
                                "28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93",
                                "32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7",
                                "BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0"}) {
    Bytes b = from_hex(part);
    in.insert(in.end(), b.begin(), b.end());
  }
  in.insert(in.end(), pub.begin(), pub.end());
  return sm3(in);
}

} // namespace

TEST_CASE("algorithm names round-trip and unknown names are refused") {
  for (KeyAlgorithm a : kAll)
    CHECK(parse_algorithm(name(a)) == a);
  CHECK(name(KeyAlgorithm::Secp256k1) == "secp256k1");
  CHECK(name(KeyAlgorithm::Sm2) == "sm2");
  CHECK(name(KeyAlgorithm::P256) == "p256");
  CHECK_FALSE(parse_algorithm("SM2").has_value());
  CHECK_FALSE(parse_algorithm("ed25519").has_value());
  CHECK_FALSE(parse_algorithm("").has_value());
}

TEST_CASE("generated keys are valid scalars for their curve, distinct, and sign what they verify") {
  for (KeyAlgorithm a : kAll) {
    CAPTURE(name(a));
    std::vector<std::array<std::uint8_t, 32>> seen;
    for (int i = 0; i < 16; ++i) {
      SecretKey key = generated(a);
      auto bytes = key.bytes();
      CHECK(std::any_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b != 0; }));
      Bytes limit = order(a);
      limit.back() -= a == KeyAlgorithm::Sm2 ? 2 : 1; // SM2 keys stop at n-2
      CHECK(less_equal(bytes, limit));
      std::array<std::uint8_t, 32> copy{};
      std::copy(bytes.begin(), bytes.end(), copy.begin());
      CHECK(std::find(seen.begin(), seen.end(), copy) == seen.end());
      seen.push_back(copy);
      PublicKey pub = public_of(a, key);
      auto digest = random32();
      CHECK(verifies(a, pub, digest, signed_by(a, key, digest)));
    }
  }
}

TEST_CASE("a public key the caller holds signs as the derived one does, and a wrong one is caught by verifying") {
  for (KeyAlgorithm a : kAll) {
    CAPTURE(name(a));
    SecretKey key = generated(a), other = generated(a);
    PublicKey pub = public_of(a, key), wrong = public_of(a, other);
    auto digest = random32();
    auto with = sign(a, key, digest, &pub);
    REQUIRE(with.ok());
    CHECK(verifies(a, pub, digest, *with));
    if (a == KeyAlgorithm::Secp256k1) {
      CHECK(*with == signed_by(a, key, digest)); // deterministic, and the public key takes no part
      continue;
    }
    // SM2 hashes the public key into Z_A: signed with another key's, the signature holds under neither.
    auto mixed = sign(a, key, digest, &wrong);
    REQUIRE(mixed.ok());
    CHECK_FALSE(verifies(a, wrong, digest, *mixed));
    if (a == KeyAlgorithm::Sm2) CHECK_FALSE(verifies(a, pub, digest, *mixed));
  }
}

TEST_CASE("parse_secret_hex refuses 0, n, n+1, bad hex and bad lengths, and accepts n-1 (n-2 for SM2)") {
  auto hex_of = [](const Bytes &b) {
    std::string s;
    char buf[3];
    for (std::uint8_t c : b) {
      std::snprintf(buf, sizeof buf, "%02x", c);
      s += buf;
    }
    return s;
  };
  for (KeyAlgorithm a : kAll) {
    CAPTURE(name(a));
    Bytes n = order(a);
    Bytes n_plus_1 = n, n_minus_1 = n, n_minus_2 = n;
    n_plus_1.back() += 1; // no carry: every order here ends in a byte below 0xff
    n_minus_1.back() -= 1;
    n_minus_2.back() -= 2;
    std::string bad_hex = std::string(63, '1') + "g";
    for (const std::string &refused :
         {std::string(64, '0'), hex_of(n), hex_of(n_plus_1), "0x" + hex_of(n), std::string(64, 'f'), bad_hex,
          std::string(63, '1'), std::string(65, '1'), std::string(), std::string("0x")}) {
      CAPTURE(refused);
      auto key = parse_secret_hex(a, refused);
      REQUIRE_FALSE(key.ok());
      if (refused.size() >= 32) CHECK(key.error().message.find(refused) == std::string::npos); // never echoed
    }
    auto top = parse_secret_hex(a, hex_of(n_minus_2));
    CHECK(top.ok());
    CHECK(parse_secret_hex(a, hex_of(n_minus_1)).ok() == (a != KeyAlgorithm::Sm2));
    auto one = parse_secret_hex(a, "0x" + std::string(63, '0') + "1");
    REQUIRE(one.ok());
    CHECK(one->bytes()[31] == 1);
    auto upper = parse_secret_hex(a, "0X" + std::string(62, '0') + "AB");
    REQUIRE(upper.ok());
    CHECK(upper->bytes()[31] == 0xab);
  }
}

TEST_CASE("secp256k1: recoverable, low-S, deterministic; the recovery id gives back the public key") {
  const secp256k1_context *ctx = secp256k1_context_static;
  for (int i = 0; i < 8; ++i) {
    SecretKey key = generated(KeyAlgorithm::Secp256k1);
    PublicKey pub = public_of(KeyAlgorithm::Secp256k1, key);
    auto digest = random32();
    Bytes sig = signed_by(KeyAlgorithm::Secp256k1, key, digest);
    REQUIRE(sig.size() == 65);
    CHECK(sig == signed_by(KeyAlgorithm::Secp256k1, key, digest)); // RFC 6979
    CHECK(less_equal(std::span(sig).subspan(32, 32), kSecp256k1HalfN));

    secp256k1_ecdsa_recoverable_signature rsig;
    REQUIRE(sig[64] <= 3);
    REQUIRE(secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &rsig, sig.data(), sig[64]));
    secp256k1_pubkey recovered;
    REQUIRE(secp256k1_ecdsa_recover(ctx, &recovered, &rsig, digest.data()));
    std::array<std::uint8_t, 65> full{};
    std::size_t len = full.size();
    REQUIRE(secp256k1_ec_pubkey_serialize(ctx, full.data(), &len, &recovered, SECP256K1_EC_UNCOMPRESSED));
    CHECK(std::equal(pub.begin(), pub.end(), full.begin() + 1));

    CHECK(verifies(KeyAlgorithm::Secp256k1, pub, digest, sig));
    auto other = digest;
    other[0] ^= 1;
    CHECK_FALSE(verifies(KeyAlgorithm::Secp256k1, pub, other, sig));
    Bytes wrong_recid = sig;
    wrong_recid[64] ^= 1;
    CHECK_FALSE(verifies(KeyAlgorithm::Secp256k1, pub, digest, wrong_recid));
  }
  // The private key 1 has the generator as its public key.
  auto one = parse_secret_hex(KeyAlgorithm::Secp256k1, std::string(63, '0') + "1");
  REQUIRE(one.ok());
  PublicKey g = public_of(KeyAlgorithm::Secp256k1, *one);
  CHECK(Bytes(g.begin(), g.end()) == from_hex("79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798"
                                              "483ADA7726A3C4655DA4FBFC0E1108A8FD17B448A68554199C47D08FFB10D4B8"));
}

TEST_CASE("p256: the openssl command line verifies the signature over the pre-hashed digest, and s <= n/2") {
  weft::test::TempDir dir("weft-accounts");
  auto pem = dir.path / "pub.pem", digest_file = dir.path / "digest.bin", sig_file = dir.path / "sig.der";
  int flipped_seen = 0;
  for (int i = 0; i < 6; ++i) {
    SecretKey key = generated(KeyAlgorithm::P256);
    PublicKey pub = public_of(KeyAlgorithm::P256, key);
    auto digest = random32();
    Bytes sig = signed_by(KeyAlgorithm::P256, key, digest);
    REQUIRE(sig.size() == 64);
    CHECK(less_equal(std::span(sig).subspan(32, 32), kP256HalfN));
    CHECK(verifies(KeyAlgorithm::P256, pub, digest, sig));

    write_text(pem, spki_pem(KeyAlgorithm::P256, pub));
    write_file(digest_file, digest);
    write_file(sig_file, der_signature(sig));
    std::string cmd = "openssl pkeyutl -verify -pubin -inkey " + quoted(pem) + " -in " + quoted(digest_file) +
                      " -sigfile " + quoted(sig_file);
    Run ok = run(cmd);
    CHECK_MESSAGE(openssl_verifies(ok), cmd, "\n", ok.output);

    // The high-S twin is valid ECDSA (openssl accepts it) but not what Fabric takes, so verify refuses it.
    Bytes high = sig;
    int borrow = 0;
    for (int b = 31; b >= 0; --b) {
      int v = kP256N[static_cast<std::size_t>(b)] - sig[32 + static_cast<std::size_t>(b)] - borrow;
      borrow = v < 0;
      high[32 + static_cast<std::size_t>(b)] = static_cast<std::uint8_t>(v + (borrow ? 256 : 0));
    }
    CHECK_FALSE(verifies(KeyAlgorithm::P256, pub, digest, high));
    write_file(sig_file, der_signature(high));
    flipped_seen += openssl_verifies(run(cmd));

    auto other = digest;
    other[31] ^= 0x80;
    write_file(digest_file, other);
    write_file(sig_file, der_signature(sig));
    CHECK_FALSE(openssl_verifies(run(cmd)));
    CHECK_FALSE(verifies(KeyAlgorithm::P256, pub, other, sig));
  }
  // openssl takes every high-S twin: low-S is Fabric's rule, not ECDSA's, and the twins were computed right.
  CHECK(flipped_seen == 6);
}

TEST_CASE("sm2: the openssl command line verifies with SM3 and distid 1234567812345678, and only with that ID") {
  weft::test::TempDir dir("weft-accounts");
  auto pem = dir.path / "pub.pem", msg_file = dir.path / "msg.bin", sig_file = dir.path / "sig.der",
       e_file = dir.path / "e.bin";
  for (int i = 0; i < 4; ++i) {
    SecretKey key = generated(KeyAlgorithm::Sm2);
    PublicKey pub = public_of(KeyAlgorithm::Sm2, key);
    auto message = random32(); // what a chain passes: the SM3 hash of its transaction
    Bytes sig = signed_by(KeyAlgorithm::Sm2, key, message);
    REQUIRE(sig.size() == 64);
    CHECK(verifies(KeyAlgorithm::Sm2, pub, message, sig));

    write_text(pem, spki_pem(KeyAlgorithm::Sm2, pub));
    write_file(msg_file, message);
    write_file(sig_file, der_signature(sig));
    auto cmd = [&](std::string_view id) {
      return "openssl pkeyutl -verify -pubin -inkey " + quoted(pem) +
             " -rawin -digest sm3 -pkeyopt distid:" + std::string(id) + " -in " + quoted(msg_file) + " -sigfile " +
             quoted(sig_file);
    };
    Run ok = run(cmd("1234567812345678"));
    CHECK_MESSAGE(openssl_verifies(ok), cmd("1234567812345678"), "\n", ok.output);
    CHECK_FALSE(openssl_verifies(run(cmd("1234567812345679"))));

    // The same signature over e = SM3(Z_A || M), with Z_A computed here from the standard's formula.
    Bytes za_m;
    auto za = sm2_z("1234567812345678", pub);
    za_m.insert(za_m.end(), za.begin(), za.end());
    za_m.insert(za_m.end(), message.begin(), message.end());
    write_file(e_file, sm3(za_m));
    std::string raw_e = "openssl pkeyutl -verify -pubin -inkey " + quoted(pem) + " -in " + quoted(e_file) +
                        " -sigfile " + quoted(sig_file);
    Run e_ok = run(raw_e);
    CHECK_MESSAGE(openssl_verifies(e_ok), raw_e, "\n", e_ok.output);

    auto other = message;
    other[0] ^= 1;
    CHECK_FALSE(verifies(KeyAlgorithm::Sm2, pub, other, sig));
    write_file(msg_file, other);
    CHECK_FALSE(openssl_verifies(run(cmd("1234567812345678"))));
  }
}

TEST_CASE("sm2: the GM/T 0003.5 annex A example (default user ID, message \"message digest\") verifies") {
  // GM/T 0003.5-2012 / GB/T 32918.5 annex A on the recommended curve, as OpenSSL's sm2_internal_test uses it.
  auto key = parse_secret_hex(KeyAlgorithm::Sm2, "3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8");
  REQUIRE(key.ok());
  PublicKey pub = public_of(KeyAlgorithm::Sm2, *key);
  CHECK(Bytes(pub.begin(), pub.end()) == from_hex("09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"
                                                  "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13"));
  std::string_view text = "message digest";
  Bytes message(text.begin(), text.end());
  Bytes sig = from_hex("F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3"
                       "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA");
  CHECK(verifies(KeyAlgorithm::Sm2, pub, message, sig));
  // Our own signature over the same message verifies too, and a changed message does not.
  CHECK(verifies(KeyAlgorithm::Sm2, pub, message, signed_by(KeyAlgorithm::Sm2, *key, message)));
  message.back() ^= 1;
  CHECK_FALSE(verifies(KeyAlgorithm::Sm2, pub, message, sig));
}

TEST_CASE("sign and verify refuse wrong lengths and points off the curve") {
  SecretKey key = generated(KeyAlgorithm::P256);
  Bytes short_digest(31, 1);
  CHECK_FALSE(sign(KeyAlgorithm::P256, key, short_digest).ok());
  CHECK_FALSE(sign(KeyAlgorithm::Secp256k1, key, short_digest).ok());
  PublicKey pub = public_of(KeyAlgorithm::P256, key);
  auto digest = random32();
  Bytes sig = signed_by(KeyAlgorithm::P256, key, digest);
  CHECK_FALSE(verify(KeyAlgorithm::P256, pub, digest, std::span(sig).first(63)).ok());
  PublicKey off = pub;
  off[63] ^= 1;
  CHECK_FALSE(verify(KeyAlgorithm::P256, off, digest, sig).ok());
  CHECK_FALSE(verify(KeyAlgorithm::Sm2, off, digest, sig).ok());
  CHECK_FALSE(verify(KeyAlgorithm::Secp256k1, off, digest, Bytes(65, 1)).ok());
}

TEST_CASE("seal and open round-trip; another master key, AAD, version, or a flipped bit does not open") {
  auto mk_bytes = random32(), other_bytes = random32();
  MasterKey master(mk_bytes), other_master(other_bytes);
  SecretKey key = generated(KeyAlgorithm::Sm2);
  Bytes aad = account_aad(7, 42, KeyAlgorithm::Sm2);

  auto sealed = seal(master, 3, key.bytes(), aad);
  REQUIRE_MESSAGE(sealed.ok(), sealed.error().message);
  CHECK(sealed->key_version == 3);
  CHECK(sealed->ciphertext.size() == 48);
  auto opened = open(master, *sealed, aad);
  REQUIRE_MESSAGE(opened.ok(), opened.error().message);
  CHECK(std::equal(opened->bytes().begin(), opened->bytes().end(), key.bytes().begin()));

  CHECK_FALSE(open(other_master, *sealed, aad).ok());
  CHECK_FALSE(open(master, *sealed, account_aad(8, 42, KeyAlgorithm::Sm2)).ok());
  CHECK_FALSE(open(master, *sealed, account_aad(7, 43, KeyAlgorithm::Sm2)).ok());
  CHECK_FALSE(open(master, *sealed, account_aad(7, 42, KeyAlgorithm::P256)).ok());
  CHECK_FALSE(open(master, *sealed, {}).ok());

  SealedKey tampered = *sealed;
  tampered.key_version = 4;
  CHECK_FALSE(open(master, tampered, aad).ok());
  tampered = *sealed;
  tampered.nonce[5] ^= 1;
  CHECK_FALSE(open(master, tampered, aad).ok());
  tampered = *sealed;
  tampered.ciphertext[0] ^= 0x01; // in the encrypted key
  auto bad = open(master, tampered, aad);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find("authentication failed") != std::string::npos);
  tampered = *sealed;
  tampered.ciphertext.back() ^= 0x80; // in the tag
  CHECK_FALSE(open(master, tampered, aad).ok());
  tampered = *sealed;
  tampered.ciphertext.pop_back();
  CHECK_FALSE(open(master, tampered, aad).ok());

  auto again = seal(master, 3, key.bytes(), aad);
  REQUIRE(again.ok());
  CHECK(again->nonce != sealed->nonce);
  CHECK(again->ciphertext != sealed->ciphertext);

  Bytes not_a_key(31, 7);
  CHECK_FALSE(seal(master, 3, not_a_key, aad).ok());
}

TEST_CASE("account_aad is the documented encoding and tells every triple apart") {
  Bytes expected;
  std::string_view label = "weft-chain-key-v1";
  expected.insert(expected.end(), label.begin(), label.end());
  for (std::uint8_t b : {0, 0, 0, 0, 0, 0, 1, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 4})
    expected.push_back(b);
  for (char c : std::string_view("p256"))
    expected.push_back(static_cast<std::uint8_t>(c));
  CHECK(account_aad(258, -2, KeyAlgorithm::P256) == expected);

  std::vector<Bytes> all;
  for (std::int64_t ua : {0, 1, 256})
    for (std::int64_t k : {0, 1, 256})
      for (KeyAlgorithm a : kAll)
        all.push_back(account_aad(ua, k, a));
  std::sort(all.begin(), all.end());
  CHECK(std::adjacent_find(all.begin(), all.end()) == all.end());
}

TEST_CASE("master key file: created 0600 once, loaded only when private, well-formed and present") {
  weft::test::TempDir dir("weft-accounts");
  fs::path file = dir.path / "master.key";

  mode_t old_umask = ::umask(0); // the mode must not depend on the umask
  auto created = create_master_key(file);
  ::umask(old_umask);
  REQUIRE_MESSAGE(created.ok(), created.error().message);
  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  CHECK(fs::file_size(file) == 65);

  auto loaded = load_master_key(file);
  REQUIRE_MESSAGE(loaded.ok(), loaded.error().message);
  SecretKey key = generated(KeyAlgorithm::Secp256k1);
  Bytes aad = account_aad(1, 1, KeyAlgorithm::Secp256k1);
  auto sealed = seal(*loaded, 1, key.bytes(), aad);
  REQUIRE(sealed.ok());

  auto again = create_master_key(file);
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().message.find("already exists") != std::string::npos);
  auto reloaded = load_master_key(file);
  REQUIRE(reloaded.ok());
  CHECK(open(*reloaded, *sealed, aad).ok()); // the refused create left the key as it was
  CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 1); // no temp file left

  for (mode_t mode : {0644, 0640, 0604, 0620, 0602}) {
    CAPTURE(mode);
    REQUIRE(::chmod(file.c_str(), mode) == 0);
    auto refused = load_master_key(file);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().message.find("group or others") != std::string::npos);
    CHECK(refused.error().message.find("chmod 600 " + file.string()) != std::string::npos);
  }
  REQUIRE(::chmod(file.c_str(), 0600) == 0);
  CHECK(load_master_key(file).ok());
  REQUIRE(::chmod(file.c_str(), 0400) == 0);
  CHECK(load_master_key(file).ok());

  auto missing = load_master_key(dir.path / "absent.key");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message.find("does not exist") != std::string::npos);

  fs::path bad = dir.path / "bad.key";
  std::string hex64(64, 'a');
  for (const std::string &content : {std::string("xyz\n"), std::string(63, 'a') + "\n", hex64 + "\n\n",
                                     std::string(63, 'a') + "g", hex64 + " ", std::string()}) {
    CAPTURE(content);
    fs::remove(bad);
    write_text(bad, content);
    REQUIRE(::chmod(bad.c_str(), 0600) == 0);
    auto refused = load_master_key(bad);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().message.find("malformed") != std::string::npos);
  }
  for (const std::string &content : {hex64, hex64 + "\n", std::string(64, 'F')}) {
    fs::remove(bad);
    write_text(bad, content);
    REQUIRE(::chmod(bad.c_str(), 0600) == 0);
    CHECK(load_master_key(bad).ok());
  }

  auto no_dir = create_master_key(dir.path / "no-such-dir" / "master.key");
  CHECK_FALSE(no_dir.ok());
}
