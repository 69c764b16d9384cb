// The plugin's HTLC verbs, subscribe_v2 streams and the block-time offset, through the real C entry point with
// embedded validators.
#include "refchain_plugin_fixture.h"

#include <thread>

namespace {

const std::string kHtlcChain = R"({"chain_id": 3, "block_interval_ms": 5, "empty_block_interval_ms": 60000,
  "resources": [{"name":"store","contract":"kv"},{"name":"token","contract":"asset"},
                {"name":"htlc","contract":"htlc","asset":"token"}]})";
const std::string kTicking = R"({"chain_id": 3, "block_interval_ms": 5, "empty_block_interval_ms": 20,
  "resources": [{"name":"token","contract":"asset"},{"name":"htlc","contract":"htlc","asset":"token"}]})";

std::string hex32(uint8_t fill) {
  Hash h{};
  h.fill(fill);
  return to_hex(h);
}
const std::string kSecret = hex32(0x5e);
const std::string kHash = to_hex(sha256(hash_from_hex(kSecret)));

uint64_t now_ms() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

std::string lock_request(const OpenChain &c, const std::string &id, uint64_t timelock,
                         const std::string &amount = "100") {
  return json::serialize(json::object{{"resource", "htlc"},
                                      {"id", id},
                                      {"receiver", c.host.bob.addr()},
                                      {"amount", amount},
                                      {"hash", kHash},
                                      {"timelock", std::to_string(timelock)},
                                      {"account", "alice"}});
}

std::string key_request(const OpenChain &c, const std::string &id, const char *account,
                        const std::string &secret = "") {
  json::object o{{"resource", "htlc"}, {"sender", c.host.alice.addr()}, {"id", id}, {"account", account}};
  if (!secret.empty()) o["secret"] = secret;
  return json::serialize(o);
}

uint64_t balance(OpenChain &c, const std::string &addr) {
  json::object r = c.ok(adapter()->call, R"({"resource":"token","method":"balanceOf","args":[")" + addr + R"("]})");
  return std::stoull(std::string(r.at("result").as_array().at(0).as_string()));
}

void mint(OpenChain &c, const std::string &to, const std::string &amount) {
  json::object sent = c.ok(adapter()->send_transaction, R"({"resource":"token","method":"mint","args":[")" + to +
                                                            R"(",")" + amount + R"("],"account":"alice"})");
  REQUIRE(sent.at("errorCode").to_number<int>() == 0);
}

// A failed verb: its status, message and details.
struct Failure {
  int32_t status = 0;
  std::string message;
  json::object details;
};
Failure fail(OpenChain &c, weft_verb_fn verb, const std::string &request) {
  Answer a;
  c.run(verb, request, a);
  REQUIRE(a.wait());
  Failure f{a.status, a.message, {}};
  if (!a.data.empty()) f.details = json::parse(a.data).as_object();
  return f;
}

// Collects subscribe_v2 records; an optional gate holds the first callback until opened.
struct Records {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<json::object> list;
  bool gated = false, open = true;

  static void on_record(void *ctx, const uint8_t *data, size_t size) {
    auto *self = static_cast<Records *>(ctx);
    std::unique_lock lock(self->mu);
    self->list.push_back(json::parse(std::string(reinterpret_cast<const char *>(data), size)).as_object());
    self->cv.notify_all();
    self->cv.wait(lock, [&] { return self->open; });
  }
  bool wait_for(size_t n, int ms = 10000) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, scaled(ms), [&] { return list.size() >= n; });
  }
  bool wait_kind(const std::string &kind, int ms = 10000) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, scaled(ms), [&] {
      for (const auto &r : list)
        if (r.at("kind").as_string() == kind) return true;
      return false;
    });
  }
  std::vector<json::object> snapshot() {
    std::lock_guard lock(mu);
    return list;
  }
  void release() {
    std::lock_guard lock(mu);
    open = true;
    cv.notify_all();
  }
};

int32_t subscribe(OpenChain &c, const std::string &request, Records &r, uint64_t &id, std::string *err = nullptr) {
  char buf[512] = {0};
  int32_t s = adapter()->subscribe_v2(c.chain, reinterpret_cast<const uint8_t *>(request.data()), request.size(),
                                      &Records::on_record, &r, &id, buf, sizeof buf);
  if (err) *err = buf;
  return s;
}

void check_seq(const std::vector<json::object> &records) {
  for (size_t i = 0; i < records.size(); ++i)
    CHECK(records[i].at("seq").to_number<uint64_t>() == i + 1);
}

} // namespace

TEST_CASE("htlc verbs: lock, status, claim by a third party, refund at the timelock; list_resources shows the escrow") {
  OpenChain c(kHtlcChain);
  REQUIRE_MESSAGE(c.open_status == WEFT_OK, c.open_error);
  const weft_adapter_v1 *t = adapter();
  mint(c, c.host.alice.addr(), "1000");

  json::object resources = c.ok(t->list_resources, "{}");
  const json::object *htlc = nullptr;
  for (const auto &r : resources.at("resources").as_array())
    if (r.at("name").as_string() == "htlc") htlc = &r.as_object();
  REQUIRE(htlc != nullptr);
  const json::object &props = htlc->at("properties").as_object();
  CHECK(props.at("contract").as_string() == "htlc");
  CHECK(props.at("asset").as_string() == "token");
  std::string escrow(props.at("escrow").as_string());
  CHECK(escrow == address_text(htlc_escrow_address("htlc")));
  CHECK(props.at("writeMethods") == json::array{"lock", "claim", "refund"});

  std::string id = hex32(0x01);
  json::object locked = c.ok(t->htlc_lock, lock_request(c, id, now_ms() + 60000));
  CHECK(locked.at("sender").as_string() == c.host.alice.addr());
  CHECK(locked.at("id").as_string() == id);
  CHECK(locked.at("state").as_string() == "locked");
  CHECK(locked.at("txHash").as_string().size() == 66);
  CHECK(locked.at("blockNumber").to_number<uint64_t>() >= 1);
  CHECK(locked.at("blockTime").to_number<uint64_t>() > 0);
  CHECK(balance(c, escrow) == 100);

  json::object receipt = c.ok(t->get_receipt, "{\"hash\":\"" + std::string(locked.at("txHash").as_string()) + "\"}");
  REQUIRE(receipt.contains("events"));
  const json::object &ev = receipt.at("events").as_array().at(0).as_object();
  CHECK(ev.at("resource").as_string() == "htlc");
  CHECK(ev.at("name").as_string() == "locked");
  CHECK(ev.at("data").at("amount").as_string() == "100");

  json::object st =
      c.ok(t->htlc_status, R"({"resource":"htlc","sender":")" + c.host.alice.addr() + R"(","id":")" + id + R"("})");
  CHECK(st.at("state").as_string() == "locked");
  CHECK(st.at("receiver").as_string() == c.host.bob.addr());

  // Claimed by alice (the third party here), paid to bob.
  json::object claimed = c.ok(t->htlc_unlock, key_request(c, id, "alice", kSecret));
  CHECK(claimed.at("state").as_string() == "claimed");
  CHECK(claimed.at("sender").as_string() == c.host.alice.addr());
  CHECK(balance(c, c.host.bob.addr()) == 100);
  CHECK(balance(c, escrow) == 0);
  st = c.ok(t->htlc_status, R"({"resource":"htlc","sender":")" + c.host.alice.addr() + R"(","id":")" + id + R"("})");
  CHECK(st.at("secret").as_string() == kSecret);

  std::string id2 = hex32(0x02);
  uint64_t soon = now_ms() + 300;
  REQUIRE(c.ok(t->htlc_lock, lock_request(c, id2, soon)).at("state").as_string() == "locked");
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  json::object refunded = c.ok(t->htlc_refund, key_request(c, id2, "bob"));
  CHECK(refunded.at("state").as_string() == "refunded");
  CHECK(refunded.at("blockTime").to_number<uint64_t>() >= soon);
  CHECK(balance(c, c.host.alice.addr()) == 900);
  CHECK(balance(c, escrow) == 0);
}

TEST_CASE("htlc verbs: a refused receipt is WEFT_E_REJECTED with its hash and code; bad requests never sign") {
  OpenChain c(kHtlcChain);
  REQUIRE_MESSAGE(c.open_status == WEFT_OK, c.open_error);
  const weft_adapter_v1 *t = adapter();
  mint(c, c.host.alice.addr(), "1000");
  std::string id = hex32(0x01);
  REQUIRE(c.ok(t->htlc_lock, lock_request(c, id, now_ms() + 60000)).at("state").as_string() == "locked");

  auto rejected = [&](weft_verb_fn verb, const std::string &request, uint32_t code, const char *words) {
    Failure f = fail(c, verb, request);
    CHECK_MESSAGE(f.status == WEFT_E_REJECTED, f.message);
    CHECK(f.details.at("code").to_number<uint32_t>() == code);
    CHECK(f.details.at("hash").as_string().size() == 66);
    CHECK_MESSAGE(f.message.find(words) != std::string::npos, f.message);
  };
  rejected(t->htlc_lock, lock_request(c, id, now_ms() + 60000), 12, "exists already");
  rejected(t->htlc_unlock, key_request(c, id, "bob", hex32(0x77)), 13, "sha256(secret)");
  rejected(t->htlc_refund, key_request(c, id, "bob"), 15, "before its timelock");
  rejected(t->htlc_lock, lock_request(c, hex32(0x02), 1000), 14, "not after the block time");
  rejected(t->htlc_refund, key_request(c, hex32(0x09), "bob"), 16, "no HTLC lock");
  rejected(t->htlc_lock, lock_request(c, hex32(0x03), now_ms() + 60000, "5000"), 4, "insufficient balance");
  std::string id4 = hex32(0x04);
  uint64_t soon = now_ms() + 200;
  REQUIRE(c.ok(t->htlc_lock, lock_request(c, id4, soon)).at("state").as_string() == "locked");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  rejected(t->htlc_unlock, key_request(c, id4, "bob", kSecret), 14, "has passed");
  REQUIRE(c.ok(t->htlc_unlock, key_request(c, id, "bob", kSecret)).at("state").as_string() == "claimed");
  rejected(t->htlc_unlock, key_request(c, id, "bob", kSecret), 16, "already claimed");

  CHECK(fail(c, t->htlc_status,
             R"({"resource":"nothing","sender":")" + c.host.alice.addr() + R"(","id":")" + id + R"("})")
            .status == WEFT_E_NOT_FOUND);
  CHECK(fail(c, t->htlc_lock, R"({"resource":"token"})").status == WEFT_E_INVALID_ARGUMENT);
  CHECK(fail(c, t->htlc_lock, lock_request(c, "0x01", now_ms() + 60000)).status == WEFT_E_INVALID_ARGUMENT);
  CHECK(fail(c, t->htlc_lock, lock_request(c, hex32(5), now_ms() + 60000, "0")).status == WEFT_E_INVALID_ARGUMENT);
  CHECK(fail(c, t->htlc_lock, lock_request(c, hex32(5), now_ms() + 60000, "-1")).status == WEFT_E_INVALID_ARGUMENT);
  CHECK(fail(c, t->htlc_unlock, key_request(c, id, "bob", "0x5e")).status == WEFT_E_INVALID_ARGUMENT);
  CHECK(fail(c, t->htlc_refund, key_request(c, id, "")).status == WEFT_E_INVALID_ARGUMENT);
  CHECK(fail(c, t->htlc_refund, key_request(c, id, "mallory")).status == WEFT_E_ACCOUNT);
  json::object none =
      c.ok(t->htlc_status, R"({"resource":"htlc","sender":")" + c.host.bob.addr() + R"(","id":")" + id + R"("})");
  CHECK(none.at("state").as_string() == "none");
}

TEST_CASE("subscribe_v2 blocks: seq without holes, one record per block, resume right after a cursor") {
  OpenChain c(kTicking);
  REQUIRE_MESSAGE(c.open_status == WEFT_OK, c.open_error);
  Records first;
  uint64_t id = 0;
  REQUIRE(subscribe(c, R"({"kind":"blocks","from":null})", first, id) == WEFT_OK);
  REQUIRE(first.wait_for(6));
  adapter()->unsubscribe(c.chain, id);
  auto got = first.snapshot();
  size_t n = got.size();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(first.snapshot().size() == n); // nothing after unsubscribe returned
  check_seq(got);
  for (size_t i = 0; i < got.size(); ++i) {
    CHECK(got[i].at("kind").as_string() == "block");
    CHECK(got[i].at("hash").as_string().size() == 66);
    CHECK(got[i].at("cursor").as_string() == std::to_string(got[i].at("number").to_number<uint64_t>()));
    if (i > 0) CHECK(got[i].at("number").to_number<uint64_t>() == got[i - 1].at("number").to_number<uint64_t>() + 1);
  }

  // Resuming from the second record replays the third onwards from the ledger, numbered from 1 again.
  Records resumed;
  std::string req = R"({"kind":"blocks","from":")" + std::string(got[1].at("cursor").as_string()) + R"("})";
  REQUIRE(subscribe(c, req, resumed, id) == WEFT_OK);
  REQUIRE(resumed.wait_for(got.size()));
  adapter()->unsubscribe(c.chain, id);
  auto again = resumed.snapshot();
  check_seq(again);
  for (size_t i = 2; i < got.size(); ++i)
    CHECK(again[i - 2].at("hash") == got[i].at("hash"));

  std::string err;
  CHECK(subscribe(c, R"({"kind":"blocks","from":"nonsense"})", resumed, id, &err) == WEFT_E_INVALID_ARGUMENT);
  CHECK(subscribe(c, R"({"kind":"blocks","from":"99999999"})", resumed, id, &err) == WEFT_E_INVALID_ARGUMENT);
  CHECK(subscribe(c, R"({"kind":"cats"})", resumed, id, &err) == WEFT_E_INVALID_ARGUMENT);
  CHECK(subscribe(c, R"({"kind":"events","resource":"nothing"})", resumed, id, &err) == WEFT_E_NOT_FOUND);
}

TEST_CASE("subscribe_v2 events: one resource's contract events, resumable mid-block; close ends with an end record") {
  OpenChain c(kHtlcChain);
  REQUIRE_MESSAGE(c.open_status == WEFT_OK, c.open_error);
  const weft_adapter_v1 *t = adapter();
  Records live;
  uint64_t id = 0;
  REQUIRE(subscribe(c, R"({"kind":"events","resource":"htlc"})", live, id) == WEFT_OK);
  mint(c, c.host.alice.addr(), "1000"); // token has no events; the htlc subscription sees nothing of it
  std::string id1 = hex32(0x01);
  json::object locked = c.ok(t->htlc_lock, lock_request(c, id1, now_ms() + 60000));
  json::object claimed = c.ok(t->htlc_unlock, key_request(c, id1, "bob", kSecret));
  REQUIRE(live.wait_for(2));
  auto got = live.snapshot();
  check_seq(got);
  CHECK(got[0].at("kind").as_string() == "event");
  CHECK(got[0].at("name").as_string() == "locked");
  CHECK(got[0].at("resource").as_string() == "htlc");
  CHECK(got[0].at("txHash") == locked.at("txHash"));
  CHECK(got[0].at("block") == locked.at("blockNumber"));
  CHECK(got[0].at("data").at("id").as_string() == id1);
  CHECK(got[1].at("name").as_string() == "claimed");
  CHECK(got[1].at("data").at("secret").as_string() == kSecret);

  // From the first event's cursor: the claim next, replayed from the ledger.
  Records resumed;
  uint64_t id2 = 0;
  REQUIRE(subscribe(c,
                    R"({"kind":"events","resource":"htlc","from":")" + std::string(got[0].at("cursor").as_string()) +
                        R"("})",
                    resumed, id2) == WEFT_OK);
  REQUIRE(resumed.wait_for(1));
  CHECK(resumed.snapshot()[0].at("name").as_string() == "claimed");
  CHECK(resumed.snapshot()[0].at("seq").to_number<int>() == 1);

  c.close(); // both streams end with an "end" record, and nothing after it
  for (Records *r : {&live, &resumed}) {
    auto all = r->snapshot();
    REQUIRE_FALSE(all.empty());
    check_seq(all);
    CHECK(all.back().at("kind").as_string() == "end");
  }
  CHECK(live.snapshot().size() == 3);
}

TEST_CASE("subscribe_v2: a subscriber that falls behind gets a gap, then the stream goes on without holes") {
  OpenChain c(kTicking);
  REQUIRE_MESSAGE(c.open_status == WEFT_OK, c.open_error);
  Records slow;
  slow.open = false; // the first record's callback waits
  uint64_t id = 0;
  REQUIRE(subscribe(c, R"({"kind":"blocks","buffer":2})", slow, id) == WEFT_OK);
  REQUIRE(slow.wait_for(1));
  std::this_thread::sleep_for(scaled(400)); // ~20 blocks made meanwhile, the chain not held up
  slow.release();
  REQUIRE(slow.wait_kind("gap"));
  REQUIRE(slow.wait_for(6));
  adapter()->unsubscribe(c.chain, id);
  auto got = slow.snapshot();
  check_seq(got);
  // Every block number is covered exactly once, by a block record or a gap.
  uint64_t next = got[0].at("number").to_number<uint64_t>() + 1;
  bool gap = false;
  for (size_t i = 1; i < got.size(); ++i) {
    if (got[i].at("kind").as_string() == "gap") {
      gap = true;
      CHECK(got[i].at("from").to_number<uint64_t>() == next);
      next = got[i].at("to").to_number<uint64_t>() + 1;
      CHECK(got[i].at("cursor").as_string() == std::to_string(next - 1));
    } else {
      CHECK(got[i].at("number").to_number<uint64_t>() == next);
      ++next;
    }
  }
  CHECK(gap);
}

TEST_CASE("block_time_offset_ms: every validator's clock leads or lags by the offset, and consensus commits") {
  for (int64_t offset : {3600000LL, -3600000LL}) {
    CAPTURE(offset);
    OpenChain c(R"({"chain_id": 3, "block_interval_ms": 5, "empty_block_interval_ms": 60000,
                    "block_time_offset_ms": )" +
                std::to_string(offset) + "}");
    REQUIRE_MESSAGE(c.open_status == WEFT_OK, c.open_error);
    uint64_t before = now_ms();
    json::object sent =
        c.ok(adapter()->send_transaction, R"({"resource":"store","method":"set","args":["k","v"],"account":"alice"})");
    uint64_t after = now_ms();
    REQUIRE(sent.at("errorCode").to_number<int>() == 0);
    int64_t ts = sent.at("timestamp").to_number<int64_t>();
    CHECK(ts >= static_cast<int64_t>(before) + offset - 1000);
    CHECK(ts <= static_cast<int64_t>(after) + offset + 1000);
    json::object info = c.ok(adapter()->chain_info, "{}");
    CHECK(info.at("blockTime").to_number<int64_t>() >= ts);
  }
  OpenChain bad(R"({"block_time_offset_ms": "soon"})");
  CHECK(bad.open_status == WEFT_E_INVALID_ARGUMENT);
  OpenChain far(R"({"block_time_offset_ms": 99999999999})");
  CHECK(far.open_status == WEFT_E_INVALID_ARGUMENT);
}
