// NodeClient's pipelined calls against a real client API: many in flight on one connection answered out of order,
// a call that times out alone, a connection that breaks under calls in flight (submits fail naming their hashes,
// reads go to the next node), close with calls pending, the in-flight cap, and calls from many threads. Each case
// runs twice: answers read on the client's own I/O thread, and on an event loop lent as the router lends its own
// (IoWatches over an io_context run by two threads).
#include "refchain_client_fixture.h"

#include "lent_loop_fixture.h"

#include <doctest/doctest.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

using namespace weft::refchain;
using namespace weft::refchain::test;
using net::NodeClient;
using net::NodeClientOptions;

namespace {

using Clock = std::chrono::steady_clock;

int64_t ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}
// What call_async's callbacks delivered, by call: each must run exactly once.
struct Answers {
  std::mutex mu;
  std::condition_variable cv;
  std::map<int, net::NodeAnswer> got;
  int calls = 0; // callbacks run, a repeat included

  net::NodeCallback slot(int key) {
    return [this, key](net::NodeAnswer a) {
      std::lock_guard lock(mu);
      ++calls;
      got.emplace(key, std::move(a));
      cv.notify_all();
    };
  }
  bool wait_for(size_t n, int ms = 5000) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, scaled(ms), [&] { return got.size() >= n; });
  }
  size_t size() {
    std::lock_guard lock(mu);
    return got.size();
  }
};

// Answers read on the client's own I/O thread.
struct OwnThread {
  NodeClientOptions options(std::vector<std::string> nodes, size_t max_in_flight = 1024) {
    return {.nodes = std::move(nodes), .max_in_flight = max_in_flight};
  }
};

// Answers read on a lent event loop: the router's io_watch services, on two threads.
struct RouterLoop : weft::test::LentLoop {
  NodeClientOptions options(std::vector<std::string> nodes, size_t max_in_flight = 1024) {
    return {.nodes = std::move(nodes), .max_in_flight = max_in_flight, .loop = this};
  }
};

} // namespace

TEST_CASE_TEMPLATE("node client: many calls in flight on one connection, answered out of order", Mode, OwnThread,
                   RouterLoop) {
  Mode mode;
  Node n;
  NodeClient c(mode.options({n.address()}));
  Answers submits, reads;
  TestAccount alice(1);
  std::vector<Transaction> txs;
  constexpr int kTxs = 40; // the test ledger's pool holds 50
  for (int i = 0; i < kTxs; ++i) {
    txs.push_back(n.tx(alice, {"k" + std::to_string(i), "v"}));
    c.call_async("submit", submit_fields(txs.back(), 10000), kCall, submits.slot(i));
    // Reads sent after each submit are answered at once, before the submits they follow.
    if (i % 4 == 0) c.call_async("block_height", {}, kCall, reads.slot(i));
  }
  REQUIRE(reads.wait_for(kTxs / 4));
  CHECK(submits.size() == 0);
  for (auto &[i, a] : reads.got)
    CHECK(a.result.at("height").as_int64() == 0);
  REQUIRE(wait_until([&] { return n.ledger.pool_size() == kTxs; }, 5000));
  CHECK(c.in_flight() == kTxs);
  n.commit();
  REQUIRE(submits.wait_for(kTxs));
  for (auto &[i, a] : submits.got) {
    REQUIRE(a.status == WEFT_OK);
    CHECK(a.result.at("hash").as_string() == to_hex(txs[i].hash()));
    CHECK(a.result.at("blockNumber").as_int64() == 1);
  }
  CHECK(submits.calls == kTxs);
  CHECK(c.in_flight() == 0);
}

TEST_CASE_TEMPLATE("node client: an async call times out alone; the connection goes on", Mode, OwnThread, RouterLoop) {
  Mode mode;
  Node n;
  NodeClient c(mode.options({n.address()}));
  Answers a;
  Transaction slow = n.tx(TestAccount(1), {"k", "v"});
  auto start = Clock::now();
  c.call_async("submit", submit_fields(slow, 10000), std::chrono::milliseconds(150), a.slot(0));
  c.call_async("block_height", {}, kCall, a.slot(1));
  REQUIRE(a.wait_for(2));
  CHECK(a.got.at(1).status == WEFT_OK);
  CHECK(a.got.at(0).status == WEFT_E_TIMEOUT);
  CHECK(a.got.at(0).message.find("submit") != std::string::npos);
  CHECK(ms_since(start) >= 150);
  // The node answers the submit later, at its commit: the late answer is dropped and the connection still serves.
  REQUIRE(wait_until([&] { return n.ledger.pool_size() == 1; }, 3000));
  n.commit();
  CHECK(c.call("block_height", {}, kCall).at("height").as_int64() == 1);
  CHECK(a.calls == 2);
}

TEST_CASE_TEMPLATE("node client: a connection that breaks fails its submits, sends its reads again, and fails over",
                   Mode, OwnThread, RouterLoop) {
  Mode mode;
  SilentNode silent;
  Node live;
  NodeClient c(mode.options({silent.address(), live.address()}));
  Answers a;
  TestAccount alice(1);
  std::vector<Transaction> txs;
  for (int i = 0; i < 20; ++i) {
    txs.push_back(live.tx(alice, {"k" + std::to_string(i), "v"}));
    c.call_async("submit", submit_fields(txs.back(), 10000), kCall, a.slot(i));
  }
  c.call_async("chain_info", {}, kCall, a.slot(100));
  REQUIRE(wait_until([&] { return silent.accepted() == 1; }, 3000));
  std::this_thread::sleep_for(scaled(50)); // the requests reach the silent node
  CHECK(a.size() == 0);
  silent.drop();
  REQUIRE(a.wait_for(21));
  for (int i = 0; i < 20; ++i) {
    const auto &got = a.got.at(i);
    CHECK(got.status == WEFT_E_UNAVAILABLE);
    CHECK(got.message.find("may have been admitted") != std::string::npos);
    CHECK(got.message.find(to_hex(txs[i].hash())) != std::string::npos);
  }
  // The read was sent again, to the next node.
  REQUIRE(a.got.at(100).status == WEFT_OK);
  CHECK(a.got.at(100).result.at("chainId").as_int64() == int64_t(kChain));
  CHECK(c.current_node() == live.address());
  CHECK(live.ledger.pool_size() == 0); // no submit was sent again
  Transaction tx = live.tx(alice, {"after", "v"});
  CHECK(c.call("submit", submit_fields(tx, 0), kCall).at("hash").as_string() == to_hex(tx.hash()));
  CHECK(a.calls == 21);
}

TEST_CASE_TEMPLATE("node client: close completes every pending call as cancelled before it returns", Mode, OwnThread,
                   RouterLoop) {
  Mode mode;
  Node n;
  Answers a;
  auto c = std::make_unique<NodeClient>(mode.options({n.address()}));
  TestAccount alice(1);
  for (int i = 0; i < 50; ++i)
    c->call_async("submit", submit_fields(n.tx(alice, {"k" + std::to_string(i), "v"}), 10000), kCall, a.slot(i));
  REQUIRE(wait_until([&] { return n.ledger.pool_size() == 50; }, 5000));
  SUBCASE("close") {
    c->close();
    CHECK(a.size() == 50);
    for (auto &[i, got] : a.got)
      CHECK(got.status == WEFT_E_CANCELLED);
    // Later calls fail at once, on the calling thread.
    c->call_async("block_height", {}, kCall, a.slot(99));
    CHECK(a.got.at(99).status == WEFT_E_CANCELLED);
    CHECK(status_of([&] { c->call("block_height", {}, kCall); }) == WEFT_E_CANCELLED);
    c.reset();
  }
  SUBCASE("destructor") {
    c.reset();
    CHECK(a.size() == 50);
  }
  n.commit();                          // the answers find no client
  CHECK(a.calls == int(a.got.size())); // once each
}

TEST_CASE_TEMPLATE("node client: beyond max_in_flight a call is rejected at once", Mode, OwnThread, RouterLoop) {
  Mode mode;
  Node n;
  NodeClient c(mode.options({n.address()}, 10));
  Answers a;
  TestAccount alice(1);
  for (int i = 0; i < 10; ++i)
    c.call_async("submit", submit_fields(n.tx(alice, {"k" + std::to_string(i), "v"}), 10000), kCall, a.slot(i));
  c.call_async("block_height", {}, kCall, a.slot(10));
  REQUIRE(a.size() == 1); // on the calling thread, before call_async returned
  CHECK(a.got.at(10).status == WEFT_E_REJECTED);
  CHECK(a.got.at(10).message.find("too many calls in flight") != std::string::npos);
  REQUIRE(wait_until([&] { return n.ledger.pool_size() == 10; }, 5000));
  n.commit();
  REQUIRE(a.wait_for(11));
  CHECK(c.call("block_height", {}, kCall).at("height").as_int64() == 1); // room again
}

TEST_CASE_TEMPLATE("node client: calls from many threads share the connection", Mode, OwnThread, RouterLoop) {
  Mode mode;
  Node n;
  NodeClient c(mode.options({n.address()}));
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i)
        if (c.call("block_height", {}, kCall).at("height").as_int64() == 0) ++ok;
    });
  for (auto &t : threads)
    t.join();
  CHECK(ok == 400);
}

TEST_CASE(
    "node client: with a lent loop, answers complete on the loop's threads and the watch ends with the connection") {
  RouterLoop loop;
  Node n;
  std::atomic<int> on_loop{0}, elsewhere{0};
  {
    Answers a;
    NodeClient c(loop.options({n.address()}));
    for (int i = 0; i < 20; ++i)
      c.call_async("block_height", {}, kCall, [&, slot = a.slot(i)](net::NodeAnswer ans) {
        (loop.is_loop_thread() ? on_loop : elsewhere)++;
        slot(std::move(ans));
      });
    REQUIRE(a.wait_for(20));
    CHECK(on_loop == 20);
    CHECK(elsewhere == 0);
    CHECK(loop.watches.size() == 1); // the connection's
  }
  CHECK(loop.watches.size() == 0); // closed with the client
}
