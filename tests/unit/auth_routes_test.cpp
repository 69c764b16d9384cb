// The /auth routes that depend on how the client is connected: a private key is taken only over TLS or from this
// machine, whatever else the request says.
#include <doctest/doctest.h>

#include <boost/json.hpp>

#include <algorithm>

#include "accounts/key_vault.h"
#include "auth/auth_service.h"
#include "store/htlc_log.h"
#include "rpc_test_support.h"
#include "test_support.h"

using namespace weft;
namespace json = boost::json;

TEST_CASE("addChainAccount refuses a private key from a remote client without TLS, and takes one over TLS") {
  test::TempDir tmp("weft-auth-routes");
  auto store = store::Store::open(tmp.path / "data");
  REQUIRE(store.ok());
  REQUIRE(accounts::create_master_key(tmp.path / "master.key").ok());
  auto vault = accounts::KeyVault::open(**store, tmp.path / "master.key");
  REQUIRE(vault.ok());
  auth::AuthOptions ao;
  ao.login_key_period = std::chrono::milliseconds(0);
  auto svc = auth::AuthService::create(**store, ao);
  REQUIRE(svc.ok());
  auth::User u;
  u.name = "remote";
  u.salt.assign(16, 1);
  u.pw_hash.assign(32, 2);
  auto user = auth::create_user(**store, u);
  REQUIRE(user.ok());

  test::RpcFixture f;
  f.ctx.auth = svc->get();
  f.ctx.vault = vault->get();
  f.service().set_login_check([&](RpcRequest &r, const Route &) -> std::optional<Reply> {
    r.session = std::make_shared<const auth::Session>(auth::session_of(*user));
    return std::nullopt;
  });
  auto add = [&](bool loopback, bool secure) {
    HttpRequest h;
    h.method = "POST";
    h.target = "/auth/addChainAccount";
    h.body = R"({"version":"1","data":{"type":"RefChain","secKey":")" + std::string(64, '3') + R"("}})";
    h.remote = "192.0.2.7:40000";
    h.loopback = loopback;
    h.secure = secure;
    return json::parse(f.handle(h).body).as_object().at("data").as_object();
  };
  auto refused = add(false, false);
  CHECK(refused.at("errorCode") == 40001);
  CHECK(std::string(refused.at("message").as_string()).find("only over TLS or from this machine") !=
        std::string::npos);
  CHECK(auth::list_chain_accounts(**store, user->id)->empty());
  CHECK(add(false, true).at("errorCode") == 0); // over TLS
  CHECK(add(true, false).at("errorCode") == 0); // from this machine
  CHECK(auth::list_chain_accounts(**store, user->id)->size() == 2);
}

TEST_CASE("an HTLC secret sealed under the master key opens only for its swap, and survives a key rotation") {
  test::TempDir tmp("weft-htlc-secret");
  auto store = store::Store::open(tmp.path / "data");
  REQUIRE(store.ok());
  REQUIRE(accounts::create_master_key(tmp.path / "master.key").ok());
  std::vector<std::uint8_t> secret(32);
  for (size_t i = 0; i < secret.size(); ++i) secret[i] = static_cast<std::uint8_t>(i * 7 + 1);
  {
    auto vault = accounts::KeyVault::open(**store, tmp.path / "master.key");
    REQUIRE(vault.ok());
    auto sealed = (*vault)->seal_secret(secret, "0xswap");
    REQUIRE(sealed.ok());
    CHECK_FALSE((*vault)->open_secret(*sealed, "0xother").ok()); // bound to its swap
    store::HtlcSwapRecord r;
    r.id = "0xswap";
    r.proposal = "{}";
    r.secret_version = sealed->key_version;
    r.secret_nonce.assign(sealed->nonce.begin(), sealed->nonce.end());
    r.secret_sealed = sealed->ciphertext;
    REQUIRE((*store)->write(store::htlc_insert(r)).ok());
    auto raw = store::htlc_get(**store, "0xswap");
    REQUIRE(raw.ok());
    CHECK(std::search((*raw)->secret_sealed.begin(), (*raw)->secret_sealed.end(), secret.begin(), secret.end()) ==
          (*raw)->secret_sealed.end());
  }
  REQUIRE(accounts::KeyVault::rotate(**store, tmp.path / "master.key").ok());
  auto vault = accounts::KeyVault::open(**store, tmp.path / "master.key");
  REQUIRE(vault.ok());
  auto row = store::htlc_get(**store, "0xswap");
  REQUIRE(row.ok());
  REQUIRE(row->has_value());
  accounts::SealedKey sealed;
  sealed.key_version = static_cast<std::uint32_t>((*row)->secret_version);
  std::copy_n((*row)->secret_nonce.begin(), 12, sealed.nonce.begin());
  sealed.ciphertext = (*row)->secret_sealed;
  CHECK(sealed.key_version == (*vault)->key_version());
  auto opened = (*vault)->open_secret(sealed, "0xswap");
  REQUIRE(opened.ok());
  CHECK(std::equal(secret.begin(), secret.end(), opened->bytes().begin()));
}
