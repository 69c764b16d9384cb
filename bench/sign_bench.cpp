// weft-bench-sign: what a signature through the users' key vault costs (the store read, the unsealing, the
// signature), against the bare signature with the key already in hand, in the same run. Also the vault's way
// before 2026-12-07, which derived the public key again from the secret for every signature.
#include "accounts/key_vault.h"
#include "accounts/key_wrap.h"
#include "auth/encoding.h"
#include "auth/user_store.h"
#include "procs.h"
#include "store/store.h"

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <functional>
#include <iostream>

using namespace weft;
using Clock = std::chrono::steady_clock;

namespace {

// Microseconds per call of each function, taken in alternating rounds so that the machine's load weighs on all
// alike.
std::vector<double> per_call(const std::vector<std::function<bool(int)>> &fns, int count, int rounds) {
  std::vector<double> total(fns.size(), 0);
  for (int r = 0; r < rounds; ++r)
    for (size_t f = 0; f < fns.size(); ++f) {
      auto t0 = Clock::now();
      for (int i = 0; i < count / rounds; ++i)
        if (!fns[f](i)) throw std::runtime_error("a signature failed");
      total[f] += std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
    }
  for (auto &t : total)
    t /= (count / rounds) * rounds;
  return total;
}

} // namespace

int main(int argc, char **argv) {
  int count = 2000, rounds = 10;
  CLI::App app{"weft-bench-sign: a signature through the users' key vault against the bare signature, same run"};
  app.add_option("--count", count, "signatures per algorithm and way")->default_val(count);
  app.add_option("--rounds", rounds, "alternating rounds they are split into")->default_val(rounds);
  CLI11_PARSE(app, argc, argv);
  if (count < rounds || rounds < 1) {
    std::cerr << "--count must be at least --rounds, and --rounds at least 1\n";
    return 2;
  }
  std::string dir = bench::make_temp_dir("weft-bench-sign-");
  int status = 0;
  try {
    auto store = store::Store::open(dir + "/data");
    if (!store.ok()) throw std::runtime_error(store.error().message);
    if (auto s = accounts::create_master_key(dir + "/master.key"); !s.ok()) throw std::runtime_error(s.error().message);
    auto vault = accounts::KeyVault::open(**store, dir + "/master.key");
    if (!vault.ok()) throw std::runtime_error(vault.error().message);
    auth::User u;
    u.name = "bench";
    u.salt.assign(16, 1);
    u.pw_hash.assign(32, 2);
    auto user = auth::create_user(**store, u);
    if (!user.ok()) throw std::runtime_error(user.error().message);
    std::printf("%-10s %14s %14s %10s %22s\n", "algorithm", "bare us", "vault us", "vault/bare", "derived again us");
    for (auto alg : {accounts::KeyAlgorithm::Secp256k1, accounts::KeyAlgorithm::Sm2, accounts::KeyAlgorithm::P256}) {
      auto secret = accounts::generate_key(alg);
      if (!secret.ok()) throw std::runtime_error(secret.error().message);
      std::string hex = auth::hex_encode(secret->bytes());
      std::string type = alg == accounts::KeyAlgorithm::Sm2    ? "GM_BCOS3"
                         : alg == accounts::KeyAlgorithm::P256 ? "Fabric2.0"
                                                               : "EVM";
      auto account = (*vault)->add(user->id, type, alg, hex, "", "", true);
      if (!account.ok()) throw std::runtime_error(account.error().message);
      accounts::PublicKey pub{};
      std::copy(account->public_key.begin(), account->public_key.end(), pub.begin());
      std::string alg_name(accounts::name(alg));
      std::uint8_t digest[32] = {7};
      auto t = per_call({[&](int i) {
                           digest[1] = static_cast<std::uint8_t>(i);
                           return accounts::sign(alg, *secret, digest, &pub).ok();
                         },
                         [&](int i) {
                           digest[1] = static_cast<std::uint8_t>(i);
                           return (*vault)->sign(user->id, account->key_id, alg_name, digest).ok();
                         },
                         [&](int i) {
                           digest[1] = static_cast<std::uint8_t>(i);
                           return accounts::sign(alg, *secret, digest).ok() && accounts::public_key(alg, *secret).ok();
                         }},
                        count, rounds);
      std::printf("%-10s %14.1f %14.1f %10.2f %22.1f\n", alg_name.c_str(), t[0], t[1], t[1] / t[0], t[2]);
    }
    std::printf("bare: the signature with the key in hand; vault: KeyVault::sign (store read, unsealing, signature);\n"
                "derived again: the bare signature plus the public key derived from the secret, as the vault did\n");
  } catch (const std::exception &e) {
    std::cerr << "error: " << e.what() << "\n";
    status = 1;
  }
  bench::remove_tree(dir);
  return status;
}
