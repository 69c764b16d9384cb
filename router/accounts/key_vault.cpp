#include "key_vault.h"

#include <algorithm>
#include <charconv>
#include <fstream>

namespace weft::accounts {

namespace {

// The master key's version is kept beside the key file ("<file>.version"); rows record it, so a rotation that was
// interrupted is visible instead of unsealing garbage.
std::uint32_t read_version(const std::filesystem::path &key_file) {
  std::ifstream in(key_file.string() + ".version");
  std::uint32_t v = 1;
  if (in >> v && v > 0) return v;
  return 1;
}

Status write_version(const std::filesystem::path &key_file, std::uint32_t v) {
  auto tmp = key_file.string() + ".version.tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << v << "\n";
    if (!out) return Error{code::kInternal, "cannot write " + tmp};
  }
  std::error_code ec;
  std::filesystem::rename(tmp, key_file.string() + ".version", ec);
  if (ec) return Error{code::kInternal, "cannot replace the master key's version file: " + ec.message()};
  return Ok{};
}

// A router key's authenticated data: (user 0, key 0, algorithm) and its name, so a sealed key copied to another name
// does not open.
std::vector<std::uint8_t> router_key_aad(const std::string &name, KeyAlgorithm alg) {
  auto aad = account_aad(0, 0, alg);
  aad.insert(aad.end(), name.begin(), name.end());
  return aad;
}

} // namespace

KeyAlgorithm algorithm_for_stub_type(std::string_view t) {
  if (t.starts_with("GM_")) return KeyAlgorithm::Sm2;
  if (t.starts_with("Fabric")) return KeyAlgorithm::P256;
  return KeyAlgorithm::Secp256k1;
}

std::string account_handle(std::int64_t user_id, std::int64_t key_id) {
  return "ua:" + std::to_string(user_id) + ":" + std::to_string(key_id);
}

std::optional<std::pair<std::int64_t, std::int64_t>> parse_account_handle(std::string_view h) {
  if (!h.starts_with("ua:")) return std::nullopt;
  h.remove_prefix(3);
  auto colon = h.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::int64_t u = 0, k = 0;
  auto a = std::from_chars(h.data(), h.data() + colon, u);
  auto b = std::from_chars(h.data() + colon + 1, h.data() + h.size(), k);
  if (a.ec != std::errc() || a.ptr != h.data() + colon || b.ec != std::errc() || b.ptr != h.data() + h.size() || u <= 0 ||
      k <= 0)
    return std::nullopt;
  return std::pair{u, k};
}

Result<std::unique_ptr<KeyVault>> KeyVault::open(store::Store &store, const std::filesystem::path &file) {
  auto key = load_master_key(file);
  if (!key.ok()) return key.error();
  return std::unique_ptr<KeyVault>(new KeyVault(store, std::move(*key), read_version(file)));
}

Result<SecretKey> KeyVault::unseal(const auth::SealedChainAccount &row) const {
  auto alg = parse_algorithm(row.account.algorithm);
  if (!alg) return Error{code::kChainAccount, "chain account has an unknown algorithm " + row.account.algorithm};
  if (row.sealed.key_version != static_cast<std::int64_t>(version_))
    return Error{code::kChainAccount, "chain account " + std::to_string(row.account.key_id) +
                                          " is sealed under master key version " +
                                          std::to_string(row.sealed.key_version) + ", the router has version " +
                                          std::to_string(version_) + "; finish the rotation (weft-router key rotate)"};
  accounts::SealedKey s;
  s.key_version = static_cast<std::uint32_t>(row.sealed.key_version);
  if (row.sealed.nonce.size() != s.nonce.size()) return Error{code::kChainAccount, "chain account's nonce is damaged"};
  std::copy(row.sealed.nonce.begin(), row.sealed.nonce.end(), s.nonce.begin());
  s.ciphertext = row.sealed.ciphertext;
  return accounts::open(master_, s, account_aad(row.account.user_id, row.account.key_id, *alg));
}

Result<auth::ChainAccount> KeyVault::add(std::int64_t user_id, const std::string &chain_type, KeyAlgorithm alg,
                                         std::string_view secret_hex, const std::string &certificate,
                                         const std::string &msp_id, bool make_default) {
  auto secret = secret_hex.empty() ? generate_key(alg) : parse_secret_hex(alg, secret_hex);
  if (!secret.ok()) return Error{code::kChainAccount, secret.error().message};
  auto pub = accounts::public_key(alg, *secret);
  if (!pub.ok()) return pub.error();
  // Two adds for one user at once may pick the same id: the store refuses the second, which tries the next.
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto key_id = auth::next_key_id(store_, user_id);
    if (!key_id.ok()) return key_id.error();
    auto sealed = seal(master_, version_, secret->bytes(), account_aad(user_id, *key_id, alg));
    if (!sealed.ok()) return sealed.error();
    auth::ChainAccount a;
    a.user_id = user_id;
    a.key_id = *key_id;
    a.chain_type = chain_type;
    a.algorithm = std::string(name(alg));
    a.public_key.assign(pub->begin(), pub->end());
    a.certificate = certificate;
    a.msp_id = msp_id;
    auth::SealedKey row{static_cast<std::int64_t>(sealed->key_version),
                        std::vector<std::uint8_t>(sealed->nonce.begin(), sealed->nonce.end()), sealed->ciphertext};
    auto added = auth::add_chain_account(store_, a, row);
    if (!added.ok()) continue;
    if (make_default && !added->is_default) {
      if (auto s = auth::set_default_chain_account(store_, user_id, added->key_id); !s.ok()) return s.error();
      added->is_default = true;
    }
    return added;
  }
  return Error{code::kChainAccount, "cannot store the chain account; try again"};
}

Result<std::optional<auth::ChainAccount>> KeyVault::find(std::int64_t user_id, std::int64_t key_id) {
  auto list = auth::list_chain_accounts(store_, user_id);
  if (!list.ok()) return list.error();
  for (auto &a : *list)
    if (a.key_id == key_id) return std::optional<auth::ChainAccount>(std::move(a));
  return std::optional<auth::ChainAccount>();
}

Result<std::optional<auth::ChainAccount>> KeyVault::default_for(std::int64_t user_id, std::string_view chain_type) {
  auto list = auth::list_chain_accounts(store_, user_id);
  if (!list.ok()) return list.error();
  for (auto &a : *list)
    if (a.is_default && a.chain_type == chain_type) return std::optional<auth::ChainAccount>(std::move(a));
  return std::optional<auth::ChainAccount>();
}

Result<Signature> KeyVault::sign(std::int64_t user_id, std::int64_t key_id, std::string_view algorithm,
                                 std::span<const std::uint8_t> digest) {
  auto row = auth::sealed_chain_account(store_, user_id, key_id);
  if (!row.ok()) return row.error();
  if (!*row) return Error{code::kAccountNotFound, "no chain account " + std::to_string(key_id) + " of that user"};
  if ((*row)->account.algorithm != algorithm)
    return Error{code::kChainAccount, "chain account " + std::to_string(key_id) + " signs with " +
                                          (*row)->account.algorithm + ", the chain asked for " + std::string(algorithm)};
  // The key the account was registered with, checked against the sealed secret once per process and row (a point
  // multiplication), not derived again for every signature; SM2 and P-256 signing take it too.
  const auto &stored = (*row)->account.public_key;
  if (stored.size() != PublicKey{}.size())
    return Error{code::kChainAccount, "chain account " + std::to_string(key_id) + "'s public key is damaged"};
  PublicKey pub{};
  std::copy(stored.begin(), stored.end(), pub.begin());
  auto secret = unseal(**row);
  if (!secret.ok()) return secret.error();
  auto alg = *parse_algorithm(algorithm);
  const auto &sealed = (*row)->sealed;
  CheckedRow seen{stored, sealed.key_version, sealed.nonce, sealed.ciphertext};
  bool checked = false;
  {
    std::lock_guard lock(checked_mu_);
    auto it = checked_.find({user_id, key_id});
    checked = it != checked_.end() && it->second == seen;
  }
  if (!checked) {
    auto derived = accounts::public_key(alg, *secret);
    if (!derived.ok()) return derived.error();
    if (*derived != pub)
      return Error{code::kChainAccount, "chain account " + std::to_string(key_id) +
                                            "'s sealed key does not belong to its registered public key: the row "
                                            "was changed; it signs nothing"};
    std::lock_guard lock(checked_mu_);
    checked_[{user_id, key_id}] = std::move(seen);
  }
  auto sig = accounts::sign(alg, *secret, digest, &pub);
  if (!sig.ok()) return sig.error();
  return Signature{std::move(*sig), pub};
}

Result<PublicKey> KeyVault::public_key(std::int64_t user_id, std::int64_t key_id, std::string_view algorithm) {
  auto a = find(user_id, key_id);
  if (!a.ok()) return a.error();
  if (!*a) return Error{code::kAccountNotFound, "no chain account " + std::to_string(key_id) + " of that user"};
  if ((*a)->algorithm != algorithm || (*a)->public_key.size() != 64)
    return Error{code::kChainAccount, "chain account " + std::to_string(key_id) + " signs with " + (*a)->algorithm +
                                          ", the chain asked for " + std::string(algorithm)};
  PublicKey p{};
  std::copy((*a)->public_key.begin(), (*a)->public_key.end(), p.begin());
  return p;
}

Result<std::optional<SecretKey>> KeyVault::load_router_key(const std::string &name, KeyAlgorithm alg) const {
  auto row = auth::find_router_key(store_, name);
  if (!row.ok()) return row.error();
  if (!*row) return std::optional<SecretKey>();
  if ((*row)->algorithm != accounts::name(alg))
    return Error{code::kChainAccount, "router account '" + name + "' is stored as " + (*row)->algorithm};
  if ((*row)->sealed.key_version != static_cast<std::int64_t>(version_) ||
      (*row)->sealed.nonce.size() != 12)
    return Error{code::kChainAccount, "router account '" + name + "' is sealed under master key version " +
                                          std::to_string((*row)->sealed.key_version) + ", the router has " +
                                          std::to_string(version_)};
  accounts::SealedKey s;
  s.key_version = version_;
  std::copy((*row)->sealed.nonce.begin(), (*row)->sealed.nonce.end(), s.nonce.begin());
  s.ciphertext = (*row)->sealed.ciphertext;
  auto secret = accounts::open(master_, s, router_key_aad(name, alg));
  if (!secret.ok()) return secret.error();
  return std::optional<SecretKey>(std::move(*secret));
}

Status KeyVault::save_router_key(const std::string &name, KeyAlgorithm alg, const SecretKey &secret) {
  auto sealed = seal(master_, version_, secret.bytes(), router_key_aad(name, alg));
  if (!sealed.ok()) return sealed.error();
  return auth::add_router_key(store_, auth::SealedRouterKey{
                                          name, std::string(accounts::name(alg)),
                                          auth::SealedKey{static_cast<std::int64_t>(sealed->key_version),
                                                          std::vector<std::uint8_t>(sealed->nonce.begin(),
                                                                                    sealed->nonce.end()),
                                                          sealed->ciphertext}});
}

namespace {
std::vector<std::uint8_t> secret_aad(std::string_view label) {
  std::string aad = "weft-htlc-secret-v1:" + std::string(label);
  return std::vector<std::uint8_t>(aad.begin(), aad.end());
}
} // namespace

Status KeyVault::rotate(store::Store &store, const std::filesystem::path &file) {
  auto old_key = load_master_key(file);
  if (!old_key.ok()) return old_key.error();
  std::uint32_t old_version = read_version(file);
  // The new key is written beside the old one first: if anything fails before the swap, nothing changed.
  std::filesystem::path next = file.string() + ".next";
  std::error_code ec;
  std::filesystem::remove(next, ec);
  if (auto s = create_master_key(next); !s.ok()) return s;
  auto new_key = load_master_key(next);
  if (!new_key.ok()) return new_key.error();
  std::uint32_t new_version = old_version + 1;
  auto resealed = auth::reseal_chain_accounts(store, [&](const auth::ChainAccount &a, const auth::SealedKey &s)
                                                         -> Result<auth::SealedKey> {
    bool htlc_secret = a.user_id == 0 && a.chain_type.starts_with("htlc:");
    auto alg = htlc_secret ? std::optional<KeyAlgorithm>(KeyAlgorithm::Secp256k1) : parse_algorithm(a.algorithm);
    if (!alg) return Error{code::kInternal, "unknown algorithm " + a.algorithm};
    accounts::SealedKey old;
    old.key_version = static_cast<std::uint32_t>(s.key_version);
    if (s.nonce.size() != old.nonce.size()) return Error{code::kInternal, "damaged nonce"};
    std::copy(s.nonce.begin(), s.nonce.end(), old.nonce.begin());
    old.ciphertext = s.ciphertext;
    auto aad = htlc_secret ? secret_aad(a.chain_type.substr(5))
               : a.user_id == 0 && a.chain_type.starts_with("router:")
                   ? router_key_aad(a.chain_type.substr(7), *alg)
                   : account_aad(a.user_id, a.key_id, *alg);
    auto secret = accounts::open(*old_key, old, aad);
    if (!secret.ok()) return secret.error();
    auto sealed = seal(*new_key, new_version, secret->bytes(), aad);
    if (!sealed.ok()) return sealed.error();
    return auth::SealedKey{static_cast<std::int64_t>(new_version),
                           std::vector<std::uint8_t>(sealed->nonce.begin(), sealed->nonce.end()), sealed->ciphertext};
  });
  if (!resealed.ok()) {
    std::filesystem::remove(next, ec);
    return resealed.error();
  }
  // Committed: the rows need the new key now. Swap the files; a crash between the two steps leaves ".next" holding
  // the key the rows need, and the error message of the next start says so.
  if (auto s = write_version(file, new_version); !s.ok()) return s;
  std::filesystem::rename(next, file, ec);
  if (ec) return Error{code::kInternal, "rows re-sealed, but " + next.string() + " could not replace " + file.string() +
                                            ": " + ec.message() + "; move it there by hand"};
  return Ok{};
}

Result<SealedKey> KeyVault::seal_secret(std::span<const std::uint8_t> secret, std::string_view label) const {
  return accounts::seal(master_, version_, secret, secret_aad(label));
}

Result<SecretKey> KeyVault::open_secret(const SealedKey &sealed, std::string_view label) const {
  return accounts::open(master_, sealed, secret_aad(label));
}

} // namespace weft::accounts
