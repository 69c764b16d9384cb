// The adapter side's C++ wrapper over adapter.h: a once-only completion, exception-proof trampolines and the
// host services as C++ calls. Header-only, so a third-party adapter needs nothing of Weft's but this folder.
#pragma once

#include <weft/adapter.h>
#include <weft/io_loop.hpp>

#include <atomic>
#include <cstddef>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace weft::plugin {

// Copies a message into a caller-owned error buffer, always NUL-terminated, truncated if need be.
inline void write_error(char *err, size_t cap, std::string_view message) noexcept {
  if (err == nullptr || cap == 0) return;
  size_t n = message.size() < cap - 1 ? message.size() : cap - 1;
  std::memcpy(err, message.data(), n);
  err[n] = '\0';
}

// An error an adapter throws inside its own code; the trampolines turn it into a status and message.
struct Failure : std::exception {
  int32_t status;
  std::string message;
  Failure(int32_t s, std::string m) : status(s), message(std::move(m)) {}
  const char *what() const noexcept override { return message.c_str(); }
};

// The completion of one asynchronous verb. Copyable handle; the callback runs exactly once: the first of
// succeed/fail wins, and if every copy is dropped without either, the host hears WEFT_E_INTERNAL rather
// than waiting forever.
class Completion {
 public:
  Completion() = default;
  Completion(weft_callback cb, void *ctx) : state_(std::make_shared<State>(cb, ctx)) {}

  void succeed(std::string_view json) const { finish(WEFT_OK, "", json); }
  void fail(int32_t status, std::string_view message) const { finish(status, message, {}); }
  // A failure with a JSON object of details, e.g. {"hash":"0x.."} for a sent transaction whose outcome is unknown.
  void fail(int32_t status, std::string_view message, std::string_view details_json) const {
    finish(status, message, details_json);
  }
  bool done() const { return !state_ || state_->fired.load(); }

 private:
  struct State {
    weft_callback cb;
    void *ctx;
    std::atomic<bool> fired{false};
    State(weft_callback c, void *x) : cb(c), ctx(x) {}
    ~State() {
      if (!fired.exchange(true) && cb != nullptr)
        cb(ctx, WEFT_E_INTERNAL, "adapter dropped the operation without an answer", nullptr, 0);
    }
  };
  void finish(int32_t status, std::string_view message, std::string_view data) const {
    if (!state_ || state_->fired.exchange(true) || state_->cb == nullptr) return;
    std::string msg(message);
    state_->cb(state_->ctx, status, msg.c_str(), reinterpret_cast<const uint8_t *>(data.data()), data.size());
  }
  std::shared_ptr<State> state_;
};

// Runs body(completion) and turns any exception that escapes into a failed completion. Use it in every
// exported verb: nothing may unwind across the C boundary.
template <class Body>
void guarded(weft_callback cb, void *ctx, Body &&body) noexcept {
  Completion done(cb, ctx);
  try {
    body(done);
  } catch (const Failure &f) {
    done.fail(f.status, f.message);
  } catch (const std::bad_alloc &) {
    done.fail(WEFT_E_INTERNAL, "out of memory");
  } catch (const std::exception &e) {
    done.fail(WEFT_E_INTERNAL, e.what());
  } catch (...) {
    done.fail(WEFT_E_INTERNAL, "unknown exception in adapter");
  }
}

// For the calls that answer by return value (open, subscribe_v2): runs body(), which returns a weft_status, and turns
// any exception into a status with its message written into err.
template <class Body>
int32_t guarded_status(char *err, size_t err_cap, Body &&body) noexcept {
  try {
    return body();
  } catch (const Failure &f) {
    write_error(err, err_cap, f.message);
    return f.status;
  } catch (const std::bad_alloc &) {
    write_error(err, err_cap, "out of memory");
    return WEFT_E_INTERNAL;
  } catch (const std::exception &e) {
    write_error(err, err_cap, e.what());
    return WEFT_E_INTERNAL;
  } catch (...) {
    write_error(err, err_cap, "unknown exception in the adapter");
    return WEFT_E_INTERNAL;
  }
}

struct Signature {
  std::vector<uint8_t> signature;
  std::vector<uint8_t> public_key; // uncompressed, without the 0x04 prefix
};

// The host services of one open chain, as C++ calls. Throws Failure when the host refuses.
class Host {
 public:
  Host() = default;
  Host(const weft_host_v1 *host, std::string chain) : host_(host), chain_(std::move(chain)) {}

  void log(weft_log_level level, const std::string &message) const noexcept {
    if (host_ != nullptr && host_->log != nullptr) host_->log(host_->host_ctx, level, chain_.c_str(), message.c_str());
  }
  void info(const std::string &m) const noexcept { log(WEFT_LOG_INFO, m); }
  void warn(const std::string &m) const noexcept { log(WEFT_LOG_WARN, m); }
  void error(const std::string &m) const noexcept { log(WEFT_LOG_ERROR, m); }
  void debug(const std::string &m) const noexcept { log(WEFT_LOG_DEBUG, m); }

  Signature sign(const std::string &account, const char *algorithm, const uint8_t *digest, size_t len) const {
    if (host_ == nullptr || host_->sign == nullptr) throw Failure(WEFT_E_ACCOUNT, "host offers no signing service");
    Signature out;
    out.signature.resize(128);
    out.public_key.resize(128);
    size_t sig_len = out.signature.size(), pub_len = out.public_key.size();
    char err[256] = {0};
    int32_t rc = host_->sign(host_->host_ctx, account.c_str(), algorithm, digest, len, out.signature.data(), &sig_len,
                             out.public_key.data(), &pub_len, err, sizeof err);
    if (rc != WEFT_OK) throw Failure(rc, err[0] ? err : "signing failed");
    out.signature.resize(sig_len);
    out.public_key.resize(pub_len);
    return out;
  }

  std::vector<uint8_t> public_key(const std::string &account, const char *algorithm) const {
    if (host_ == nullptr || host_->public_key == nullptr) throw Failure(WEFT_E_ACCOUNT, "host offers no key service");
    std::vector<uint8_t> pub(128);
    size_t pub_len = pub.size();
    char err[256] = {0};
    int32_t rc = host_->public_key(host_->host_ctx, account.c_str(), algorithm, pub.data(), &pub_len, err, sizeof err);
    if (rc != WEFT_OK) throw Failure(rc, err[0] ? err : "no such account");
    pub.resize(pub_len);
    return pub;
  }

  // The account's certificate (PEM) and MSP id, for chains that name signers by certificate. Throws Failure
  // (WEFT_E_UNSUPPORTED) when the host predates the identity service.
  std::pair<std::string, std::string> identity(const std::string &account) const {
    if (host_ == nullptr || host_->struct_size < offsetof(weft_host_v1, identity) + sizeof(host_->identity) ||
        host_->identity == nullptr)
      throw Failure(WEFT_E_UNSUPPORTED, "host offers no identity service");
    std::string cert(8192, '\0');
    size_t cert_len = cert.size();
    char msp[256] = {0};
    char err[256] = {0};
    int32_t rc = host_->identity(host_->host_ctx, account.c_str(), cert.data(), &cert_len, msp, sizeof msp, err,
                                 sizeof err);
    if (rc != WEFT_OK) throw Failure(rc, err[0] ? err : "no identity for the account");
    cert.resize(cert_len);
    return {cert, msp};
  }

  // The host's event loop (io_watch, io_arm, io_unwatch in adapter.h), or false when the host lends none.
  bool has_io() const noexcept {
    return host_ != nullptr && host_->struct_size >= offsetof(weft_host_v1, io_unwatch) + sizeof(host_->io_unwatch) &&
           host_->io_watch != nullptr && host_->io_arm != nullptr && host_->io_unwatch != nullptr;
  }
  // Registers fd; throws Failure when the host lends no loop or refuses the descriptor.
  uint64_t io_watch(int fd, void (*on_ready)(void *ctx, uint32_t ready), void *ctx) const {
    if (!has_io()) throw Failure(WEFT_E_UNSUPPORTED, "host lends no event loop");
    uint64_t id = 0;
    char err[256] = {0};
    int32_t rc = host_->io_watch(host_->host_ctx, fd, on_ready, ctx, &id, err, sizeof err);
    if (rc != WEFT_OK) throw Failure(rc, err[0] ? err : "the host refused to watch the descriptor");
    return id;
  }
  void io_arm(uint64_t watch_id, uint32_t events) const noexcept { host_->io_arm(host_->host_ctx, watch_id, events); }
  void io_unwatch(uint64_t watch_id) const noexcept { host_->io_unwatch(host_->host_ctx, watch_id); }

  const std::string &chain() const { return chain_; }

 private:
  const weft_host_v1 *host_ = nullptr;
  std::string chain_;
};

// The host's event loop as an IoLoop (io_loop.hpp). Only where host.has_io(); the Host must outlive it.
class HostIoLoop : public IoLoop {
 public:
  explicit HostIoLoop(const Host &host) : host_(host) {}
  uint64_t watch(int fd, void (*on_ready)(void *, uint32_t), void *ctx) override {
    return host_.io_watch(fd, on_ready, ctx);
  }
  void arm(uint64_t id, uint32_t events) override { host_.io_arm(id, events); }
  void unwatch(uint64_t id) override { host_.io_unwatch(id); }

 private:
  const Host &host_;
};

} // namespace weft::plugin

// Declares the exported entry point. Use once per library: WEFT_ADAPTER_ENTRY(table)
#define WEFT_ADAPTER_ENTRY(table)                                                                                     \
  extern "C" __attribute__((visibility("default"))) const weft_adapter_v1 *weft_adapter_entry_v1(void) {              \
    return &(table);                                                                                                   \
  }
