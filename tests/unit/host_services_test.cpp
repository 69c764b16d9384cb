// The host services an adapter gets: the identity service hands out an account's certificate and MSP id.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "host_services.h"
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
