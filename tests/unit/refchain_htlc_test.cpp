// The htlc contract and contract events on a ledger without threads: lock / claim / refund with balances and the
// escrow, every refusal with its receipt status, (sender, id) keys, events in receipts (dropped on failure), and the
// receipt encoding of a receipt without events pinned to the bytes from before events existed.
#include "config.h"
#include "error.h"
#include "ledger.h"
#include "refchain_test_support.h"

#include <boost/json.hpp>
#include <doctest/doctest.h>

using namespace weft::refchain;
using namespace weft::refchain::test;
namespace json = boost::json;

namespace {

const TestAccount kIssuer(9);
const TestAccount kAlice(2);
const TestAccount kBob(3);
const TestAccount kCarol(4);

std::string hex32(uint8_t fill) {
  Hash h{};
  h.fill(fill);
  return to_hex(h);
}
const std::string kSecret = hex32(0x5e);
const std::string kHash = to_hex(sha256(hash_from_hex(kSecret)));
const std::string kId = hex32(0x01);

struct HtlcChain {
  TempDir dir;
  Ledger ledger;
  uint64_t clock = 1000; // the next block's timestamp
  HtlcChain() : ledger(config(), dir.file("v.sqlite")) {
    REQUIRE(run(kIssuer, "token", "mint", {kAlice.addr(), "1000"}).status == kStatusOk);
  }
  static LedgerConfig config() {
    LedgerConfig c = test_ledger_config();
    c.resources = {{"store", "kv", ""}, {"token", "asset", ""}, {"htlc", "htlc", "token"}};
    return c;
  }
  Receipt run(const TestAccount &who, const std::string &res, const std::string &method,
              std::vector<std::string> args) {
    Hash h = ledger.submit(make_tx(who, 7, ledger.height() + 100, res, method, std::move(args)));
    ExecutedBlock b = seal(ledger, clock++);
    for (const auto &r : b.receipts)
      if (r.tx_hash == h) return r;
    FAIL("transaction not in the sealed block");
    return {};
  }
  Receipt lock(const TestAccount &who, const std::string &id, const TestAccount &to, const std::string &amount,
               uint64_t timelock, const std::string &hash = kHash) {
    return run(who, "htlc", "lock", {id, to.addr(), amount, hash, std::to_string(timelock)});
  }
  Receipt claim(const TestAccount &who, const TestAccount &sender, const std::string &id,
                const std::string &secret = kSecret) {
    return run(who, "htlc", "claim", {sender.addr(), id, secret});
  }
  Receipt refund(const TestAccount &who, const TestAccount &sender, const std::string &id) {
    return run(who, "htlc", "refund", {sender.addr(), id});
  }
  json::object status(const TestAccount &sender, const std::string &id) {
    return json::parse(ledger.call("htlc", "status", {sender.addr(), id}).at(0)).as_object();
  }
  uint64_t balance(const std::string &addr) { return std::stoull(ledger.call("token", "balanceOf", {addr}).at(0)); }
  uint64_t balance(const TestAccount &who) { return balance(who.addr()); }
  uint64_t escrow() { return balance(address_text(htlc_escrow_address("htlc"))); }
  uint64_t supply() { return std::stoull(ledger.call("token", "totalSupply", {}).at(0)); }
};

json::object data_of(const Event &e) {
  return json::parse(e.data).as_object();
}

} // namespace

TEST_CASE("receipt encoding: without events it is byte-identical to the encoding before events existed") {
  Receipt r;
  r.tx_hash.fill(0x11);
  r.block_number = 7;
  r.index = 2;
  r.status = 0;
  r.message = "Success";
  r.result = {"42"};
  r.from.fill(0x22);
  r.resource = "token";
  r.method = "transfer";
  r.args = {"0x3333333333333333333333333333333333333333", "5"};
  // SHA-256 of the pre-event layout, computed independently of this code base.
  CHECK(to_hex(r.hash()) == "0x4b69fa2296e3036c9e59438eac8bbbebe9cc7b167aed37b043cc62517cb0f05d");
  CHECK(Receipt::decode(r.encode()).events.empty());

  Receipt with = r;
  with.events = {{"htlc", "locked", R"({"id":"1"})"}, {"htlc", "claimed", "{}"}};
  CHECK(with.hash() != r.hash());
  Bytes enc = with.encode();
  CHECK(Bytes(enc.begin(), enc.begin() + r.encode().size()) == r.encode()); // events are a suffix
  Receipt back = Receipt::decode(enc);
  CHECK(back.events == with.events);
  CHECK(back.encode() == enc);

  // An empty event section would be a second encoding of the same receipt; a wrong marker is refused.
  Writer w;
  w.raw(r.encode());
  w.raw(kReceiptEventsMarker);
  w.u32(0);
  CHECK_THROWS_AS(Receipt::decode(w.bytes()), DecodeError);
  Bytes bad = enc;
  bad[r.encode().size()] = 'X';
  CHECK_THROWS_AS(Receipt::decode(bad), DecodeError);
}

TEST_CASE("htlc config: the asset must name an asset resource of the chain; other kinds take no asset") {
  auto cfg = [](const std::string &resources) { return parse_chain_config(R"({"resources":)" + resources + "}"); };
  auto c = cfg(R"([{"name":"token","contract":"asset"},{"name":"h","contract":"htlc","asset":"token"}])");
  CHECK(c.ledger.resources.at(1).asset == "token");
  CHECK_THROWS_AS(cfg(R"([{"name":"token","contract":"asset"},{"name":"h","contract":"htlc"}])"), Error);
  CHECK_THROWS_AS(cfg(R"([{"name":"store","contract":"kv"},{"name":"h","contract":"htlc","asset":"store"}])"), Error);
  CHECK_THROWS_AS(cfg(R"([{"name":"h","contract":"htlc","asset":"nothing"}])"), Error);
  CHECK_THROWS_AS(cfg(R"([{"name":"token","contract":"asset","asset":"token"}])"), Error);
  CHECK_THROWS_AS(make_contracts({{"h", "htlc", ""}}, std::nullopt), Error);
  // The escrow is fixed by the resource name alone.
  CHECK(htlc_escrow_address("htlc") == htlc_escrow_address("htlc"));
  CHECK(htlc_escrow_address("htlc") != htlc_escrow_address("htlc2"));
  Hash h = sha256(view(std::string("weft-htlc-escrow:htlc")));
  CHECK(std::equal(h.begin(), h.begin() + 20, htlc_escrow_address("htlc").begin()));
}

TEST_CASE("htlc: lock then claim pays the receiver, keeps the secret on chain, and the supply never changes") {
  HtlcChain c;
  Receipt locked = c.lock(kAlice, kId, kBob, "300", 100000);
  REQUIRE_MESSAGE(locked.status == kStatusOk, locked.message);
  CHECK(c.balance(kAlice) == 700);
  CHECK(c.escrow() == 300);
  CHECK(c.supply() == 1000);
  json::object st = c.status(kAlice, kId);
  CHECK(st.at("state").as_string() == "locked");
  CHECK(st.at("sender").as_string() == kAlice.addr());
  CHECK(st.at("receiver").as_string() == kBob.addr());
  CHECK(st.at("amount").as_string() == "300");
  CHECK(st.at("hash").as_string() == kHash);
  CHECK(st.at("timelock").to_number<uint64_t>() == 100000);
  CHECK(st.at("lockBlock").to_number<uint64_t>() == locked.block_number);
  CHECK(st.at("endBlock").to_number<uint64_t>() == 0);
  CHECK_FALSE(st.contains("secret"));

  REQUIRE(locked.events.size() == 1);
  CHECK(locked.events[0].resource == "htlc");
  CHECK(locked.events[0].name == "locked");
  json::object ld = data_of(locked.events[0]);
  CHECK(ld.at("sender").as_string() == kAlice.addr());
  CHECK(ld.at("id").as_string() == kId);
  CHECK(ld.at("receiver").as_string() == kBob.addr());
  CHECK(ld.at("amount").as_string() == "300");
  CHECK(ld.at("hash").as_string() == kHash);
  CHECK(ld.at("timelock").to_number<uint64_t>() == 100000);

  Receipt claimed = c.claim(kBob, kAlice, kId, kSecret);
  REQUIRE_MESSAGE(claimed.status == kStatusOk, claimed.message);
  CHECK(c.balance(kBob) == 300);
  CHECK(c.escrow() == 0);
  CHECK(c.supply() == 1000);
  st = c.status(kAlice, kId);
  CHECK(st.at("state").as_string() == "claimed");
  CHECK(st.at("secret").as_string() == kSecret);
  CHECK(st.at("endBlock").to_number<uint64_t>() == claimed.block_number);
  REQUIRE(claimed.events.size() == 1);
  CHECK(claimed.events[0].name == "claimed");
  CHECK(data_of(claimed.events[0]).at("secret").as_string() == kSecret);
  CHECK(data_of(claimed.events[0]).at("receiver").as_string() == kBob.addr());

  // The receipt keeps its events through the store.
  auto rec = c.ledger.find_tx(claimed.tx_hash);
  REQUIRE(rec);
  CHECK(rec->receipt.events == claimed.events);
  // Terminal: neither a second claim nor a refund later.
  CHECK(c.claim(kBob, kAlice, kId).status == kStatusHtlcNotLocked);
  c.clock = 200000;
  CHECK(c.refund(kAlice, kAlice, kId).status == kStatusHtlcNotLocked);
}

TEST_CASE("htlc: a third party may claim for the receiver; anyone may refund to the sender at the timelock") {
  HtlcChain c;
  REQUIRE(c.lock(kAlice, kId, kBob, "100", 5000).status == kStatusOk);
  Receipt claimed = c.claim(kCarol, kAlice, kId);
  REQUIRE_MESSAGE(claimed.status == kStatusOk, claimed.message);
  CHECK(c.balance(kBob) == 100);
  CHECK(c.balance(kCarol) == 0);

  std::string id2 = hex32(0x02);
  REQUIRE(c.lock(kAlice, id2, kBob, "50", 5000).status == kStatusOk);
  CHECK(c.balance(kAlice) == 850);
  Receipt early = c.refund(kCarol, kAlice, id2);
  CHECK(early.status == kStatusHtlcNotExpired);
  CHECK(early.events.empty());
  c.clock = 5000; // block time == timelock: refund allowed, claim not
  Receipt late_claim = c.claim(kBob, kAlice, id2);
  CHECK(late_claim.status == kStatusHtlcExpired);
  c.clock = 5001;
  Receipt refunded = c.refund(kCarol, kAlice, id2);
  REQUIRE_MESSAGE(refunded.status == kStatusOk, refunded.message);
  CHECK(c.balance(kAlice) == 900);
  CHECK(c.escrow() == 0);
  CHECK(c.supply() == 1000);
  CHECK(c.status(kAlice, id2).at("state").as_string() == "refunded");
  CHECK_FALSE(c.status(kAlice, id2).contains("secret"));
  REQUIRE(refunded.events.size() == 1);
  CHECK(refunded.events[0].name == "refunded");
  CHECK(data_of(refunded.events[0]) == json::object{{"sender", kAlice.addr()}, {"id", id2}, {"amount", "50"}});
}

TEST_CASE("htlc: refusals carry their own receipt status, move nothing and emit nothing") {
  HtlcChain c;
  REQUIRE(c.lock(kAlice, kId, kBob, "100", 100000).status == kStatusOk);
  auto refused = [&](const Receipt &r, uint32_t status) {
    CHECK_MESSAGE(r.status == status, r.message);
    CHECK(r.events.empty());
    CHECK(c.balance(kAlice) == 900);
    CHECK(c.escrow() == 100);
  };
  // Duplicate (sender, id) in any state; the same id by another sender is another lock.
  refused(c.lock(kAlice, kId, kCarol, "1", 100000), kStatusHtlcDuplicate);
  refused(c.claim(kBob, kAlice, kId, hex32(0x77)), kStatusHtlcWrongSecret);
  refused(c.refund(kAlice, kAlice, kId), kStatusHtlcNotExpired);
  refused(c.claim(kBob, kBob, kId), kStatusHtlcNotLocked); // unknown lock
  refused(c.refund(kBob, kCarol, hex32(0x09)), kStatusHtlcNotLocked);
  refused(c.lock(kAlice, hex32(0x03), kBob, "0", 100000), kStatusBadArguments);
  refused(c.lock(kAlice, hex32(0x03), kBob, "10", c.clock), kStatusHtlcExpired); // timelock == block time
  refused(c.lock(kAlice, hex32(0x03), kBob, "10", 10), kStatusHtlcExpired);
  refused(c.lock(kAlice, hex32(0x03), kBob, "5000", 100000), kStatusInsufficientBalance);
  refused(c.lock(kAlice, "0x01", kBob, "10", 100000), kStatusBadArguments);
  refused(c.lock(kAlice, std::string(66, '1'), kBob, "10", 100000), kStatusBadArguments);
  refused(c.run(kAlice, "htlc", "lock", {hex32(0x03), "0xzz", "10", kHash, "100000"}), kStatusBadArguments);
  refused(c.lock(kAlice, hex32(0x03), kBob, "10", 100000, "0x1234"), kStatusBadArguments);
  refused(c.claim(kBob, kAlice, kId, "0x5e5e"), kStatusBadArguments);

  REQUIRE(c.run(kIssuer, "token", "mint", {kCarol.addr(), "10"}).status == kStatusOk);
  Receipt other = c.lock(kCarol, kId, kBob, "10", 100000);
  REQUIRE_MESSAGE(other.status == kStatusOk, other.message);
  CHECK(c.status(kCarol, kId).at("amount").as_string() == "10");
  CHECK(c.status(kAlice, kId).at("amount").as_string() == "100");
  CHECK(c.status(kBob, kId).at("state").as_string() == "none");
  CHECK(c.escrow() == 110);
  // A claim of one lock leaves the other alone.
  REQUIRE(c.claim(kBob, kCarol, kId).status == kStatusOk);
  CHECK(c.status(kAlice, kId).at("state").as_string() == "locked");
  CHECK(c.escrow() == 100);
}

TEST_CASE("htlc: status of an unknown lock is state none with zero fields; ids are lowercased") {
  HtlcChain c;
  json::object st = c.status(kAlice, kId);
  CHECK(st.at("state").as_string() == "none");
  CHECK(st.at("amount").as_string() == "0");
  CHECK(st.at("timelock").to_number<uint64_t>() == 0);
  std::string upper_id = "0x" + std::string(64, 'A');
  REQUIRE(c.lock(kAlice, upper_id, kBob, "1", 100000).status == kStatusOk);
  CHECK(c.status(kAlice, "0x" + std::string(64, 'a')).at("state").as_string() == "locked");
  CHECK(c.status(kAlice, upper_id).at("id").as_string() == "0x" + std::string(64, 'a'));
}

namespace {
// Emits "before", calls its own "fail" (which emits "lost" and throws), catches that, then emits "after".
class EmitterContract final : public Contract {
public:
  std::string_view kind() const override { return "emitter"; }
  const std::vector<MethodSpec> &methods() const override {
    static const std::vector<MethodSpec> specs = {{"go", 0, true}, {"fail", 0, true}, {"bad", 0, true}};
    return specs;
  }
  std::vector<std::string> invoke(Context &ctx, std::string_view method,
                                  const std::vector<std::string> &) const override {
    if (method == "fail") {
      ctx.emit("lost", {{"k", "v"}});
      throw ContractError(kStatusBadArguments, "fails on purpose");
    }
    if (method == "bad") {
      ctx.emit("bad", "[1,2]");
      return {};
    }
    ctx.emit("before", R"({"n":1})");
    try {
      ctx.invoke({"emitter", "fail", {}, ctx.sender(), ""});
    } catch (const ContractError &) {
    }
    ctx.emit("after", {{"n", "2"}});
    return {"ok"};
  }
};
} // namespace

TEST_CASE("events: a failed call's events are dropped with its writes; data must be a JSON object") {
  Contracts contracts;
  contracts.emplace("emitter", std::make_unique<EmitterContract>());
  StateOverlay state([](const std::string &, const std::string &) { return std::optional<std::string>(); });
  Context ctx(contracts, state, {1, 1000}, kAlice.address, Hash{}, true);
  CHECK(ctx.invoke({"emitter", "go", {}, kAlice.address, ""}) == std::vector<std::string>{"ok"});
  REQUIRE(ctx.events().size() == 2);
  CHECK(ctx.events()[0] == Event{"emitter", "before", R"({"n":1})"});
  CHECK(ctx.events()[1] == Event{"emitter", "after", R"({"n":"2"})"});

  Context failing(contracts, state, {1, 1000}, kAlice.address, Hash{}, true);
  CHECK_THROWS_AS(failing.invoke({"emitter", "fail", {}, kAlice.address, ""}), ContractError);
  CHECK(failing.events().empty());
  try {
    failing.invoke({"emitter", "bad", {}, kAlice.address, ""});
    FAIL("an event with array data was accepted");
  } catch (const ContractError &e) {
    CHECK(e.status == kStatusBadArguments);
  }
}

TEST_CASE("events: a failed transaction's receipt has none; an XA step's events reach its receipt") {
  HtlcChain c;
  Receipt started = c.run(kIssuer, kXaProxyResource, "start", {"x1", "htlc", "token"});
  REQUIRE_MESSAGE(started.status == kStatusOk, started.message);
  Receipt step =
      c.run(kAlice, kXaProxyResource, "exec", {"x1", "1", "htlc", "lock", kId, kBob.addr(), "10", kHash, "100000"});
  REQUIRE_MESSAGE(step.status == kStatusOk, step.message);
  REQUIRE(step.events.size() == 1);
  CHECK(step.events[0].resource == "htlc");
  CHECK(step.events[0].name == "locked");
  Receipt dup =
      c.run(kAlice, kXaProxyResource, "exec", {"x1", "2", "htlc", "lock", kId, kBob.addr(), "10", kHash, "100000"});
  CHECK(dup.status == kStatusHtlcDuplicate);
  CHECK(dup.events.empty());
  // Rolled back, the lock and its escrowed amount are gone again.
  REQUIRE(c.run(kIssuer, kXaProxyResource, "rollback", {"x1"}).status == kStatusOk);
  CHECK(c.status(kAlice, kId).at("state").as_string() == "none");
  CHECK(c.balance(kAlice) == 1000);
}
