// Shared fixtures of the reference chain's unit tests: a temporary directory, a test account that signs, and
// transactions built against a ledger.
#pragma once

#include "ledger.h"
#include "transaction.h"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

namespace weft::refchain::test {

// Every wait in the tests scales with WEFT_TEST_TIME_SCALE (default 1) so sanitizer builds and slow machines pass.
inline double time_scale() {
  const char *s = std::getenv("WEFT_TEST_TIME_SCALE");
  double v = s ? std::atof(s) : 1.0;
  return v > 0 ? v : 1.0;
}
inline std::chrono::milliseconds scaled(int ms) {
  return std::chrono::milliseconds(static_cast<int64_t>(ms * time_scale()));
}

class TempDir {
public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "weft-refchain-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string &path() const { return path_; }
  std::string file(const std::string &name) const { return path_ + "/" + name; }

private:
  std::string path_;
};

// A deterministic account key: secret = seed repeated (valid for any small seed).
struct TestAccount {
  SecretKey secret{};
  PublicKey pub{};
  Address address{};
  explicit TestAccount(uint8_t seed = 1) {
    secret.fill(seed);
    pub = public_key_of(secret);
    address = address_of(pub);
  }
  std::string addr() const { return address_text(address); }
};

inline Transaction make_tx(const TestAccount &who, uint64_t chain_id, uint64_t block_limit, std::string resource,
                           std::string method, std::vector<std::string> args) {
  Transaction tx;
  tx.chain_id = chain_id;
  tx.nonce = random_nonce();
  tx.block_limit = block_limit;
  tx.resource = std::move(resource);
  tx.method = std::move(method);
  tx.args = std::move(args);
  tx.signature = sign_digest(who.secret, tx.signing_digest());
  return tx;
}

inline LedgerConfig test_ledger_config(uint64_t chain_id = 7) {
  LedgerConfig c;
  c.chain_id = chain_id;
  c.max_block_txs = 100;
  c.pool_limit = 50;
  c.resources = {{"store", "kv"}, {"token", "asset"}};
  return c;
}

// Seals whatever is in the pool into the next block (an empty one if the pool is empty) and commits it.
inline ExecutedBlock seal(Ledger &ledger, uint64_t now_ms = 1000) {
  Proposal p = ledger.propose(Address{}, now_ms, true);
  ledger.commit(*p.block);
  return *p.block;
}

} // namespace weft::refchain::test
