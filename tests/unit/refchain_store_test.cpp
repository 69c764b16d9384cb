// Persistence: what a validator committed is all there after close and reopen — height, hashes, state, receipts,
// proofs and the replay window.
#include "error.h"
#include "ledger.h"
#include "refchain_test_support.h"
#include "validator_key.h"

#include <sys/stat.h>

#include <doctest/doctest.h>

using namespace weft::refchain;
using namespace weft::refchain::test;

TEST_CASE("a reopened ledger has the same height, hashes, state, receipts and nonce window") {
  TempDir dir;
  TestAccount issuer(2), bob(3);
  std::vector<BlockHeader> headers;
  Transaction first, failed;
  Hash failed_hash;
  {
    Ledger ledger(test_ledger_config(), dir.file("v.sqlite"));
    first = make_tx(issuer, 7, 100, "token", "mint", {issuer.addr(), "50"});
    ledger.submit(first);
    headers.push_back(seal(ledger, 100).header);
    ledger.submit(make_tx(issuer, 7, 100, "store", "set", {"k", "v"}));
    failed = make_tx(bob, 7, 100, "token", "transfer", {issuer.addr(), "1"});
    failed_hash = ledger.submit(failed);
    headers.push_back(seal(ledger, 200).header);
    headers.push_back(seal(ledger, 300).header); // empty
  }
  Ledger ledger(test_ledger_config(), dir.file("v.sqlite"));
  CHECK(ledger.height() == 3);
  CHECK(ledger.head().hash() == headers.back().hash());
  for (const auto &h : headers)
    CHECK(ledger.header(h.number)->hash() == h.hash());
  CHECK(ledger.block_tx_hashes(2).size() == 2);
  CHECK(ledger.call("token", "balanceOf", {issuer.addr()}) == std::vector<std::string>{"50"});
  CHECK(ledger.call("store", "get", {"k"}) == std::vector<std::string>{"v"});
  auto rec = ledger.find_tx(failed_hash);
  REQUIRE(rec);
  CHECK(rec->receipt.status == kStatusInsufficientBalance);
  CHECK(rec->receipt.block_number == 2);
  CHECK(rec->receipt.from == bob.address);
  CHECK(rec->tx.encode() == failed.encode());
  auto proof = ledger.proof(failed_hash);
  REQUIRE(proof);
  CHECK(verify_proof(*proof));
  CHECK(proof->block_hash == headers[1].hash());

  // The replay window came back from the store: both committed nonces are refused.
  try {
    ledger.submit(first);
    FAIL("replay accepted after reopen");
  } catch (const Error &e) {
    CHECK(e.status == WEFT_E_REJECTED);
    CHECK(std::string(e.what()).find("already used in block 1") != std::string::npos);
  }
  CHECK_THROWS_AS(ledger.submit(failed), Error);

  // And the chain goes on from where it stopped.
  ledger.submit(make_tx(issuer, 7, 100, "store", "set", {"k", "w"}));
  BlockHeader next = seal(ledger, 400).header;
  CHECK(next.number == 4);
  CHECK(next.parent_hash == headers.back().hash());
}

TEST_CASE("a store refuses to open for another chain id") {
  TempDir dir;
  { Ledger ledger(test_ledger_config(7), dir.file("v.sqlite")); }
  try {
    Ledger other(test_ledger_config(8), dir.file("v.sqlite"));
    FAIL("opened a store of another chain");
  } catch (const Error &e) {
    CHECK(std::string(e.what()).find("another chain id") != std::string::npos);
  }
}

TEST_CASE("the nonce window forgets blocks older than the block-limit range, where replay is impossible anyway") {
  TempDir dir;
  TestAccount alice(2);
  Ledger ledger(test_ledger_config(), dir.file("v.sqlite"));
  Transaction tx = make_tx(alice, 7, 1, "store", "set", {"k", "v"});
  ledger.submit(tx);
  seal(ledger, 1);
  for (uint64_t i = 2; i <= kBlockLimitRange + 1; ++i)
    ledger.commit(ledger.execute({}, Address{}, i));
  // The old transaction cannot come back: its block limit has long passed.
  try {
    ledger.submit(tx);
    FAIL("replay accepted");
  } catch (const Error &e) {
    CHECK(std::string(e.what()).find("expired") != std::string::npos);
  }
}

TEST_CASE("a second validator re-executing the leader's transactions reaches the same block and state") {
  TempDir a_dir, b_dir;
  Ledger leader(test_ledger_config(), a_dir.file("v0.sqlite"));
  Ledger follower(test_ledger_config(), b_dir.file("v1.sqlite"));
  TestAccount issuer(2), bob(3);
  leader.submit(make_tx(issuer, 7, 100, "token", "mint", {issuer.addr(), "9"}));
  leader.submit(make_tx(bob, 7, 100, "token", "transfer", {issuer.addr(), "1"})); // fails: bob has nothing
  leader.submit(make_tx(issuer, 7, 100, "store", "set", {"k", "v"}));
  Address proposer{};
  proposer[0] = 0xaa;
  Proposal p = leader.propose(proposer, 777, false);
  REQUIRE(p.block);
  ExecutedBlock replica = follower.execute(p.block->txs, proposer, p.block->header.timestamp_ms);
  CHECK(replica.header.hash() == p.block->header.hash());
  leader.commit(*p.block);
  follower.commit(replica);
  CHECK(follower.call("token", "balanceOf", {issuer.addr()}) == std::vector<std::string>{"9"});
  // Replaying the same transactions on the follower is refused now that their nonces are in its window.
  CHECK_THROWS_AS(follower.execute(p.block->txs, proposer, 778), Error);
}

TEST_CASE("the validator key file is created with mode 0600, reloaded unchanged, and refused when exposed") {
  TempDir dir;
  std::string path = dir.file("validator0.key");
  ValidatorKey k = load_or_create_validator_key(path);
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(load_or_create_validator_key(path).address == k.address);
  CHECK(address_of(public_key_of(k.secret)) == k.address);
  ::chmod(path.c_str(), 0644);
  CHECK_THROWS_WITH_AS(load_or_create_validator_key(path), doctest::Contains("chmod 600"), Error);
}

TEST_CASE("a deletion in a block's writes removes the key; a prefix scan lists live keys in order") {
  TempDir dir;
  {
    Store store(dir.file("s.sqlite"), 7);
    BlockHeader h1;
    h1.chain_id = 7;
    h1.number = 1;
    store.commit(h1, {}, {}, {{{"r", "a/1"}, "x"}, {{"r", "a/2"}, "y"}, {{"r", "b"}, "z"}, {{"q", "a/3"}, "w"}});
    BlockHeader h2 = h1;
    h2.number = 2;
    store.commit(h2, {}, {}, {{{"r", "a/1"}, std::nullopt}, {{"r", "never"}, std::nullopt}});
    CHECK_FALSE(store.state_get("r", "a/1").has_value());
    CHECK(store.state_scan("r", "a/") == StateEntries{{"a/2", "y"}});
  }
  Store reopened(dir.file("s.sqlite"), 7);
  CHECK(reopened.state_scan("r", "") == StateEntries{{"a/2", "y"}, {"b", "z"}});
  CHECK(reopened.state_scan("q", "") == StateEntries{{"a/3", "w"}});
}
