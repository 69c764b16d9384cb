// The ledger without threads: pool admission and replay protection, contracts, failing transactions, the state
// hash chain and block timestamps.
#include "config.h"
#include "error.h"
#include "ledger.h"
#include "refchain_test_support.h"

#include <doctest/doctest.h>

using namespace weft::refchain;
using namespace weft::refchain::test;

namespace {
int32_t status_of(auto &&f) {
  try {
    f();
  } catch (const Error &e) {
    return e.status;
  }
  return WEFT_OK;
}

std::string message_of(auto &&f) {
  try {
    f();
  } catch (const std::exception &e) {
    return e.what();
  }
  return "";
}

struct Chain {
  TempDir dir;
  Ledger ledger{test_ledger_config(), dir.file("v.sqlite")};
  uint64_t limit() { return ledger.height() + 100; }
  Receipt run(const TestAccount &who, const std::string &res, const std::string &method,
              std::vector<std::string> args) {
    Hash h = ledger.submit(make_tx(who, 7, limit(), res, method, std::move(args)));
    ExecutedBlock b = seal(ledger, 1000 + ledger.height());
    for (const auto &r : b.receipts)
      if (r.tx_hash == h) return r;
    FAIL("transaction not in the sealed block");
    return {};
  }
};
} // namespace

TEST_CASE("the same nonce is refused while pending and after it is committed") {
  Chain c;
  TestAccount alice(2);
  Transaction tx = make_tx(alice, 7, 50, "store", "set", {"k", "v"});
  c.ledger.submit(tx);
  CHECK(status_of([&] { c.ledger.submit(tx); }) == WEFT_E_REJECTED); // same hash
  Transaction same_nonce = make_tx(alice, 7, 50, "store", "set", {"k", "other"});
  same_nonce.nonce = tx.nonce;
  same_nonce.signature = sign_digest(alice.secret, same_nonce.signing_digest());
  CHECK(message_of([&] { c.ledger.submit(same_nonce); }).find("pending") != std::string::npos);
  seal(c.ledger);
  CHECK(c.ledger.pool_size() == 0);
  CHECK(message_of([&] { c.ledger.submit(tx); }).find("already used in block 1") != std::string::npos);
  CHECK(status_of([&] { c.ledger.submit(same_nonce); }) == WEFT_E_REJECTED);
}

TEST_CASE("block limits outside (height, height + 1000] are refused") {
  Chain c;
  TestAccount alice(2);
  seal(c.ledger);
  seal(c.ledger, 2000); // height 2
  CHECK(message_of([&] {
          c.ledger.submit(make_tx(alice, 7, 2, "store", "set", {"k", "v"}));
        }).find("expired") != std::string::npos);
  CHECK(status_of([&] { c.ledger.submit(make_tx(alice, 7, 1, "store", "set", {"k", "v"})); }) == WEFT_E_REJECTED);
  CHECK(message_of([&] {
          c.ledger.submit(make_tx(alice, 7, 1003, "store", "set", {"k", "v"}));
        }).find("too far ahead") != std::string::npos);
  CHECK(status_of([&] { c.ledger.submit(make_tx(alice, 7, 1002, "store", "set", {"k", "v"})); }) == WEFT_OK);
  CHECK(status_of([&] { c.ledger.submit(make_tx(alice, 7, 3, "store", "set", {"k", "v"})); }) == WEFT_OK);
}

TEST_CASE("a pooled transaction whose block limit passes is dropped, not included") {
  Chain c;
  TestAccount alice(2);
  Hash h = c.ledger.submit(make_tx(alice, 7, 1, "store", "set", {"k", "v"}));
  // Another validator's block (here: an empty one via execute/commit) moves the height past the limit.
  c.ledger.commit(c.ledger.execute({}, Address{}, 10));
  Proposal p = c.ledger.propose(Address{}, 20, false);
  CHECK_FALSE(p.block.has_value());
  REQUIRE(p.expired.size() == 1);
  CHECK(p.expired[0] == h);
  CHECK(c.ledger.pool_size() == 0);
}

TEST_CASE("signature and chain id are checked before the pool, and a full pool refuses clearly") {
  TestAccount alice(2);
  TempDir dir;
  LedgerConfig cfg = test_ledger_config();
  cfg.pool_limit = 2;
  Ledger ledger(cfg, dir.file("v.sqlite"));
  Transaction wrong_chain = make_tx(alice, 8, 10, "store", "set", {"k", "v"});
  CHECK(status_of([&] { ledger.submit(wrong_chain); }) == WEFT_E_REJECTED);
  Transaction high_s = make_tx(alice, 7, 10, "store", "set", {"k", "v"});
  high_s.signature = high_s_twin(high_s.signature);
  CHECK(status_of([&] { ledger.submit(high_s); }) == WEFT_E_REJECTED);
  CHECK(ledger.pool_size() == 0);
  ledger.submit(make_tx(alice, 7, 10, "store", "set", {"a", "1"}));
  ledger.submit(make_tx(alice, 7, 10, "store", "set", {"b", "2"}));
  auto full = [&] { ledger.submit(make_tx(alice, 7, 10, "store", "set", {"c", "3"})); };
  CHECK(status_of(full) == WEFT_E_REJECTED);
  CHECK(message_of(full).find("pool is full") != std::string::npos);
  CHECK(status_of([&] { ledger.submit_bytes(Bytes{1, 2, 3}); }) == WEFT_E_INVALID_ARGUMENT);
}

TEST_CASE("a proposed block's transactions: pooled copies stand for the same bytes, the rest are verified") {
  Chain c;
  TestAccount alice(1), bob(2);
  Transaction pooled = make_tx(alice, 7, c.limit(), "store", "set", {"k", "v"});
  Transaction fresh = make_tx(bob, 7, c.limit(), "store", "set", {"k2", "v2"});
  c.ledger.submit(pooled);
  auto txs = c.ledger.verify_block_txs({pooled, fresh});
  REQUIRE(txs.size() == 2);
  CHECK(txs[0].hash == pooled.hash());
  CHECK(txs[0].sender == alice.address);
  CHECK(txs[1].hash == fresh.hash());
  CHECK(txs[1].sender == bob.address);
  // Other bytes under the pooled transaction's signature are not the pooled transaction: checked, and refused or
  // attributed to whoever the signature recovers to — never to alice.
  Transaction forged = pooled;
  forged.args[1] = "stolen";
  try {
    auto out = c.ledger.verify_block_txs({forged});
    CHECK(out[0].sender != alice.address);
    CHECK(out[0].hash == forged.hash());
  } catch (const Error &e) {
    CHECK(e.status == WEFT_E_REJECTED);
  }
  // A transaction for another chain is refused even though nothing of it is pooled.
  CHECK(status_of([&] {
          c.ledger.verify_block_txs({make_tx(alice, 8, c.limit(), "store", "set", {"a", "b"})});
        }) == WEFT_E_REJECTED);
}

TEST_CASE("kv: set writes, get reads, unset keys read as the empty string") {
  Chain c;
  TestAccount alice(2);
  CHECK(c.ledger.call("store", "get", {"k"}) == std::vector<std::string>{""});
  CHECK(c.run(alice, "store", "set", {"k", "v1"}).status == kStatusOk);
  CHECK(c.ledger.call("store", "get", {"k"}) == std::vector<std::string>{"v1"});
  CHECK(status_of([&] { c.ledger.call("store", "set", {"k", "v"}); }) == WEFT_E_INVALID_ARGUMENT);
  CHECK(message_of([&] {
          c.ledger.call("store", "set", {"k", "v"});
        }).find("use sendTransaction") != std::string::npos);
  CHECK(status_of([&] { c.ledger.call("nope", "get", {"k"}); }) == WEFT_E_NOT_FOUND);
  CHECK(status_of([&] { c.ledger.call("store", "nope", {"k"}); }) == WEFT_E_NOT_FOUND);
  CHECK(status_of([&] { c.ledger.call("store", "get", {}); }) == WEFT_E_INVALID_ARGUMENT);
}

TEST_CASE("asset: mint, transfer, insufficient balance, the issuer rule and overflow") {
  Chain c;
  TestAccount issuer(2), bob(3), eve(4);
  CHECK(c.run(issuer, "token", "mint", {issuer.addr(), "100"}).status == kStatusOk);
  CHECK(c.ledger.call("token", "totalSupply", {}) == std::vector<std::string>{"100"});
  Receipt t = c.run(issuer, "token", "transfer", {bob.addr(), "30"});
  CHECK(t.status == kStatusOk);
  CHECK(t.from == issuer.address);
  CHECK(c.ledger.call("token", "balanceOf", {issuer.addr()}) == std::vector<std::string>{"70"});
  CHECK(c.ledger.call("token", "balanceOf", {bob.addr()}) == std::vector<std::string>{"30"});

  Receipt poor = c.run(bob, "token", "transfer", {eve.addr(), "31"});
  CHECK(poor.status == kStatusInsufficientBalance);
  CHECK(poor.message.find("insufficient balance") != std::string::npos);
  CHECK(c.ledger.call("token", "balanceOf", {bob.addr()}) == std::vector<std::string>{"30"});

  Receipt stranger = c.run(eve, "token", "mint", {eve.addr(), "5"});
  CHECK(stranger.status == kStatusNotIssuer);
  CHECK(c.ledger.call("token", "balanceOf", {eve.addr()}) == std::vector<std::string>{"0"});

  CHECK(c.run(issuer, "token", "mint", {bob.addr(), "18446744073709551515"}).status == kStatusOk); // supply 2^64-1
  CHECK(c.run(issuer, "token", "mint", {bob.addr(), "1"}).status == kStatusOverflow);
  CHECK(c.ledger.call("token", "totalSupply", {}) == std::vector<std::string>{"18446744073709551615"});
  CHECK(c.run(issuer, "token", "mint", {bob.addr(), "18446744073709551616"}).status == kStatusOverflow);

  for (const char *bad : {"-1", "", "1.5", "0x10", " 1", "01", "abc", "0"})
    CHECK_MESSAGE(c.run(issuer, "token", "transfer", {bob.addr(), bad}).status == kStatusBadArguments, bad);
  CHECK(c.run(issuer, "token", "transfer", {"bob", "1"}).status == kStatusBadArguments);
  CHECK(c.run(issuer, "token", "transfer", {bob.addr(), "1", "extra"}).status == kStatusBadArguments);
  CHECK(c.run(issuer, "nope", "transfer", {bob.addr(), "1"}).status == kStatusUnknownResource);
  CHECK(c.run(issuer, "token", "burn", {bob.addr(), "1"}).status == kStatusUnknownMethod);
  CHECK(c.ledger.call("token", "balanceOf", {issuer.addr()}) == std::vector<std::string>{"70"});
}

TEST_CASE("amounts parse strictly") {
  CHECK(parse_amount("0") == 0);
  CHECK(parse_amount("18446744073709551615") == UINT64_MAX);
  CHECK_THROWS_AS(parse_amount("18446744073709551616"), ContractError);
  CHECK_THROWS_AS(parse_amount("99999999999999999999999"), ContractError);
  CHECK_THROWS_AS(parse_amount("+1"), ContractError);
  CHECK_THROWS_AS(parse_amount("007"), ContractError);
}

TEST_CASE("a failing transaction is included with its status, and its writes are discarded") {
  Chain c;
  TestAccount issuer(2), bob(3);
  c.run(issuer, "token", "mint", {issuer.addr(), "10"});
  Hash ok = c.ledger.submit(make_tx(issuer, 7, c.limit(), "store", "set", {"x", "1"}));
  Hash bad = c.ledger.submit(make_tx(bob, 7, c.limit(), "token", "transfer", {issuer.addr(), "5"}));
  ExecutedBlock b = seal(c.ledger, 5000);
  REQUIRE(b.receipts.size() == 2);
  CHECK(b.receipts[0].tx_hash == ok);
  CHECK(b.receipts[1].tx_hash == bad);
  CHECK(b.receipts[1].status == kStatusInsufficientBalance);
  CHECK(b.receipts[1].index == 1);
  CHECK(b.writes.size() == 1); // only the kv write
  CHECK(c.ledger.find_tx(bad)->receipt.status == kStatusInsufficientBalance);
}

TEST_CASE("the state hash chains over sorted writes, and timestamps strictly increase") {
  Chain c;
  TestAccount alice(2);
  BlockHeader before = c.ledger.head();
  c.ledger.submit(make_tx(alice, 7, c.limit(), "store", "set", {"b", "2"}));
  c.ledger.submit(make_tx(alice, 7, c.limit(), "store", "set", {"a", "1"}));
  ExecutedBlock b = seal(c.ledger, 5);
  StateWrites expected{{{"store", "a"}, "1"}, {{"store", "b"}, "2"}};
  CHECK(b.header.state_hash == next_state_hash(before.state_hash, expected));
  CHECK(b.header.parent_hash == before.hash());
  ExecutedBlock empty = seal(c.ledger, 1); // a clock behind the parent still yields a later timestamp
  CHECK(empty.header.timestamp_ms == b.header.timestamp_ms + 1);
  CHECK(empty.header.state_hash == next_state_hash(b.header.state_hash, {}));
  CHECK(status_of([&] { c.ledger.execute({}, Address{}, empty.header.timestamp_ms); }) == WEFT_E_REJECTED);
}

TEST_CASE("chain config: defaults, and clear refusals") {
  ChainConfig d = parse_chain_config("");
  CHECK(d.ledger.chain_id == 1);
  CHECK(d.block_interval_ms == 100);
  CHECK(d.empty_block_interval_ms == 3000);
  CHECK(d.ledger.max_block_txs == 1000);
  CHECK(d.ledger.pool_limit == 20000);
  CHECK(d.ledger.resources.size() == 2);
  ChainConfig c = parse_chain_config(R"({"chain_id": 9, "resources":[{"name":"kv1","contract":"kv"}]})");
  CHECK(c.ledger.chain_id == 9);
  CHECK(c.ledger.resources.size() == 1);
  CHECK(message_of([] { parse_chain_config(R"({"chain_idd": 1})"); }).find("unknown key \"chain_idd\"") !=
        std::string::npos);
  CHECK(message_of([] { parse_chain_config(R"({"pool_limit": -1})"); }).find("pool_limit") != std::string::npos);
  CHECK(message_of([] { parse_chain_config(R"({"block_interval_ms": "fast"})"); }).find("block_interval_ms") !=
        std::string::npos);
  CHECK(message_of([] {
          parse_chain_config(R"({"resources":[{"name":"x","contract":"evm"}]})");
        }).find("contract must be") != std::string::npos);
  CHECK(message_of([] {
          parse_chain_config(R"({"resources":[{"name":"x","contract":"kv","v":1}]})");
        }).find("unknown resource field") != std::string::npos);
  CHECK(status_of([] { parse_chain_config("{"); }) == WEFT_E_INVALID_ARGUMENT);
  CHECK(status_of([] { parse_chain_config("[]"); }) == WEFT_E_INVALID_ARGUMENT);
}
