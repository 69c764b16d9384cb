// The host services an adapter gets: the identity service hands out an account's certificate and MSP id.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "accounts/key_vault.h"
#include "auth/encoding.h"
#include "host_services.h"
#include "signature_check.h"
#include "test_support.h"

using namespace weft;
namespace fs = std::filesystem;

TEST_CASE("identity answers an account's certificate and MSP id, and refuses what it cannot give") {
  test::TempDir tmp("weft-host");
  const fs::path &dir = tmp.path;
  const std::string pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  std::ofstream(dir / "admin.pem") << pem;
  std::vector<AccountConfig> accounts(2);
  accounts[0].name = "admin";
  accounts[0].key_file = dir / "keys/admin.key";
  accounts[0].certificate = dir / "admin.pem";
  accounts[0].msp_id = "Org1MSP";
  accounts[1].name = "plain";
  accounts[1].key_file = dir / "keys/plain.key";
  auto ks = Keystore::open(dir, accounts);
  REQUIRE(ks.ok());
  auto host = HostServices::open(**ks, accounts);
  REQUIRE(host.ok());
  const weft_host_v1 *t = (*host)->table();
  REQUIRE(t->struct_size >= offsetof(weft_host_v1, identity) + sizeof(t->identity));

  char cert[8192];
  size_t cert_len = sizeof cert;
  char msp[64];
  char err[256];
  REQUIRE(t->identity(t->host_ctx, "admin", cert, &cert_len, msp, sizeof msp, err, sizeof err) == WEFT_OK);
  CHECK(std::string(cert, cert_len) == pem);
  CHECK(std::string(msp) == "Org1MSP");

  size_t small = 8;
  CHECK(t->identity(t->host_ctx, "admin", cert, &small, msp, sizeof msp, err, sizeof err) == WEFT_E_INVALID_ARGUMENT);
  CHECK(small == pem.size()); // the size it needs
  cert_len = sizeof cert;
  CHECK(t->identity(t->host_ctx, "plain", cert, &cert_len, msp, sizeof msp, err, sizeof err) == WEFT_E_NOT_FOUND);
  CHECK(std::string(err).find("no certificate") != std::string::npos);

  // Signing still reaches the keystore through the same context.
  uint8_t digest[32] = {1};
  uint8_t sig[65], pub[64];
  size_t sig_len = sizeof sig, pub_len = sizeof pub;
  CHECK(t->sign(t->host_ctx, "plain", "secp256k1", digest, 32, sig, &sig_len, pub, &pub_len, err, sizeof err) ==
        WEFT_OK);

  std::ofstream(dir / "bad.pem") << "not a certificate\n";
  accounts[0].certificate = dir / "bad.pem";
  auto refused = HostServices::open(**ks, accounts);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message.find("is not a PEM certificate") != std::string::npos);
}

TEST_CASE("a user's SM2 and P-256 keys sign through the host as adapter.h says, and OpenSSL's tool verifies them") {
  test::TempDir tmp("weft-host-vault");
  auto store = store::Store::open(tmp.path / "data");
  REQUIRE(store.ok());
  REQUIRE(accounts::create_master_key(tmp.path / "master.key").ok());
  auto vault = accounts::KeyVault::open(**store, tmp.path / "master.key");
  REQUIRE(vault.ok());
  auth::User u;
  u.name = "kim";
  u.salt.assign(16, 1);
  u.pw_hash.assign(32, 2);
  auto user = auth::create_user(**store, u);
  REQUIRE(user.ok());
  auto sm2 = (*vault)->add(user->id, "GM_BCOS2.0", accounts::KeyAlgorithm::Sm2, "", "", "", true);
  auto p256 = (*vault)->add(user->id, "Fabric2.0", accounts::KeyAlgorithm::P256, "", "", "", true);
  REQUIRE(sm2.ok());
  REQUIRE(p256.ok());

  std::vector<AccountConfig> none;
  auto ks = Keystore::open(tmp.path / "data", none);
  REQUIRE(ks.ok());
  auto host = HostServices::open(**ks, none);
  REQUIRE(host.ok());
  (*host)->set_vault(vault->get());
  const weft_host_v1 *t = (*host)->table();

  uint8_t digest[32];
  for (int i = 0; i < 32; ++i)
    digest[i] = static_cast<uint8_t>(i * 7 + 3);
  test::write_file(tmp.path / "digest.bin", digest);
  for (const auto &[alg, key_id] :
       {std::pair{std::string("sm2"), sm2->key_id}, std::pair{std::string("p256"), p256->key_id}}) {
    CAPTURE(alg);
    std::string handle = accounts::account_handle(user->id, key_id);
    uint8_t sig[72], pub[64];
    size_t sig_len = sizeof sig, pub_len = sizeof pub;
    char err[256] = {0};
    REQUIRE(t->sign(t->host_ctx, handle.c_str(), alg.c_str(), digest, 32, sig, &sig_len, pub, &pub_len, err,
                    sizeof err) == WEFT_OK);
    CHECK(sig_len == 64);
    CHECK(pub_len == 64);
    const auto &registered = alg == "sm2" ? sm2->public_key : p256->public_key;
    CHECK(std::equal(pub, pub + 64, registered.begin(), registered.end())); // the key the account was added with
    accounts::PublicKey pk{};
    std::copy(pub, pub + 64, pk.begin());
    auto kind = alg == "sm2" ? accounts::KeyAlgorithm::Sm2 : accounts::KeyAlgorithm::P256;
    std::ofstream(tmp.path / "pub.pem") << test::spki_pem(kind, pk);
    test::write_file(tmp.path / "sig.der", test::der_signature({sig, 64}));
    std::string base = "openssl pkeyutl -verify -pubin -inkey " + (tmp.path / "pub.pem").string() + " -in " +
                       (tmp.path / "digest.bin").string() + " -sigfile " + (tmp.path / "sig.der").string();
    // SM2: the digest is the message; the tool computes e = SM3(Z_A || message) with the default ID, as the host.
    std::string cmd = alg == "sm2" ? base + " -rawin -digest sm3 -pkeyopt distid:1234567812345678" : base;
    CHECK(test::openssl_verifies(cmd));
    // The wrong algorithm for the key is refused, not silently used.
    sig_len = sizeof sig;
    pub_len = sizeof pub;
    CHECK(t->sign(t->host_ctx, handle.c_str(), "secp256k1", digest, 32, sig, &sig_len, pub, &pub_len, err,
                  sizeof err) == WEFT_E_ACCOUNT);
  }

  // The host answers the key the account was registered with, checked against the sealed secret: a row whose stored
  // key was swapped for another account's signs nothing, so no adapter is handed a key that did not sign.
  auto other = (*vault)->add(user->id, "Fabric2.0", accounts::KeyAlgorithm::P256, "", "", "", false);
  REQUIRE(other.ok());
  auto set_key = [&](const std::string &hex_blob) {
    return (*store)->write([&](store::WriteTx &tx) -> Status {
      return tx.exec("UPDATE chain_accounts SET public_key = x'" + hex_blob +
                     "' WHERE user_id = " + std::to_string(user->id) + " AND key_id = " + std::to_string(p256->key_id));
    });
  };
  std::string handle = accounts::account_handle(user->id, p256->key_id);
  uint8_t sig[72], pub[64];
  size_t sig_len = sizeof sig, pub_len = sizeof pub;
  char err[256] = {0};
  auto sign_p256 = [&] {
    sig_len = sizeof sig;
    pub_len = sizeof pub;
    err[0] = 0;
    return t->sign(t->host_ctx, handle.c_str(), "p256", digest, 32, sig, &sig_len, pub, &pub_len, err, sizeof err);
  };
  REQUIRE(sign_p256() == WEFT_OK); // checked once, and remembered
  REQUIRE(set_key(auth::hex_encode(other->public_key)).ok());
  CHECK(sign_p256() == WEFT_E_ACCOUNT);
  CHECK(std::string(err).find("does not belong to its registered public key") != std::string::npos);
  REQUIRE(set_key(auth::hex_encode(p256->public_key)).ok()); // put back: it signs again, with its own key
  REQUIRE(sign_p256() == WEFT_OK);
  CHECK(std::equal(pub, pub + 64, p256->public_key.begin(), p256->public_key.end()));
  // A stored key of the wrong length is refused, not signed around.
  REQUIRE(set_key("00").ok());
  CHECK(sign_p256() == WEFT_E_ACCOUNT);
  CHECK(std::string(err).find("damaged") != std::string::npos);
}
