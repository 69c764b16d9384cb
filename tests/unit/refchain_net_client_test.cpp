// The client API over real sockets, served from a bare ledger that the test seals by hand: every op, a submit
// answered at its commit or at its wait, pipelined requests answered out of order, bad input, the connection limit,
// idle and slow-drip clients, and a client that fails over from a dead node. NodeClient's pipelined calls are
// tested in refchain_node_client_test.cpp.
#include "refchain_client_fixture.h"

#include <doctest/doctest.h>

#include <future>
#include <set>

using namespace weft::refchain;
using namespace weft::refchain::test;
using net::NodeClient;

TEST_CASE("client api: every op answers the plugin's JSON") {
  Node n;
  NodeClient c({.nodes = {n.address()}});
  TestAccount alice(1);

  auto info = c.call("chain_info", {}, kCall);
  CHECK(info.at("chainId").as_int64() == int64_t(kChain));
  CHECK(info.at("height").as_int64() == 0);
  CHECK(info.at("validators").as_array().at(0).as_string() == n.validator.addr());
  CHECK(info.at("self").as_int64() == 0);

  // A submit waits for its commit and answers what send_transaction answers.
  Transaction tx = n.tx(alice, {"k", "v"});
  auto sent = std::async(std::launch::async, [&] {
    NodeClient c2({.nodes = {n.address()}});
    return c2.call("submit", submit_fields(tx, 5000), kCall);
  });
  REQUIRE(wait_until([&] { return n.ledger.pool_size() == 1; }, 3000));
  n.commit();
  auto receipt = sent.get();
  CHECK(receipt.at("errorCode").as_int64() == 0);
  CHECK(receipt.at("hash").as_string() == to_hex(tx.hash()));
  CHECK(receipt.at("blockNumber").as_int64() == 1);

  CHECK(c.call("block_height", {}, kCall).at("height").as_int64() == 1);
  auto got = c.call("call", {{"resource", "store"}, {"method", "get"}, {"args", {"k"}}}, kCall);
  CHECK(got.at("result").as_array().at(0).as_string() == "v");
  auto block = c.call("get_block", {{"number", 1}}, kCall);
  CHECK(block.at("transactions").as_array().at(0).as_string() == to_hex(tx.hash()));
  auto rec = c.call("get_receipt", {{"hash", to_hex(tx.hash())}}, kCall);
  CHECK(rec.at("from").as_string() == alice.addr());
  auto proof = proof_from_json(c.call("get_proof", {{"hash", to_hex(tx.hash())}}, kCall));
  CHECK(verify_proof(proof));
  auto health = c.call("health", {}, kCall);
  CHECK(health.at("status").as_string() == "ok");
  CHECK(health.at("round").as_int64() == 0);

  // wait_ms 0 answers at admission.
  Transaction quick = n.tx(alice, {"k2", "v2"});
  CHECK(c.call("submit", submit_fields(quick, 0), kCall).at("hash").as_string() == to_hex(quick.hash()));

  // Errors carry the chain's statuses.
  CHECK(status_of([&] { c.call("get_block", {{"number", 99}}, kCall); }) == WEFT_E_NOT_FOUND);
  CHECK(status_of([&] { c.call("call", {{"resource", "nope"}, {"method", "get"}}, kCall); }) == WEFT_E_NOT_FOUND);
  CHECK(status_of([&] { c.call("submit", submit_fields(quick, 0), kCall); }) == WEFT_E_REJECTED); // replay
  CHECK(status_of([&] { c.call("submit", {{"tx", "0x1234"}}, kCall); }) == WEFT_E_INVALID_ARGUMENT);
  CHECK(status_of([&] { c.call("launch", {}, kCall); }) == WEFT_E_UNSUPPORTED);
}

TEST_CASE("client api: a submit not committed within wait_ms answers a timeout naming its hash") {
  Node n;
  NodeClient c({.nodes = {n.address()}});
  Transaction tx = n.tx(TestAccount(1), {"k", "v"});
  try {
    c.call("submit", submit_fields(tx, 100), kCall);
    FAIL("no timeout");
  } catch (const Error &e) {
    CHECK(e.status == WEFT_E_TIMEOUT);
    CHECK(std::string(e.what()).find(to_hex(tx.hash())) != std::string::npos);
  }
  n.commit(); // committed later: get_receipt finds it
  CHECK(c.call("get_receipt", {{"hash", to_hex(tx.hash())}}, kCall).at("blockNumber").as_int64() == 1);
}

TEST_CASE("client api: pipelined requests are answered as they finish") {
  Node n;
  RawConn conn(n.server.port());
  Transaction tx = n.tx(TestAccount(1), {"k", "v"});
  conn.write_frame(view(json::serialize(json::object{{"id", 1}, {"op", "submit"}, {"tx", to_hex(tx.encode())}})));
  conn.write_frame(view(R"({"id":2,"op":"block_height"})"));
  conn.write_frame(view(R"({"id":"three","op":"chain_info"})"));
  std::set<std::string> early;
  for (int i = 0; i < 2; ++i) {
    auto a = conn.read_frame();
    REQUIRE(a);
    auto o = parse(*a);
    CHECK(o.at("status").as_int64() == 0);
    early.insert(json::serialize(o.at("id")));
  }
  CHECK(early == std::set<std::string>{"2", "\"three\""});
  REQUIRE(wait_until([&] { return n.ledger.pool_size() == 1; }, 3000));
  n.commit();
  auto last = conn.read_frame();
  REQUIRE(last);
  auto o = parse(*last);
  CHECK(o.at("id").as_int64() == 1);
  CHECK(o.at("result").at("blockNumber").as_int64() == 1);
}

TEST_CASE("client api: bad input gets an error answer or a closed connection, and the server keeps serving") {
  Node n;
  {
    RawConn conn(n.server.port());
    conn.write_frame(view("{not json"));
    auto a = conn.read_frame();
    REQUIRE(a);
    CHECK(parse(*a).at("status").as_int64() == WEFT_E_INVALID_ARGUMENT);
    CHECK(parse(*a).at("id").is_null());
    conn.write_frame(view(R"({"id":5})")); // no op
    CHECK(parse(*conn.read_frame()).at("status").as_int64() == WEFT_E_INVALID_ARGUMENT);
    conn.write_frame(view(R"([1,2,3])"));
    CHECK(parse(*conn.read_frame()).at("status").as_int64() == WEFT_E_INVALID_ARGUMENT);
    conn.write_frame(view(R"({"id":6,"op":"get_block","number":-1})"));
    CHECK(parse(*conn.read_frame()).at("status").as_int64() == WEFT_E_INVALID_ARGUMENT);
    conn.write_frame(view(R"({"id":7,"op":"block_height"})")); // the same connection still works
    CHECK(parse(*conn.read_frame()).at("id").as_int64() == 7);
  }
  {
    RawConn conn(n.server.port());
    conn.write(Bytes{0x7f, 0xff, 0xff, 0xff, '{'}); // 2 GiB announced
    auto a = conn.read_frame();
    REQUIRE(a);
    CHECK(parse(*a).at("status").as_int64() == WEFT_E_INVALID_ARGUMENT);
    CHECK(conn.closed_by_peer());
  }
  {
    RawConn conn(n.server.port());
    conn.write(view("GET / HTTP/1.1\r\n\r\n")); // "GET " announces ~1.2 GB: refused and closed
    CHECK(conn.read_frame());
    CHECK(conn.closed_by_peer());
  }
  NodeClient c({.nodes = {n.address()}});
  CHECK(c.call("block_height", {}, kCall).at("height").as_int64() == 0);
}

TEST_CASE("node client: fails over from a dead node to a live one") {
  Node n;
  NodeClient c({.nodes = {loopback(free_port()), n.address()}});
  CHECK(c.call("chain_info", {}, kCall).at("chainId").as_int64() == int64_t(kChain));
  CHECK(c.current_node() == n.address());
  // No node at all: unavailable, not a hang.
  NodeClient none({.nodes = {loopback(free_port())}});
  CHECK(status_of([&] { none.call("health", {}, kCall); }) == WEFT_E_UNAVAILABLE);
}

TEST_CASE("node client: a node that never answers times out") {
  Node n;
  NodeClient c({.nodes = {n.address()}});
  Transaction tx = n.tx(TestAccount(1), {"k", "v"});
  CHECK(status_of([&] { c.call("submit", submit_fields(tx, 5000), std::chrono::milliseconds(100)); }) ==
        WEFT_E_TIMEOUT);
  CHECK(c.call("block_height", {}, kCall).at("height").as_int64() == 0); // the next call starts afresh
}

namespace {

using Clock = std::chrono::steady_clock;

// One request answered on a raw connection: the server is serving this connection.
bool answers(RawConn &conn, int id) {
  conn.write_frame(view(R"({"id":)" + std::to_string(id) + R"(,"op":"block_height"})"));
  auto a = conn.read_frame();
  if (!a) return false;
  auto o = parse(*a);
  return o.at("id").is_int64() && o.at("id").as_int64() == id && o.at("status").as_int64() == 0;
}

int64_t ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

} // namespace

TEST_CASE("client api: beyond max_connections a new client is refused and the others keep working") {
  Node n({.max_connections = 2});
  auto a = std::make_unique<RawConn>(n.server.port());
  RawConn b(n.server.port());
  REQUIRE(answers(*a, 1)); // both counted: each has been served
  REQUIRE(answers(b, 2));
  {
    RawConn over(n.server.port());
    auto refusal = over.read_frame();
    REQUIRE(refusal);
    auto o = parse(*refusal);
    CHECK(o.at("id").is_null());
    CHECK(o.at("status").as_int64() == WEFT_E_UNAVAILABLE);
    CHECK(o.at("message").as_string() == "too many client connections");
    CHECK(over.closed_by_peer());
  }
  CHECK(answers(*a, 3));
  CHECK(answers(b, 4));
  a.reset(); // a connection that goes frees its place
  CHECK(wait_until(
      [&] {
        RawConn again(n.server.port());
        return answers(again, 5);
      },
      1000));
}

TEST_CASE("client api: an idle client is closed after the idle timeout, a busy one is not") {
  const auto idle = scaled(300);
  Node n({.idle_timeout = idle});
  RawConn quiet(n.server.port()), busy(n.server.port());
  auto start = Clock::now();
  // Requests more often than the timeout keep a connection, however long it lives.
  for (int i = 0; ms_since(start) < 2 * idle.count(); ++i) {
    REQUIRE(answers(busy, i));
    std::this_thread::sleep_for(idle / 3);
  }
  CHECK(quiet.closed_by_peer()); // closed long before the read timeout of the raw connection
  CHECK(answers(busy, 100));
  auto quiet_since = Clock::now();
  CHECK(busy.closed_by_peer());
  CHECK(ms_since(quiet_since) >= idle.count() / 2);
  CHECK(ms_since(quiet_since) < idle.count() + scaled(1000).count());
}

TEST_CASE("client api: a connection waiting for a submit's answer is not idle") {
  const auto idle = scaled(300);
  Node n({.idle_timeout = idle});
  RawConn conn(n.server.port());
  Transaction tx = n.tx(TestAccount(1), {"k", "v"});
  auto wait_ms = static_cast<uint64_t>(3 * idle.count());
  conn.write_frame(view(
      json::serialize(json::object{{"id", 1}, {"op", "submit"}, {"tx", to_hex(tx.encode())}, {"wait_ms", wait_ms}})));
  auto answer = conn.read_frame(); // three idle timeouts later: the wait ran out, the connection did not
  REQUIRE(answer);
  CHECK(parse(*answer).at("status").as_int64() == WEFT_E_TIMEOUT);
  CHECK(answers(conn, 2)); // and the idle clock restarted from the answer
  CHECK(conn.closed_by_peer());
}

TEST_CASE("client api: a request that starts and stalls is closed within the frame timeout") {
  const auto frame = scaled(300);
  Node n({.frame_timeout = frame, .idle_timeout = scaled(60000)});
  SUBCASE("half a length prefix") {
    RawConn conn(n.server.port());
    auto start = Clock::now();
    conn.write(Bytes{0, 0});
    CHECK(conn.closed_by_peer());
    CHECK(ms_since(start) < frame.count() + scaled(1000).count());
  }
  SUBCASE("a body dripping in a byte at a time") {
    RawConn conn(n.server.port());
    auto start = Clock::now();
    std::string body = R"({"id":1,"op":"block_height"})";
    Writer w;
    w.u32(static_cast<uint32_t>(body.size()));
    conn.write(w.bytes());
    // Steady progress does not extend the bound: the whole request has frame_timeout.
    bool closed = false;
    for (size_t i = 0; i + 1 < body.size() && !(closed = conn.closed_now()); ++i) {
      conn.write(Bytes{uint8_t(body[i])});
      std::this_thread::sleep_for(frame / 10);
    }
    CHECK(closed);
    CHECK(ms_since(start) >= frame.count() * 9 / 10);
    CHECK(ms_since(start) < frame.count() + scaled(1000).count());
  }
  // The server is still serving.
  RawConn fresh(n.server.port());
  CHECK(answers(fresh, 7));
}

TEST_CASE("node client: a connection the node closed while idle is reopened, even for a submit") {
  const auto idle = scaled(200);
  Node n({.idle_timeout = idle});
  NodeClient c({.nodes = {n.address()}});
  CHECK(c.call("block_height", {}, kCall).at("height").as_int64() == 0);
  std::this_thread::sleep_for(idle * 3); // the node closes the connection meanwhile
  Transaction tx = n.tx(TestAccount(1), {"k", "v"});
  CHECK(c.call("submit", submit_fields(tx, 0), kCall).at("hash").as_string() == to_hex(tx.hash()));
}

TEST_CASE("client api: a request over the in-flight limit is refused at once, under its own id") {
  Node n({.max_in_flight = 1});
  RawConn conn(n.server.port());
  Transaction tx = n.tx(TestAccount(1), {"k", "v"});
  // The first request waits for a commit that never comes within its wait; the second finds the limit reached.
  conn.write_frame(view(json::serialize(
      json::object{{"id", 1}, {"op", "submit"}, {"tx", to_hex(tx.encode())}, {"wait_ms", 2000}})));
  conn.write_frame(view(json::serialize(json::object{{"id", "second"}, {"op", "block_height"}})));
  auto refused = conn.read_frame();
  REQUIRE(refused);
  json::object o = parse(*refused);
  CHECK(o.at("id") == "second");
  CHECK(o.at("status").as_int64() == WEFT_E_UNAVAILABLE);
  CHECK(std::string(o.at("message").as_string()).find("in flight") != std::string::npos);
}
