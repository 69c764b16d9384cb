// The plugin test fixtures: the built library through its C entry point, a fake host that signs with test keys,
// a verb answer to wait for, and an open chain. Shared by the plugin tests.
#pragma once

#include "chain_json.h"
#include "proof.h"
#include "refchain_test_support.h"

#include <weft/adapter.h>

#include <boost/json.hpp>
#include <dlfcn.h>
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <set>

using namespace weft::refchain;
using namespace weft::refchain::test;
namespace json = boost::json;

namespace {

const weft_adapter_v1 *adapter() {
  // Loaded once and never closed, as the router does.
  static const weft_adapter_v1 *table = [] {
    void *lib = dlopen(WEFT_REFCHAIN_PLUGIN_PATH, RTLD_NOW | RTLD_LOCAL);
    REQUIRE_MESSAGE(lib != nullptr, dlerror());
    auto entry = reinterpret_cast<weft_adapter_entry_v1_fn>(dlsym(lib, WEFT_ADAPTER_ENTRY_SYMBOL));
    REQUIRE(reinterpret_cast<void *>(entry) != nullptr);
    return entry();
  }();
  return table;
}

// The host: accounts "alice" and "bob" sign with fixed test keys; anything else is unknown.
struct FakeHost {
  weft_host_v1 table{};
  TestAccount alice{5}, bob{6};
  FakeHost() {
    table.struct_size = sizeof table;
    table.host_ctx = this;
    table.log = [](void *, int32_t, const char *, const char *) {};
    table.sign = [](void *ctx, const char *account, const char *algorithm, const uint8_t *digest, size_t len,
                    uint8_t *sig, size_t *sig_len, uint8_t *pub, size_t *pub_len, char *err, size_t cap) -> int32_t {
      auto *self = static_cast<FakeHost *>(ctx);
      const TestAccount *who = self->find(account);
      if (!who || std::strcmp(algorithm, "secp256k1") != 0 || len != 32 || *sig_len < 65 || *pub_len < 64) {
        std::snprintf(err, cap, "no such account");
        return WEFT_E_ACCOUNT;
      }
      Hash d{};
      std::memcpy(d.data(), digest, 32);
      Signature s = sign_digest(who->secret, d);
      std::memcpy(sig, s.data(), 65);
      *sig_len = 65;
      std::memcpy(pub, who->pub.data(), 64);
      *pub_len = 64;
      return WEFT_OK;
    };
    table.public_key = [](void *ctx, const char *account, const char *, uint8_t *pub, size_t *pub_len, char *err,
                          size_t cap) -> int32_t {
      const TestAccount *who = static_cast<FakeHost *>(ctx)->find(account);
      if (!who) {
        std::snprintf(err, cap, "no such account");
        return WEFT_E_ACCOUNT;
      }
      std::memcpy(pub, who->pub.data(), 64);
      *pub_len = 64;
      return WEFT_OK;
    };
  }
  const TestAccount *find(const char *name) const {
    if (std::strcmp(name, "alice") == 0) return &alice;
    if (std::strcmp(name, "bob") == 0) return &bob;
    return nullptr;
  }
};

// One verb's answer, delivered on the adapter's thread.
struct Answer {
  std::mutex mu;
  std::condition_variable cv;
  int calls = 0;
  int32_t status = -1;
  std::string message, data;

  static void callback(void *ctx, int32_t status, const char *message, const uint8_t *data, size_t size) {
    auto *self = static_cast<Answer *>(ctx);
    std::lock_guard lock(self->mu);
    self->calls++;
    self->status = status;
    self->message = message ? message : "";
    self->data.assign(reinterpret_cast<const char *>(data), data ? size : 0);
    self->cv.notify_all();
  }
  bool wait(int ms = 10000) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, scaled(ms), [&] { return calls > 0; });
  }
  json::object object() const { return json::parse(data).as_object(); }
};

struct OpenChain {
  FakeHost host;
  TempDir dir;
  weft_chain *chain = nullptr;
  int32_t open_status = -1;
  std::string open_error;

  explicit OpenChain(const std::string &config, const TempDir *reuse = nullptr) { open(config, reuse); }
  ~OpenChain() { close(); }
  void open(const std::string &config, const TempDir *reuse = nullptr) {
    weft_open_args_v1 args{};
    args.struct_size = sizeof args;
    args.host = &host.table;
    args.stub_type = "RefChain";
    args.chain_name = "payment.ref";
    args.config_json = config.c_str();
    args.data_dir = (reuse ? reuse : &dir)->path().c_str();
    char err[512] = {0};
    open_status = adapter()->open(&args, &chain, err, sizeof err);
    open_error = err;
  }
  void close() {
    if (chain) adapter()->close(chain);
    chain = nullptr;
  }
  // Runs a verb to completion and returns its answer.
  void run(weft_verb_fn verb, const std::string &request, Answer &a, uint32_t deadline_ms = 0, uint64_t *op = nullptr) {
    uint64_t id = 0;
    verb(chain, reinterpret_cast<const uint8_t *>(request.data()), request.size(), deadline_ms, &Answer::callback, &a,
         op ? op : &id);
  }
  json::object ok(weft_verb_fn verb, const std::string &request) {
    Answer a;
    run(verb, request, a);
    REQUIRE(a.wait());
    REQUIRE_MESSAGE(a.status == WEFT_OK, a.message);
    return a.object();
  }
  int32_t status(weft_verb_fn verb, const std::string &request, std::string *message = nullptr) {
    Answer a;
    run(verb, request, a);
    REQUIRE(a.wait());
    if (message) *message = a.message;
    return a.status;
  }
};

const std::string kFast = R"({"chain_id": 3, "block_interval_ms": 5, "empty_block_interval_ms": 60000})";
const std::string kStalled = R"({"chain_id": 3, "block_interval_ms": 60000, "empty_block_interval_ms": 60000})";

} // namespace
