// The XA proxy on a ledger without threads: start / exec / commit / rollback, exact restoration by the undo log,
// locks against direct writes, idempotent repeats, refusals with their receipt codes, the coordinator rule, and two
// validators agreeing on the same blocks (deletions included).
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

const TestAccount kCoordinator(9);
const TestAccount kAlice(2);
const TestAccount kBob(3);

struct XaChain {
  TempDir dir;
  Ledger ledger;
  explicit XaChain(std::optional<Address> coordinator = std::nullopt)
      : ledger(config(coordinator), dir.file("v.sqlite")) {}
  static LedgerConfig config(std::optional<Address> coordinator) {
    LedgerConfig c = test_ledger_config();
    c.xa_coordinator = coordinator;
    return c;
  }
  Receipt run(const TestAccount &who, const std::string &res, const std::string &method,
              std::vector<std::string> args) {
    Hash h = ledger.submit(make_tx(who, 7, ledger.height() + 100, res, method, std::move(args)));
    ExecutedBlock b = seal(ledger, 1000 + ledger.height());
    for (const auto &r : b.receipts)
      if (r.tx_hash == h) return r;
    FAIL("transaction not in the sealed block");
    return {};
  }
  Receipt xa(const std::string &method, std::vector<std::string> args, const TestAccount &who = kCoordinator) {
    return run(who, kXaProxyResource, method, std::move(args));
  }
  Receipt step(const std::string &xid, uint64_t seq, const std::string &res, const std::string &method,
               std::vector<std::string> args, const TestAccount &who = kAlice) {
    std::vector<std::string> all{xid, std::to_string(seq), res, method};
    all.insert(all.end(), args.begin(), args.end());
    return run(who, kXaProxyResource, "exec", all);
  }
  // A step that starts the branch: the ticket over (chain_id, xid, resources) signed by `signer`.
  Receipt start_step(const std::string &xid, uint64_t seq, const std::vector<std::string> &resources,
                     const std::string &res, const std::string &method, std::vector<std::string> args,
                     const TestAccount &signer = kCoordinator, uint64_t chain_id = 7,
                     const TestAccount &who = kAlice) {
    std::string joined;
    for (const auto &r : resources) joined += (joined.empty() ? "" : ",") + r;
    Signature sig = sign_digest(signer.secret, xa_start_ticket_digest(chain_id, xid, resources));
    std::vector<std::string> all{xid, std::to_string(seq), res, method, joined, to_hex(ByteView(sig.data(), sig.size()))};
    all.insert(all.end(), args.begin(), args.end());
    return run(who, kXaProxyResource, "startexec", all);
  }
  json::object status(const std::string &xid) {
    return json::parse(ledger.call(kXaProxyResource, "status", {xid}).at(0)).as_object();
  }
  std::string digest(const std::string &res) { return ledger.call(kXaProxyResource, "stateDigest", {res}).at(0); }
  std::string balance(const TestAccount &who) { return ledger.call("token", "balanceOf", {who.addr()}).at(0); }
};

} // namespace

TEST_CASE("xa: start, a step as the user, commit; the status keeps the steps") {
  XaChain c;
  Receipt started = c.xa("start", {"x1", "store", "token"});
  REQUIRE_MESSAGE(started.status == kStatusOk, started.message);
  CHECK(started.result == std::vector<std::string>{"processing"});
  Receipt step = c.step("x1", 1, "store", "set", {"k", "v"});
  REQUIRE_MESSAGE(step.status == kStatusOk, step.message);
  CHECK(c.ledger.call("store", "get", {"k"}) == std::vector<std::string>{"v"});
  Receipt mint = c.step("x1", 2, "token", "mint", {kAlice.addr(), "10"});
  REQUIRE(mint.status == kStatusOk);
  CHECK(mint.result == std::vector<std::string>{"10"});

  json::object st = c.status("x1");
  CHECK(st.at("status").as_string() == "processing");
  CHECK(st.at("resources") == json::array{"store", "token"});
  REQUIRE(st.at("steps").as_array().size() == 2);
  const json::object &s1 = st.at("steps").as_array().at(0).as_object();
  CHECK(s1.at("seq").to_number<uint64_t>() == 1);
  CHECK(s1.at("resource").as_string() == "store");
  CHECK(s1.at("method").as_string() == "set");
  CHECK(s1.at("args") == json::array{"k", "v"});
  CHECK(s1.at("hash").as_string() == to_hex(step.tx_hash));
  CHECK(st.at("steps").as_array().at(1).at("result") == json::array{"10"});
  CHECK(json::parse(c.ledger.call(kXaProxyResource, "locks", {}).at(0)) ==
        json::object{{"store", "x1"}, {"token", "x1"}});

  REQUIRE(c.xa("commit", {"x1"}).status == kStatusOk);
  st = c.status("x1");
  CHECK(st.at("status").as_string() == "committed");
  CHECK(st.at("steps").as_array().size() == 2);
  CHECK(c.ledger.call(kXaProxyResource, "locks", {}).at(0) == "{}");
  CHECK(c.ledger.call("store", "get", {"k"}) == std::vector<std::string>{"v"});
  CHECK(c.balance(kAlice) == "10");
  CHECK(c.run(kBob, "store", "set", {"k", "after"}).status == kStatusOk); // unlocked again
  CHECK(c.status("never").at("status").as_string() == "none");
}

TEST_CASE("xa: rollback restores every touched resource exactly, keys that did not exist included") {
  XaChain c;
  REQUIRE(c.run(kAlice, "token", "mint", {kAlice.addr(), "100"}).status == kStatusOk);
  REQUIRE(c.run(kAlice, "store", "set", {"old", "1"}).status == kStatusOk);
  std::string store_before = c.digest("store"), token_before = c.digest("token");

  REQUIRE(c.xa("start", {"x2", "store", "token"}).status == kStatusOk);
  REQUIRE(c.step("x2", 1, "store", "set", {"old", "2"}).status == kStatusOk);
  REQUIRE(c.step("x2", 2, "store", "set", {"fresh", "x"}).status == kStatusOk);
  REQUIRE(c.step("x2", 3, "store", "set", {"old", "3"}).status == kStatusOk); // the first touch's value is kept
  REQUIRE(c.step("x2", 4, "token", "transfer", {kBob.addr(), "30"}).status == kStatusOk);
  REQUIRE(c.step("x2", 5, "token", "mint", {kBob.addr(), "7"}).status == kStatusOk);
  CHECK(c.digest("store") != store_before);
  CHECK(c.digest("token") != token_before);
  CHECK(c.balance(kBob) == "37");

  Receipt rb = c.xa("rollback", {"x2"});
  REQUIRE_MESSAGE(rb.status == kStatusOk, rb.message);
  CHECK(c.digest("store") == store_before);
  CHECK(c.digest("token") == token_before);
  CHECK(c.ledger.call("store", "get", {"old"}) == std::vector<std::string>{"1"});
  CHECK(c.ledger.call("store", "get", {"fresh"}) == std::vector<std::string>{""});
  CHECK(c.balance(kAlice) == "100");
  CHECK(c.balance(kBob) == "0");
  CHECK(c.ledger.call("token", "totalSupply", {}) == std::vector<std::string>{"100"});
  json::object st = c.status("x2");
  CHECK(st.at("status").as_string() == "rolledback");
  CHECK(st.at("steps").as_array().size() == 5);
  CHECK(c.ledger.call(kXaProxyResource, "locks", {}).at(0) == "{}");
  // The undo log is gone: only the status, resources and steps of x2 remain in the proxy's namespace.
  CHECK(c.run(kBob, "token", "mint", {kBob.addr(), "1"}).status == kStatusNotIssuer); // the issuer survived
}

TEST_CASE("xa: a locked resource refuses direct writes as busy, naming the holder; reads pass") {
  XaChain c;
  REQUIRE(c.xa("start", {"holder-1", "store"}).status == kStatusOk);
  Receipt busy = c.run(kBob, "store", "set", {"k", "v"});
  CHECK(busy.status == kStatusBusy);
  CHECK(busy.message == "resource store is locked by XA transaction holder-1");
  CHECK(c.ledger.call("store", "get", {"k"}) == std::vector<std::string>{""});
  CHECK(c.ledger.xa_lock_holder("store") == "holder-1");
  CHECK_FALSE(c.ledger.xa_lock_holder("token").has_value());
  CHECK(c.run(kBob, "token", "mint", {kBob.addr(), "1"}).status == kStatusOk); // another resource is free

  Receipt other = c.xa("start", {"x-other", "token", "store"});
  CHECK(other.status == kStatusBusy);
  CHECK(other.message == "resource store is locked by XA transaction holder-1");
  CHECK_FALSE(c.ledger.xa_lock_holder("token").has_value()); // nothing of the refused start stays
  Receipt not_held = c.step("holder-1", 1, "token", "mint", {kBob.addr(), "1"}, kBob);
  CHECK(not_held.status == kStatusXaConflict);
}

TEST_CASE("xa: repeats are idempotent; a step's seq with other content and finished ids are refused") {
  XaChain c;
  REQUIRE(c.run(kAlice, "token", "mint", {kAlice.addr(), "50"}).status == kStatusOk);
  REQUIRE(c.xa("start", {"x3", "token"}).status == kStatusOk);
  CHECK(c.xa("start", {"x3", "token"}).status == kStatusOk); // same set: nothing changes
  CHECK(c.xa("start", {"x3", "token", "store"}).status == kStatusXaConflict);
  CHECK(c.ledger.xa_lock_holder("store") == std::nullopt);

  Receipt first = c.step("x3", 7, "token", "transfer", {kBob.addr(), "5"});
  REQUIRE(first.status == kStatusOk);
  Receipt again = c.step("x3", 7, "token", "transfer", {kBob.addr(), "5"});
  CHECK(again.status == kStatusOk);
  CHECK(again.result == first.result);
  CHECK(c.balance(kBob) == "5"); // recorded, not executed again
  Receipt other = c.step("x3", 7, "token", "transfer", {kBob.addr(), "6"});
  CHECK(other.status == kStatusXaConflict);
  CHECK(c.status("x3").at("steps").as_array().size() == 1);

  // A failing business call fails the step and records nothing.
  Receipt poor = c.step("x3", 8, "token", "transfer", {kAlice.addr(), "1000"}, kBob);
  CHECK(poor.status == kStatusInsufficientBalance);
  CHECK(c.status("x3").at("steps").as_array().size() == 1);

  REQUIRE(c.xa("commit", {"x3"}).status == kStatusOk);
  CHECK(c.xa("commit", {"x3"}).status == kStatusOk);
  Receipt late_rollback = c.xa("rollback", {"x3"});
  CHECK(late_rollback.status == kStatusXaFinished);
  CHECK(late_rollback.message.find("refused: committed") != std::string::npos);
  CHECK(c.xa("start", {"x3", "token"}).status == kStatusXaFinished);
  CHECK(c.step("x3", 9, "token", "transfer", {kBob.addr(), "1"}).status == kStatusXaFinished);

  REQUIRE(c.xa("start", {"x4", "store"}).status == kStatusOk);
  REQUIRE(c.xa("rollback", {"x4"}).status == kStatusOk);
  CHECK(c.xa("rollback", {"x4"}).status == kStatusOk);
  Receipt late_commit = c.xa("commit", {"x4"});
  CHECK(late_commit.status == kStatusXaFinished);
  CHECK(late_commit.message.find("already rolled back") != std::string::npos);
}

TEST_CASE("xa: unknown ids; a rollback of one leaves a tombstone that refuses a late start") {
  XaChain c;
  REQUIRE(c.xa("start", {"first", "store"}).status == kStatusOk); // makes kCoordinator the coordinator
  CHECK(c.xa("commit", {"ghost"}).status == kStatusXaUnknown);
  CHECK(c.step("ghost", 1, "store", "set", {"k", "v"}).status == kStatusXaUnknown);
  REQUIRE(c.xa("rollback", {"ghost"}).status == kStatusOk);
  CHECK(c.status("ghost").at("status").as_string() == "rolledback");
  CHECK(c.xa("start", {"ghost", "token"}).status == kStatusXaFinished);
  CHECK_FALSE(c.ledger.xa_lock_holder("token").has_value());
}

TEST_CASE("xa: only the coordinator starts, commits and rolls back (first use, or pinned by config)") {
  SUBCASE("trust on first use") {
    XaChain c;
    REQUIRE(c.xa("start", {"a1", "store"}).status == kStatusOk);
    CHECK(c.xa("commit", {"a1"}, kBob).status == kStatusNotCoordinator);
    CHECK(c.xa("rollback", {"a1"}, kBob).status == kStatusNotCoordinator);
    CHECK(c.xa("start", {"a2", "token"}, kBob).status == kStatusNotCoordinator);
    CHECK(c.xa("commit", {"a1"}).status == kStatusOk);
  }
  SUBCASE("pinned") {
    XaChain c(kCoordinator.address);
    Receipt r = c.xa("start", {"p1", "store"}, kBob);
    CHECK(r.status == kStatusNotCoordinator);
    CHECK(r.message.find(kCoordinator.addr()) != std::string::npos);
    CHECK(c.xa("start", {"p1", "store"}).status == kStatusOk);
  }
}

TEST_CASE("xa: bad arguments are refused before anything is locked") {
  XaChain c;
  CHECK(c.xa("start", {"only-id"}).status == kStatusBadArguments); // start takes at least 2
  CHECK(c.xa("start", {"bad id", "store"}).status == kStatusBadArguments);
  CHECK(c.xa("start", {std::string(129, 'x'), "store"}).status == kStatusBadArguments);
  CHECK(c.xa("start", {"x", "store", "store"}).status == kStatusBadArguments);
  CHECK(c.xa("start", {"x", kXaProxyResource}).status == kStatusBadArguments);
  CHECK(c.xa("start", {"x", "nope"}).status == kStatusUnknownResource);
  REQUIRE(c.xa("start", {"x", "store"}).status == kStatusOk);
  CHECK(c.step("x", 1, "store", "set", {"k"}).status == kStatusBadArguments);
  CHECK(c.run(kAlice, kXaProxyResource, "exec", {"x", "-1", "store", "set", "k", "v"}).status == kStatusBadArguments);
  CHECK(c.status("x").at("steps").as_array().empty());
  CHECK_THROWS_AS(c.ledger.call(kXaProxyResource, "commit", {"x"}), Error); // a write method is not a read
}

TEST_CASE("the XA proxy's name is reserved in the chain config") {
  CHECK_THROWS_WITH_AS(parse_chain_config(R"({"resources":[{"name":"WeCrossProxy","contract":"kv"}]})"),
                       doctest::Contains("reserved"), Error);
  LedgerConfig lc = test_ledger_config();
  lc.resources.push_back({kXaProxyResource, "kv"});
  TempDir dir;
  CHECK_THROWS_AS(Ledger(lc, dir.file("v.sqlite")), Error);
  ChainConfig cc = parse_chain_config(R"({"xa_coordinator":"0x00000000000000000000000000000000000000aa"})");
  REQUIRE(cc.ledger.xa_coordinator.has_value());
  CHECK(address_text(*cc.ledger.xa_coordinator) == "0x00000000000000000000000000000000000000aa");
  CHECK_THROWS_AS(parse_chain_config(R"({"xa_coordinator":"alice"})"), Error);
}

TEST_CASE("two validators executing the same XA blocks agree on every header, deletions included") {
  XaChain a;
  TempDir dir;
  Ledger b(XaChain::config(std::nullopt), dir.file("b.sqlite"));
  auto both = [&](std::vector<Transaction> txs) {
    for (auto &tx : txs)
      a.ledger.submit(tx);
    Proposal p = a.ledger.propose(Address{}, 1000 + a.ledger.height(), true);
    ExecutedBlock other = b.execute(b.verify_block_txs([&] {
      std::vector<Transaction> out;
      for (const auto &v : p.block->txs)
        out.push_back(v.tx);
      return out;
    }()),
                                    Address{}, p.block->header.timestamp_ms);
    CHECK(other.header.hash() == p.block->header.hash());
    CHECK(other.header.state_hash == p.block->header.state_hash);
    a.ledger.commit(*p.block);
    b.commit(other);
  };
  uint64_t lim = 100;
  both({make_tx(kAlice, 7, lim, "token", "mint", {kAlice.addr(), "9"}),
        make_tx(kCoordinator, 7, lim, kXaProxyResource, "start", {"v1", "store", "token"})});
  both({make_tx(kAlice, 7, lim, kXaProxyResource, "exec", {"v1", "1", "store", "set", "n", "new"}),
        make_tx(kAlice, 7, lim, kXaProxyResource, "exec", {"v1", "2", "token", "transfer", kBob.addr(), "4"}),
        make_tx(kBob, 7, lim, "store", "set", {"n", "blocked"})});
  both({make_tx(kCoordinator, 7, lim, kXaProxyResource, "rollback", {"v1"})});
  CHECK(a.ledger.head().state_hash == b.head().state_hash);
  CHECK(b.call("store", "get", {"n"}) == std::vector<std::string>{""});
  CHECK(b.call(kXaProxyResource, "stateDigest", {"token"}) ==
        a.ledger.call(kXaProxyResource, "stateDigest", {"token"}));
}

TEST_CASE("xa: startexec starts the branch with the coordinator's ticket and runs the step in one transaction") {
  XaChain c;
  // The first start establishes the coordinator, as a start transaction would.
  Receipt first = c.start_step("t1", 1, {"store", "token"}, "store", "set", {"k", "v"});
  REQUIRE_MESSAGE(first.status == kStatusOk, first.message);
  CHECK(c.ledger.call("store", "get", {"k"}) == std::vector<std::string>{"v"});
  json::object st = c.status("t1");
  CHECK(st.at("status").as_string() == "processing");
  CHECK(st.at("resources") == json::array{"store", "token"});
  CHECK(st.at("steps").as_array().size() == 1);
  // Locked for the transaction: a direct write is busy.
  CHECK(c.run(kBob, "token", "mint", {kBob.addr(), "1"}).status == kStatusBusy);
  // A second step with the ticket again (an unknown outcome resent, or a concurrent step): the start is a repeat.
  Receipt again = c.start_step("t1", 2, {"store", "token"}, "token", "mint", {kAlice.addr(), "5"});
  REQUIRE_MESSAGE(again.status == kStatusOk, again.message);
  // The same seq with the same content answers from the record.
  Receipt repeat = c.start_step("t1", 1, {"store", "token"}, "store", "set", {"k", "v"});
  CHECK(repeat.status == kStatusOk);
  CHECK(c.status("t1").at("steps").as_array().size() == 2);
  REQUIRE(c.xa("commit", {"t1"}).status == kStatusOk);
  CHECK(c.balance(kAlice) == "5");
  // A finished id never starts again, with or without a ticket.
  Receipt late = c.start_step("t1", 3, {"store"}, "store", "set", {"k", "w"});
  CHECK(late.status == kStatusXaFinished);
  CHECK(c.ledger.call("store", "get", {"k"}) == std::vector<std::string>{"v"});
}

TEST_CASE("xa: startexec refuses tickets not signed by the coordinator, for another chain or other resources") {
  XaChain c(kCoordinator.address);
  auto unchanged = c.digest("store");
  // Signed by someone else (the step's own sender, say).
  Receipt forged = c.start_step("t2", 1, {"store"}, "store", "set", {"k", "v"}, kAlice);
  CHECK(forged.status == kStatusNotCoordinator);
  // Signed by the coordinator, but for chain 8: the digest differs, so the signer recovered is not the coordinator.
  Receipt other_chain = c.start_step("t2", 1, {"store"}, "store", "set", {"k", "v"}, kCoordinator, 8);
  CHECK(other_chain.status == kStatusNotCoordinator);
  // A signature that is not 65 bytes of hex.
  std::vector<std::string> bad{"t2", "1", "store", "set", "store", "0x1234", "k", "v"};
  CHECK(c.run(kAlice, kXaProxyResource, "startexec", bad).status == kStatusBadArguments);
  CHECK(c.digest("store") == unchanged);
  CHECK(c.status("t2").at("status").as_string() == "none");
  // The step must be on a resource the ticket locks; the failed step leaves no branch behind.
  Receipt outside = c.start_step("t2", 1, {"store"}, "token", "mint", {kAlice.addr(), "1"});
  CHECK(outside.status == kStatusXaConflict);
  CHECK(c.status("t2").at("status").as_string() == "none");
  // A resource another transaction holds: busy, naming it, and nothing of t3 stays.
  REQUIRE(c.xa("start", {"t2", "store"}).status == kStatusOk);
  Receipt busy = c.start_step("t3", 1, {"store"}, "store", "set", {"k", "v"});
  CHECK(busy.status == kStatusBusy);
  CHECK(busy.message.find("t2") != std::string::npos);
  CHECK(c.status("t3").at("status").as_string() == "none");
  // Once t2 is rolled back, t3's ticket starts it; a rollback of t3 then restores the key exactly.
  REQUIRE(c.xa("rollback", {"t2"}).status == kStatusOk);
  REQUIRE(c.start_step("t3", 1, {"store"}, "store", "set", {"k", "v"}).status == kStatusOk);
  REQUIRE(c.xa("rollback", {"t3"}).status == kStatusOk);
  CHECK(c.digest("store") == unchanged);
}
