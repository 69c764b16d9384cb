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
  int calls = 0; // callbacks run: must end at exactly one
  int32_t status = -1;
  std::string message, data;
  static void callback(void *ctx, int32_t status, const char *message, const uint8_t *data, size_t size) {
    auto *self = static_cast<Reply *>(ctx);
    std::lock_guard lock(self->mu);
    ++self->calls;
    self->done = true;
    self->status = status;
    self->message = message ? message : "";
    self->data.assign(reinterpret_cast<const char *>(data), data ? size : 0);
    self->cv.notify_all();
  }
};

// The plugin in remote mode against one in-process node whose ledger is `node_config`; `plugin_options` are extra
// chain options (JSON members, comma-led) for the plugin, e.g. the same resources as the node's.
struct RemoteChain {
  Node node;
  Host host;
  TempDir dir;
  weft_chain *chain = nullptr;
  std::atomic<bool> stop{false};
  std::thread sealer;

  explicit RemoteChain(LedgerConfig node_config = test_ledger_config(kChain), const std::string &plugin_options = "",
                       const std::string &nodes = "")
      : node(std::move(node_config)) {
    sealer = std::thread([this] {
      while (!stop) {
        if (node.ledger.pool_size() > 0) node.commit();
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    });
    std::string config = R"({"chain_id":11,"nodes":[")" + (nodes.empty() ? node.address() : nodes) +
                         R"("],"remote_connections":1)" + plugin_options + "}";
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
  uint64_t start(weft_verb_fn verb, const std::string &request, Reply &r, uint32_t deadline_ms = 0) {
    uint64_t id = 0;
    verb(chain, reinterpret_cast<const uint8_t *>(request.data()), request.size(), deadline_ms, &Reply::callback, &r,
         &id);
    return id;
  }
  Reply &run(weft_verb_fn verb, const std::string &request, Reply &r) {
    start(verb, request, r);
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

// Remote mode's plain reads go to the node from the calling thread and complete on the connection's thread (no
// worker); what ends them — the answer, the node's refusal, the deadline, a cancel, the chain's close — completes
// each exactly once.
TEST_CASE("remote reads without a worker complete exactly once: answered, refused, timed out, cancelled, closed") {
  const weft_adapter_v1 *t = adapter();
  {
    RemoteChain c;
    c.ok(t->send_transaction, R"({"resource":"store","method":"set","args":["k","v"],"account":"user"})");
    CHECK(c.ok(t->call, R"({"resource":"store","method":"get","args":["k"],"options":{}})").at("result").as_array() ==
          json::array{"v"});
    CHECK(c.ok(t->block_height, "{}").at("height").to_number<uint64_t>() >= 1);
    CHECK(c.ok(t->get_block, R"({"number":1})").at("number") == 1);
    Reply missing, unknown, malformed;
    c.run(t->get_block, R"({"number":99999})", missing);
    CHECK(missing.status == WEFT_E_NOT_FOUND);
    CHECK(missing.message.find("99999") != std::string::npos);
    c.run(t->call, R"({"resource":"nothing","method":"get","args":["k"]})", unknown);
    CHECK(unknown.status == WEFT_E_NOT_FOUND);
    c.run(t->call, "{", malformed);
    CHECK(malformed.status == WEFT_E_INVALID_ARGUMENT);
    // Many reads at once, more than the chain has workers: all answered, each once.
    std::vector<Reply> many(40);
    for (auto &r : many)
      c.start(t->call, R"({"resource":"store","method":"get","args":["k"]})", r);
    for (auto &r : many) {
      std::unique_lock lock(r.mu);
      REQUIRE(r.cv.wait_for(lock, scaled(10000), [&] { return r.done; }));
      CHECK(r.status == WEFT_OK);
    }
    for (auto &r : {&missing, &unknown, &malformed})
      CHECK(r->calls == 1);
    for (auto &r : many)
      CHECK(r.calls == 1);
  }
  // A node that never answers: the deadline, a cancel and the close each end a read.
  SilentNode silent;
  Reply timed_out, cancelled, closed;
  {
    RemoteChain c(test_ledger_config(kChain), "", silent.address());
    const std::string read = R"({"resource":"store","method":"get","args":["k"]})";
    c.start(t->call, read, timed_out, 300);
    uint64_t op = c.start(t->call, read, cancelled);
    CHECK(op != 0);
    t->cancel(c.chain, op);
    c.start(t->get_receipt, R"({"hash":"0x00"})", closed);
    {
      std::unique_lock lock(timed_out.mu);
      REQUIRE(timed_out.cv.wait_for(lock, scaled(10000), [&] { return timed_out.done; }));
    }
    CHECK(timed_out.status == WEFT_E_TIMEOUT);
    CHECK(cancelled.status == WEFT_E_CANCELLED);
  } // closes the chain with the receipt read still waiting
  CHECK(closed.status == WEFT_E_CANCELLED);
  for (auto *r : {&timed_out, &cancelled, &closed})
    CHECK(r->calls == 1);
}

namespace {

struct HtlcNode {
  static LedgerConfig config() {
    LedgerConfig c = test_ledger_config(kChain);
    c.resources = {{"token", "asset", ""}, {"htlc", "htlc", "token"}};
    return c;
  }
};

// A remote chain whose node has an htlc resource; the plugin is configured alike.
struct RemoteHtlcChain : RemoteChain {
  RemoteHtlcChain()
      : RemoteChain(HtlcNode::config(), R"(,"block_interval_ms":20,"resources":[{"name":"token","contract":"asset"},
                         {"name":"htlc","contract":"htlc","asset":"token"}])") {}
};

struct RemoteRecords {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<json::object> list;
  static void on_record(void *ctx, const uint8_t *data, size_t size) {
    auto *self = static_cast<RemoteRecords *>(ctx);
    std::lock_guard lock(self->mu);
    self->list.push_back(json::parse(std::string(reinterpret_cast<const char *>(data), size)).as_object());
    self->cv.notify_all();
  }
  bool wait_for(size_t n) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, scaled(10000), [&] { return list.size() >= n; });
  }
};

std::string hex32(uint8_t fill) {
  Hash h{};
  h.fill(fill);
  return to_hex(h);
}

} // namespace

TEST_CASE("htlc verbs and subscribe_v2 over a weft-node client API: lock, refused claim, claim, status, events") {
  RemoteRecords events, blocks; // outlive the chain, whose close ends their streams
  RemoteHtlcChain c;
  const weft_adapter_v1 *t = adapter();
  std::string user = c.host.user.addr(), coordinator = c.host.coordinator.addr();
  json::object minted = c.ok(t->send_transaction, R"({"resource":"token","method":"mint","args":[")" + user +
                                                      R"(","100"],"account":"user"})");
  REQUIRE(minted.at("errorCode").to_number<int>() == 0);

  uint64_t events_id = 0, blocks_id = 0;
  char err[256] = {0};
  std::string req = R"({"kind":"events","resource":"htlc","from":"0"})"; // replays from block 1
  REQUIRE(t->subscribe_v2(c.chain, reinterpret_cast<const uint8_t *>(req.data()), req.size(), &RemoteRecords::on_record,
                          &events, &events_id, err, sizeof err) == WEFT_OK);
  req = R"({"kind":"blocks","from":"0"})";
  REQUIRE(t->subscribe_v2(c.chain, reinterpret_cast<const uint8_t *>(req.data()), req.size(), &RemoteRecords::on_record,
                          &blocks, &blocks_id, err, sizeof err) == WEFT_OK);

  std::string secret = hex32(0x42), id = hex32(0x07);
  std::string hash = to_hex(sha256(hash_from_hex(secret)));
  // The node's blocks are stamped 1000, 1001, ...: a timelock of 100000 is far ahead in its chain time.
  json::object locked = c.ok(t->htlc_lock, json::serialize(json::object{{"resource", "htlc"},
                                                                        {"id", id},
                                                                        {"receiver", coordinator},
                                                                        {"amount", "40"},
                                                                        {"hash", hash},
                                                                        {"timelock", "100000"},
                                                                        {"account", "user"}}));
  CHECK(locked.at("state").as_string() == "locked");
  CHECK(locked.at("sender").as_string() == user);

  json::object claim{
      {"resource", "htlc"}, {"sender", user}, {"id", id}, {"secret", hex32(0x43)}, {"account", "coordinator"}};
  Reply wrong;
  c.run(t->htlc_unlock, json::serialize(claim), wrong);
  CHECK(wrong.status == WEFT_E_REJECTED);
  CHECK(json::parse(wrong.data).at("code").to_number<int>() == kStatusHtlcWrongSecret);
  claim["secret"] = secret;
  CHECK(c.ok(t->htlc_unlock, json::serialize(claim)).at("state").as_string() == "claimed");
  json::object st = c.ok(t->htlc_status, R"({"resource":"htlc","sender":")" + user + R"(","id":")" + id + R"("})");
  CHECK(st.at("state").as_string() == "claimed");
  CHECK(st.at("secret").as_string() == secret);

  REQUIRE(events.wait_for(2));
  REQUIRE(blocks.wait_for(4)); // mint, lock, refused claim, claim
  t->unsubscribe(c.chain, events_id);
  t->unsubscribe(c.chain, blocks_id);
  std::lock_guard lock(events.mu);
  CHECK(events.list.at(0).at("name").as_string() == "locked");
  CHECK(events.list.at(1).at("name").as_string() == "claimed");
  CHECK(events.list.at(1).at("seq").to_number<int>() == 2);
  std::lock_guard block_lock(blocks.mu);
  for (size_t i = 0; i < blocks.list.size(); ++i) {
    CHECK(blocks.list[i].at("seq").to_number<size_t>() == i + 1);
    CHECK(blocks.list[i].at("number").to_number<size_t>() == i + 1);
  }
}

TEST_CASE("subscribe_v2 without a cursor over a weft-node client API starts at the network's next block") {
  RemoteRecords blocks;
  RemoteHtlcChain c;
  const weft_adapter_v1 *t = adapter();
  std::string user = c.host.user.addr();
  auto mint = [&] {
    json::object minted = c.ok(t->send_transaction, R"({"resource":"token","method":"mint","args":[")" + user +
                                                        R"(","1"],"account":"user"})");
    REQUIRE(minted.at("errorCode").to_number<int>() == 0);
    return minted.at("blockNumber").to_number<uint64_t>();
  };
  const uint64_t before = mint();
  uint64_t id = 0;
  char err[256] = {0};
  std::string req = R"({"kind":"blocks","from":null})";
  REQUIRE(t->subscribe_v2(c.chain, reinterpret_cast<const uint8_t *>(req.data()), req.size(), &RemoteRecords::on_record,
                          &blocks, &id, err, sizeof err) == WEFT_OK);
  // Committed right after the call returns: the stream's first block, whatever its thread is doing by then.
  const uint64_t after = mint();
  REQUIRE(after > before);
  REQUIRE(blocks.wait_for(1));
  t->unsubscribe(c.chain, id);
  std::lock_guard lock(blocks.mu);
  CHECK(blocks.list.at(0).at("number").to_number<uint64_t>() == before + 1);
  CHECK(blocks.list.at(0).at("seq").to_number<int>() == 1);
}

TEST_CASE("subscribe_v2 without a cursor is refused while the network cannot say where it is") {
  // Port 1 on loopback: nothing listens there, so every connection is refused at once.
  RemoteChain c(test_ledger_config(kChain), "", "127.0.0.1:1");
  const weft_adapter_v1 *t = adapter();
  RemoteRecords records;
  uint64_t id = 0;
  char err[256] = {0};
  std::string req = R"({"kind":"blocks"})";
  int32_t status = t->subscribe_v2(c.chain, reinterpret_cast<const uint8_t *>(req.data()), req.size(),
                                   &RemoteRecords::on_record, &records, &id, err, sizeof err);
  CHECK(status != WEFT_OK);
  CHECK(std::string(err).find("127.0.0.1:1") != std::string::npos);
  // A cursor says where to start, so that stream is taken, and waits for the network.
  req = R"({"kind":"blocks","from":"0"})";
  REQUIRE(t->subscribe_v2(c.chain, reinterpret_cast<const uint8_t *>(req.data()), req.size(),
                          &RemoteRecords::on_record, &records, &id, err, sizeof err) == WEFT_OK);
  t->unsubscribe(c.chain, id);
}
