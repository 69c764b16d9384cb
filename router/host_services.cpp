#include "host_services.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

#include "accounts/key_vault.h"
#include "io_watches.h"
#include "weft/adapter.hpp"

namespace weft {
namespace {

// Every service's context is the HostServices; sign and public_key reach the keystore through it.
const Keystore &keystore_of(void *ctx) { return static_cast<const HostServices *>(ctx)->keystore(); }

int32_t status_of(const Error &e) {
  return e.code == code::kAccountNotFound || e.code == code::kChainAccount ? WEFT_E_ACCOUNT : WEFT_E_INTERNAL;
}

bool copy_out(const uint8_t *src, size_t n, uint8_t *dst, size_t *cap) {
  if (dst == nullptr || cap == nullptr || *cap < n) return false;
  std::memcpy(dst, src, n);
  *cap = n;
  return true;
}

void host_log(void *ctx, int32_t level, const char *chain, const char *message) noexcept {
  try {
    auto lvl = level <= WEFT_LOG_TRACE   ? spdlog::level::trace
               : level == WEFT_LOG_DEBUG ? spdlog::level::debug
               : level == WEFT_LOG_INFO  ? spdlog::level::info
               : level == WEFT_LOG_WARN  ? spdlog::level::warn
                                         : spdlog::level::err;
    spdlog::log(lvl, "[{}] {}", chain ? chain : "?", message ? message : "");
  } catch (...) {
  }
}

int32_t host_sign(void *ctx, const char *account, const char *algorithm, const uint8_t *digest, size_t digest_len,
                  uint8_t *sig, size_t *sig_len, uint8_t *pub, size_t *pub_len, char *err, size_t err_cap) noexcept {
  try {
    if (account == nullptr || algorithm == nullptr || digest == nullptr) {
      plugin::write_error(err, err_cap, "sign needs an account, an algorithm and a digest");
      return WEFT_E_INVALID_ARGUMENT;
    }
    const auto *host = static_cast<const HostServices *>(ctx);
    if (auto handle = accounts::parse_account_handle(account)) {
      if (host->vault() == nullptr) {
        plugin::write_error(err, err_cap, "users' chain accounts need router.master_key_file");
        return WEFT_E_ACCOUNT;
      }
      auto v = host->vault()->sign(handle->first, handle->second, algorithm, {digest, digest_len});
      if (!v.ok()) {
        plugin::write_error(err, err_cap, v.error().message);
        return WEFT_E_ACCOUNT;
      }
      if (!copy_out(v->signature.data(), v->signature.size(), sig, sig_len) ||
          !copy_out(v->public_key.data(), v->public_key.size(), pub, pub_len)) {
        plugin::write_error(err, err_cap, "signature or key buffer too small");
        return WEFT_E_INVALID_ARGUMENT;
      }
      return WEFT_OK;
    }
    const auto &ks = keystore_of(ctx);
    auto s = ks.sign(account, algorithm, {digest, digest_len});
    if (!s.ok()) {
      plugin::write_error(err, err_cap, s.error().message);
      return status_of(s.error());
    }
    if (!copy_out(s->signature.data(), s->signature.size(), sig, sig_len) ||
        !copy_out(s->public_key.data(), s->public_key.size(), pub, pub_len)) {
      plugin::write_error(err, err_cap, "signature or key buffer too small");
      return WEFT_E_INVALID_ARGUMENT;
    }
    return WEFT_OK;
  } catch (const std::exception &e) {
    plugin::write_error(err, err_cap, e.what());
    return WEFT_E_INTERNAL;
  }
}

int32_t host_public_key(void *ctx, const char *account, const char *algorithm, uint8_t *pub, size_t *pub_len,
                        char *err, size_t err_cap) noexcept {
  try {
    if (account == nullptr || algorithm == nullptr) {
      plugin::write_error(err, err_cap, "public_key needs an account and an algorithm");
      return WEFT_E_INVALID_ARGUMENT;
    }
    const auto *host = static_cast<const HostServices *>(ctx);
    if (auto handle = accounts::parse_account_handle(account)) {
      auto v = host->vault() ? host->vault()->public_key(handle->first, handle->second, algorithm)
                             : Result<accounts::PublicKey>(Error{code::kChainAccount, "no key vault"});
      if (!v.ok()) {
        plugin::write_error(err, err_cap, v.error().message);
        return WEFT_E_ACCOUNT;
      }
      if (!copy_out(v->data(), v->size(), pub, pub_len)) {
        plugin::write_error(err, err_cap, "key buffer too small");
        return WEFT_E_INVALID_ARGUMENT;
      }
      return WEFT_OK;
    }
    const auto &ks = keystore_of(ctx);
    auto k = ks.public_key(account, algorithm);
    if (!k.ok()) {
      plugin::write_error(err, err_cap, k.error().message);
      return status_of(k.error());
    }
    if (!copy_out(k->data(), k->size(), pub, pub_len)) {
      plugin::write_error(err, err_cap, "key buffer too small");
      return WEFT_E_INVALID_ARGUMENT;
    }
    return WEFT_OK;
  } catch (const std::exception &e) {
    plugin::write_error(err, err_cap, e.what());
    return WEFT_E_INTERNAL;
  }
}

int32_t host_identity(void *ctx, const char *account, char *cert, size_t *cert_len, char *msp_id, size_t msp_cap,
                      char *err, size_t err_cap) noexcept {
  try {
    if (account == nullptr || cert_len == nullptr) {
      plugin::write_error(err, err_cap, "identity needs an account and a certificate buffer");
      return WEFT_E_INVALID_ARGUMENT;
    }
    const auto &host = *static_cast<const HostServices *>(ctx);
    // A user's chain account carries its own certificate and MSP id.
    std::optional<Identity> user_id;
    if (auto handle = accounts::parse_account_handle(account); handle && host.vault() != nullptr) {
      auto a = host.vault()->find(handle->first, handle->second);
      if (a.ok() && *a && !(*a)->certificate.empty()) user_id = Identity{(*a)->certificate, (*a)->msp_id};
    }
    const Identity *id = user_id ? &*user_id : host.identity(account);
    if (id == nullptr) {
      plugin::write_error(err, err_cap,
                          std::string("account '") + account + "' has no certificate; set certificate and msp_id");
      return WEFT_E_NOT_FOUND;
    }
    if (cert == nullptr || *cert_len < id->certificate_pem.size() || msp_id == nullptr ||
        msp_cap < id->msp_id.size() + 1) {
      *cert_len = id->certificate_pem.size();
      plugin::write_error(err, err_cap, "certificate or MSP id buffer too small");
      return WEFT_E_INVALID_ARGUMENT;
    }
    std::memcpy(cert, id->certificate_pem.data(), id->certificate_pem.size());
    *cert_len = id->certificate_pem.size();
    std::memcpy(msp_id, id->msp_id.c_str(), id->msp_id.size() + 1);
    return WEFT_OK;
  } catch (const std::exception &e) {
    plugin::write_error(err, err_cap, e.what());
    return WEFT_E_INTERNAL;
  }
}

IoWatches *io_of(void *ctx) { return static_cast<const HostServices *>(ctx)->io(); }

int32_t host_io_watch(void *ctx, int fd, void (*on_ready)(void *, uint32_t), void *fn_ctx, uint64_t *watch_id,
                      char *err, size_t err_cap) noexcept {
  try {
    if (watch_id == nullptr) {
      plugin::write_error(err, err_cap, "io_watch needs somewhere to put the watch id");
      return WEFT_E_INVALID_ARGUMENT;
    }
    std::string why;
    *watch_id = io_of(ctx)->watch(fd, on_ready, fn_ctx, why);
    if (*watch_id != 0) return WEFT_OK;
    plugin::write_error(err, err_cap, why);
    return WEFT_E_INVALID_ARGUMENT;
  } catch (const std::exception &e) {
    plugin::write_error(err, err_cap, e.what());
    return WEFT_E_INTERNAL;
  }
}

void host_io_arm(void *ctx, uint64_t watch_id, uint32_t events) noexcept {
  try {
    io_of(ctx)->arm(watch_id, events);
  } catch (const std::exception &e) {
    spdlog::error("io_arm of watch {}: {}", watch_id, e.what());
  }
}

void host_io_unwatch(void *ctx, uint64_t watch_id) noexcept {
  try {
    io_of(ctx)->unwatch(watch_id);
  } catch (const std::exception &e) {
    spdlog::error("io_unwatch of watch {}: {}", watch_id, e.what());
  }
}

} // namespace

void HostServices::set_io(IoWatches *io) {
  io_ = io;
  table_.io_watch = io ? host_io_watch : nullptr;
  table_.io_arm = io ? host_io_arm : nullptr;
  table_.io_unwatch = io ? host_io_unwatch : nullptr;
}

HostServices::HostServices(const Keystore &keystore) : keystore_(keystore) {
  table_.struct_size = sizeof table_;
  table_.host_ctx = this;
  table_.log = host_log;
  table_.sign = host_sign;
  table_.public_key = host_public_key;
  table_.identity = host_identity;
}

Result<std::unique_ptr<HostServices>> HostServices::open(const Keystore &keystore,
                                                         const std::vector<AccountConfig> &accounts) {
  std::unique_ptr<HostServices> host(new HostServices(keystore));
  for (const auto &a : accounts) {
    if (a.certificate.empty()) continue;
    std::ifstream in(a.certificate);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) return Error{code::kInternal, "account '" + a.name + "': cannot read certificate " + a.certificate.string()};
    std::string pem = text.str();
    if (pem.find("-----BEGIN CERTIFICATE-----") == std::string::npos)
      return Error{code::kInternal, "account '" + a.name + "': " + a.certificate.string() + " is not a PEM certificate"};
    host->identities_[a.name] = Identity{std::move(pem), a.msp_id};
  }
  return host;
}

const Identity *HostServices::identity(std::string_view account) const {
  auto it = identities_.find(account);
  return it == identities_.end() ? nullptr : &it->second;
}

} // namespace weft
