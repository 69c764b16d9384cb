// Four validators in one process, with real ledgers and SQLite files: transactions gossip and commit on all of
// them, a stopped validator does not stop the chain, two stopped ones do, and a restarted network catches up.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>

#include "embedded_network.h"
#include "error.h"
#include "refchain_test_support.h"

using namespace weft::refchain;
using namespace weft::refchain::test;

namespace {

ChainConfig fast_config() {
  ChainConfig c;
  c.ledger.chain_id = 9;
  c.ledger.resources = {{"store", "kv"}, {"token", "asset"}};
  c.validators = 4;
  c.block_interval_ms = 5;
  c.empty_block_interval_ms = 60000; // no empty blocks: heights move only with transactions
  return c;
}

// Collects commits seen by validator 0 (the one clients talk to).
struct Commits {
  std::mutex mu;
  std::set<Hash> txs;
  Validator::Listeners listeners() {
    Validator::Listeners l;
    l.committed = [this](const ExecutedBlock &b) {
      std::lock_guard lock(mu);
      for (const auto &tx : b.txs)
        txs.insert(tx.hash);
    };
    return l;
  }
  bool has(const Hash &h) {
    std::lock_guard lock(mu);
    return txs.count(h) != 0;
  }
};

template <class Pred> bool eventually(Pred p, std::chrono::milliseconds limit) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (p()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return p();
}

Hash send(EmbeddedNetwork &net, const TestAccount &who, const std::string &key) {
  Ledger &l = net.front().ledger();
  return net.front().submit(make_tx(who, l.chain_id(), l.height() + 100, "store", "set", {key, "v-" + key}));
}

// Every running validator holds the same block hash at every height up to the lowest head among them.
void check_identical(EmbeddedNetwork &net, const std::vector<size_t> &running) {
  uint64_t low = UINT64_MAX;
  for (size_t i : running)
    low = std::min(low, net.at(i).ledger().height());
  for (uint64_t h = 0; h <= low; ++h) {
    auto first = net.at(running[0]).ledger().header(h);
    REQUIRE(first);
    for (size_t i : running) {
      CAPTURE(h);
      CAPTURE(i);
      CHECK(net.at(i).ledger().header(h)->hash() == first->hash());
    }
  }
}

bool all_at_least(EmbeddedNetwork &net, const std::vector<size_t> &which, uint64_t height) {
  for (size_t i : which)
    if (net.at(i).ledger().height() < height) return false;
  return true;
}

} // namespace

TEST_CASE("embedded validators commit, survive one stopped validator, halt with two, and catch up after restart") {
  TempDir dir;
  TestAccount alice(7);
  std::vector<Hash> sent;
  {
    Commits commits;
    EmbeddedNetwork net(fast_config(), dir.path(), commits.listeners(), nullptr, 100);
    REQUIRE(net.size() == 4);
    net.start();

    for (int i = 0; i < 10; ++i)
      sent.push_back(send(net, alice, "a" + std::to_string(i)));
    REQUIRE(eventually([&] { return commits.has(sent.back()); }, scaled(10000)));
    // Gossip reached every validator's pool, so whoever proposed, all ten committed.
    for (const auto &h : sent)
      CHECK(commits.has(h));
    uint64_t h1 = net.front().ledger().height();
    REQUIRE(eventually([&] { return all_at_least(net, {0, 1, 2, 3}, h1); }, scaled(5000)));
    check_identical(net, {0, 1, 2, 3});

    // One of four stopped (f = 1): blocks keep committing, through round changes when it is the proposer.
    net.at(1).stop();
    for (int i = 0; i < 8; ++i) {
      sent.push_back(send(net, alice, "b" + std::to_string(i)));
      REQUIRE(eventually([&] { return commits.has(sent.back()); }, scaled(10000)));
    }
    uint64_t h2 = net.front().ledger().height();
    CHECK(h2 >= h1 + 1);
    REQUIRE(eventually([&] { return all_at_least(net, {0, 2, 3}, h2); }, scaled(5000)));
    check_identical(net, {0, 2, 3});

    // Two stopped: no quorum, nothing commits.
    net.at(2).stop();
    Hash stuck = send(net, alice, "c0");
    std::this_thread::sleep_for(scaled(800));
    CHECK_FALSE(commits.has(stuck));
    CHECK(net.front().ledger().height() == h2);
    CHECK(net.at(3).ledger().height() == h2);
    net.stop();
  }
  {
    // Restarted from the same files: the stopped validators catch up to identical chains, and the chain moves on.
    Commits commits;
    EmbeddedNetwork net(fast_config(), dir.path(), commits.listeners(), nullptr, 100);
    net.start();
    uint64_t top = 0;
    for (size_t i = 0; i < 4; ++i)
      top = std::max(top, net.at(i).ledger().height());
    Hash after = send(net, alice, "d0");
    REQUIRE(eventually([&] { return commits.has(after); }, scaled(15000)));
    uint64_t h3 = net.front().ledger().height();
    CHECK(h3 > top);
    REQUIRE(eventually([&] { return all_at_least(net, {0, 1, 2, 3}, h3); }, scaled(10000)));
    check_identical(net, {0, 1, 2, 3});
    // Every acknowledged transaction is still there after the restart.
    for (const auto &h : sent)
      CHECK(net.at(1).ledger().find_tx(h).has_value());
    net.stop();
  }
}

TEST_CASE("a validator refuses a key that does not match its place in the set") {
  TempDir dir;
  ChainConfig c = fast_config();
  ValidatorOptions o;
  o.chain = c;
  o.key = load_or_create_validator_key(dir.file("k.key"));
  o.validators = {Address{}, o.key.address};
  o.self = 0;
  o.db_path = dir.file("v.sqlite");
  struct Null : Outbox {
    void broadcast(ByteView) override {}
    void send(uint32_t, ByteView) override {}
  } out;
  CHECK_THROWS_AS(Validator(o, out, {}, nullptr), Error);
  o.self = 5;
  CHECK_THROWS_AS(Validator(o, out, {}, nullptr), Error);
}
