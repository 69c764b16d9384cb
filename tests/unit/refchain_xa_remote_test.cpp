// The plugin's XA verbs in remote mode: the plugin opened with "nodes" talks to a node's client API (served here
// from a bare ledger that a thread seals), so start, steps, the busy pre-check, status and rollback go over the wire.
#include "refchain_client_fixture.h"

#include <weft/adapter.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <dlfcn.h>
#include <doctest/doctest.h>
#include <mutex>
#include <thread>

using namespace weft::refchain;
using namespace weft::refchain::test;

namespace {

const weft_adapter_v1 *adapter() {
  static const weft_adapter_v1 *table = [] {
    void *lib = dlopen(WEFT_REFCHAIN_PLUGIN_PATH, RTLD_NOW | RTLD_LOCAL);
    REQUIRE_MESSAGE(lib != nullptr, dlerror());
    auto entry = reinterpret_cast<weft_adapter_entry_v1_fn>(dlsym(lib, WEFT_ADAPTER_ENTRY_SYMBOL));
    REQUIRE(reinterpret_cast<void *>(entry) != nullptr);
    return entry();
  }();
  return table;
}

// Accounts "coordinator" and "user" sign with fixed test keys.
struct Host {
  weft_host_v1 table{};
  TestAccount coordinator{21}, user{22};
  Host() {
    table.struct_size = sizeof table;
    table.host_ctx = this;
    table.log = [](void *, int32_t, const char *, const char *) {};
    table.sign = [](void *ctx, const char *account, const char *, const uint8_t *digest, size_t, uint8_t *sig,
                    size_t *sig_len, uint8_t *pub, size_t *pub_len, char *err, size_t cap) -> int32_t {
      auto *self = static_cast<Host *>(ctx);
      const TestAccount *who = std::strcmp(account, "coordinator") == 0 ? &self->coordinator
                               : std::strcmp(account, "user") == 0      ? &self->user
                                                                        : nullptr;
      if (!who) {
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
  }
};

struct Reply {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  int32_t status = -1;
  std::string message, data;
  static void callback(void *ctx, int32_t status, const char *message, const uint8_t *data, size_t size) {
    auto *self = static_cast<Reply *>(ctx);
    std::lock_guard lock(self->mu);
    self->done = true;
    self->status = status;
    self->message = message ? message : "";
    self->data.assign(reinterpret_cast<const char *>(data), data ? size : 0);
    self->cv.notify_all();
  }
};

struct RemoteChain {
  Node node;
  Host host;
  TempDir dir;
  weft_chain *chain = nullptr;
  std::atomic<bool> stop{false};
  std::thread sealer;

  RemoteChain() {
    sealer = std::thread([this] {
      while (!stop) {
        if (node.ledger.pool_size() > 0) node.commit();
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    });
    std::string config = R"({"chain_id":11,"nodes":[")" + node.address() + R"("],"remote_connections":1})";
    weft_open_args_v1 args{};
    args.struct_size = sizeof args;
    args.host = &host.table;
    args.stub_type = "RefChain";
    args.chain_name = "payment.remote";
    args.config_json = config.c_str();
    args.data_dir = dir.path().c_str();
    char err[512] = {0};
    REQUIRE_MESSAGE(adapter()->open(&args, &chain, err, sizeof err) == WEFT_OK, err);
  }
  ~RemoteChain() {
    if (chain) adapter()->close(chain);
    stop = true;
    sealer.join();
  }
  Reply &run(weft_verb_fn verb, const std::string &request, Reply &r) {
    uint64_t id = 0;
    verb(chain, reinterpret_cast<const uint8_t *>(request.data()), request.size(), 0, &Reply::callback, &r, &id);
    std::unique_lock lock(r.mu);
    REQUIRE(r.cv.wait_for(lock, scaled(10000), [&] { return r.done; }));
    return r;
  }
  json::object ok(weft_verb_fn verb, const std::string &request) {
    Reply r;
    run(verb, request, r);
    REQUIRE_MESSAGE(r.status == WEFT_OK, r.message);
    return json::parse(r.data).as_object();
  }
};

} // namespace

TEST_CASE("xa verbs over a weft-node client API: start, busy, a step, status, rollback") {
  RemoteChain c;
  const weft_adapter_v1 *t = adapter();
  c.ok(t->send_transaction, R"({"resource":"store","method":"set","args":["k","before"],"account":"user"})");
  CHECK(c.ok(t->xa_start, R"({"xaTransactionID":"rm-1","resources":["store"],"account":"coordinator"})") ==
        json::object{{"xaTransactionID", "rm-1"}, {"status", "processing"}});

  // A plain write to the locked resource: while the plugin's view of the locks is the one cached before the start,
  // the chain refuses it at execution (status 7); once the view is fresh, the plugin refuses it before signing.
  const std::string plain = R"({"resource":"store","method":"set","args":["k","plain"],"account":"user"})";
  Reply early;
  c.run(t->send_transaction, plain, early);
  if (early.status == WEFT_OK) {
    CHECK(json::parse(early.data).at("errorCode") == 7);
    CHECK(json::parse(early.data).at("message") == "resource store is locked by XA transaction rm-1");
  } else {
    CHECK(early.status == WEFT_E_BUSY);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  Reply busy;
  c.run(t->send_transaction, plain, busy);
  CHECK(busy.status == WEFT_E_BUSY);
  CHECK(json::parse(busy.data) == json::object{{"holder", "rm-1"}});

  json::object step = c.ok(t->send_transaction, R"({"resource":"store","method":"set","args":["k","during"],
      "account":"user","options":{"XA_TRANSACTION_ID":"rm-1","XA_TRANSACTION_SEQ":1}})");
  CHECK(step.at("errorCode").to_number<int>() == 0);
  CHECK(c.ok(t->call, R"({"resource":"store","method":"get","args":["k"],"options":{"XA_TRANSACTION_ID":"rm-1"}})")
            .at("result")
            .as_array()
            .at(0) == "during");

  Reply other;
  c.run(t->xa_start, R"({"xaTransactionID":"rm-2","resources":["store"],"account":"coordinator"})", other);
  CHECK(other.status == WEFT_E_BUSY);
  CHECK(json::parse(other.data).at("holder") == "rm-1");

  json::object st = c.ok(t->xa_status, R"({"xaTransactionID":"rm-1"})");
  CHECK(st.at("status") == "processing");
  CHECK(st.at("steps").as_array().at(0).at("hash") == step.at("hash"));

  Reply stranger;
  c.run(t->xa_rollback, R"({"xaTransactionID":"rm-1","account":"user"})", stranger);
  CHECK(stranger.status == WEFT_E_ACCOUNT);

  CHECK(c.ok(t->xa_rollback, R"({"xaTransactionID":"rm-1","account":"coordinator"})").at("status") == "rolledback");
  CHECK(c.ok(t->call, R"({"resource":"store","method":"get","args":["k"]})").at("result").as_array().at(0) == "before");
  Reply unknown;
  c.run(t->xa_commit, R"({"xaTransactionID":"rm-unknown","account":"coordinator"})", unknown);
  CHECK(unknown.status == WEFT_E_NOT_FOUND);
  // The lock is gone: after the cached lock view ages out, a plain write goes through.
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  CHECK(c.ok(t->send_transaction, R"({"resource":"store","method":"set","args":["k","after"],"account":"user"})")
            .at("errorCode")
            .to_number<int>() == 0);
}
