// The validator mesh over real loopback sockets: the handshake accepts exactly the validator it names, frames flow
// both ways, garbage and oversized frames drop only their connection, silent links are dropped and redialled, and
// links come back after a restart.
#include "error.h"
#include "handshake.h"
#include "peer_mesh.h"
#include "refchain_net_test_support.h"

#include <doctest/doctest.h>

#include <map>

using namespace weft::refchain;
using namespace weft::refchain::test;
using net::PeerMesh;
using net::PeerMeshOptions;

namespace {

constexpr uint64_t kChain = 9;

// Validators keyed by seeds 1..n; each node collects what it receives.
struct Net {
  std::vector<TestAccount> keys;
  std::vector<Address> validators;
  std::vector<uint16_t> ports;

  explicit Net(size_t n) {
    for (size_t i = 0; i < n; ++i) {
      keys.emplace_back(static_cast<uint8_t>(i + 1));
      validators.push_back(keys.back().address);
      ports.push_back(free_port());
    }
  }
  PeerMeshOptions options(uint32_t self) const {
    PeerMeshOptions o;
    o.chain_id = kChain;
    o.self = self;
    o.validators = validators;
    for (auto p : ports)
      o.peers.push_back(loopback(p));
    o.listen = loopback(ports[self]);
    o.key = keys[self].secret;
    o.handshake_timeout = scaled(2000);
    o.max_frame_bytes = 1024;
    return o;
  }
};

struct Inbox {
  std::mutex mu;
  std::vector<std::pair<uint32_t, std::string>> got;
  PeerMesh::OnFrame handler() {
    return [this](uint32_t from, ByteView f) {
      std::lock_guard lock(mu);
      got.emplace_back(from, std::string(f.begin(), f.end()));
    };
  }
  bool has(uint32_t from, const std::string &what) {
    std::lock_guard lock(mu);
    for (auto &[f, s] : got)
      if (f == from && s == what) return true;
    return false;
  }
};

// Sends `what` until it arrives: links come up asynchronously and the mesh is best effort.
bool delivered(PeerMesh &from, uint32_t from_index, uint32_t to, Inbox &inbox, const std::string &what) {
  return wait_until(
      [&] {
        if (inbox.has(from_index, what)) return true;
        from.send(to, view(what));
        return false;
      },
      5000);
}

// A raw connection that passed the handshake as validator `as`: the test speaks for it, or keeps it silent.
std::unique_ptr<RawConn> linked_raw(const Net &n, uint16_t port, uint32_t as) {
  auto c = std::make_unique<RawConn>(port);
  auto ch = c->read_frame();
  REQUIRE(ch);
  c->write_frame(net::answer_challenge(kChain, *ch, n.validators[0], as, n.keys[as].secret));
  auto ack = c->read_frame();
  REQUIRE(ack);
  REQUIRE(*ack == Bytes{net::kAccepted});
  return c;
}

} // namespace

TEST_CASE("mesh: the handshake accepts the validator it names and nothing else") {
  auto a = TestAccount(1), b = TestAccount(2), c = TestAccount(3);
  std::vector<Address> set{a.address, b.address};
  auto ch = net::random_challenge();
  Bytes hello = net::answer_challenge(kChain, ch, a.address, 1, b.secret);
  std::string why;
  CHECK(net::check_hello(kChain, ch, 0, set, hello, &why) == std::optional<uint32_t>(1));
  // Signed by another key.
  CHECK_FALSE(net::check_hello(kChain, ch, 0, set, net::answer_challenge(kChain, ch, a.address, 1, c.secret), &why));
  CHECK(why.find("not by validator 1") != std::string::npos);
  // Unknown index, our own index.
  CHECK_FALSE(net::check_hello(kChain, ch, 0, set, net::answer_challenge(kChain, ch, a.address, 5, b.secret), &why));
  CHECK_FALSE(net::check_hello(kChain, ch, 0, set, net::answer_challenge(kChain, ch, a.address, 0, a.secret), &why));
  // Another chain, another challenge, another acceptor.
  CHECK_FALSE(net::check_hello(kChain + 1, ch, 0, set, hello, &why));
  CHECK_FALSE(net::check_hello(kChain, net::random_challenge(), 0, set, hello, &why));
  CHECK_FALSE(net::check_hello(kChain, ch, 0, set, net::answer_challenge(kChain, ch, c.address, 1, b.secret), &why));
  // Malformed.
  CHECK_FALSE(net::check_hello(kChain, ch, 0, set, Bytes(10, 0), &why));
  CHECK_FALSE(net::check_hello(kChain, ch, 0, set, Bytes(net::kHelloBytes, 0), &why));
  CHECK_THROWS_AS(net::answer_challenge(kChain, Bytes(5, 1), a.address, 1, b.secret), DecodeError);
}

TEST_CASE("mesh: frames flow both ways and broadcast reaches every peer") {
  Net n(3);
  Inbox in0, in1, in2;
  PeerMesh m0(n.options(0), in0.handler(), {}), m1(n.options(1), in1.handler(), {}),
      m2(n.options(2), in2.handler(), {});
  m0.start();
  m1.start();
  m2.start();
  CHECK(delivered(m0, 0, 1, in1, "zero to one"));
  CHECK(delivered(m1, 1, 0, in0, "one to zero"));
  CHECK(delivered(m2, 2, 0, in0, "two to zero"));
  REQUIRE(wait_until([&] { return m0.linked_to(1) && m0.linked_to(2); }, 5000));
  m0.broadcast(view("to all"));
  CHECK(wait_until([&] { return in1.has(0, "to all") && in2.has(0, "to all"); }, 5000));
  CHECK_FALSE(in0.has(0, "to all")); // never to ourselves
  CHECK(m0.stats().frames_sent >= 3);
  CHECK(m0.stats().connections_refused == 0);
}

TEST_CASE("mesh: a dialer with the wrong key is refused") {
  Net n(2);
  auto wrong = n.options(1);
  TestAccount impostor(7);
  wrong.validators[1] = impostor.address; // the impostor believes it is validator 1
  wrong.key = impostor.secret;
  Inbox in0, in1;
  PeerMesh m0(n.options(0), in0.handler(), {}), m1(wrong, in1.handler(), {});
  m0.start();
  m1.start();
  CHECK(wait_until([&] { return m0.stats().connections_refused >= 1; }, 5000));
  m1.send(0, view("let me in"));
  std::this_thread::sleep_for(scaled(200));
  CHECK_FALSE(m1.linked_to(0));
  CHECK_FALSE(in0.has(1, "let me in"));
}

TEST_CASE("mesh: a peer key that is not ours is refused at construction") {
  Net n(2);
  auto o = n.options(0);
  o.key = TestAccount(9).secret;
  CHECK_THROWS_AS(PeerMesh(o, {}, {}), Error);
}

TEST_CASE("mesh: garbage, unknown indexes, silence and oversized frames drop only their connection") {
  Net n(2);
  Inbox in0, in1;
  PeerMesh m0(n.options(0), in0.handler(), {});
  m0.start();
  uint16_t port = m0.listen_port();
  CHECK(port == n.ports[0]);

  SUBCASE("garbage instead of an answer") {
    RawConn c(port);
    REQUIRE(c.read_frame());
    c.write(view("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(c.closed_by_peer());
  }
  SUBCASE("an answer for an unknown index") {
    RawConn c(port);
    auto ch = c.read_frame();
    REQUIRE(ch);
    c.write_frame(net::answer_challenge(kChain, *ch, n.validators[0], 7, n.keys[1].secret));
    CHECK(c.closed_by_peer());
  }
  SUBCASE("an oversized length prefix after a good handshake") {
    RawConn c(port);
    auto ch = c.read_frame();
    REQUIRE(ch);
    c.write_frame(net::answer_challenge(kChain, *ch, n.validators[0], 1, n.keys[1].secret));
    auto ack = c.read_frame();
    REQUIRE(ack);
    CHECK(*ack == Bytes{net::kAccepted});
    c.write_frame(view("a fine frame"));
    CHECK(wait_until([&] { return in0.has(1, "a fine frame"); }, 3000));
    c.write(Bytes{0xff, 0xff, 0xff, 0xff, 1, 2, 3});
    CHECK(c.closed_by_peer());
  }
  SUBCASE("silence") {
    RawConn c(port, 5000);
    REQUIRE(c.read_frame());
    CHECK(c.closed_by_peer()); // the handshake timeout (2 s scaled) closes it
  }
  CHECK(wait_until([&] { return m0.stats().connections_refused >= 1; }, 3000));
  // Still serving: a real peer links and its frames arrive.
  PeerMesh m1(n.options(1), in1.handler(), {});
  m1.start();
  CHECK(delivered(m1, 1, 0, in0, "after the garbage"));
}

TEST_CASE("mesh: a restarted peer is redialled and frames flow again") {
  Net n(2);
  Inbox in0, in1a, in1b;
  PeerMesh m0(n.options(0), in0.handler(), {});
  m0.start();
  {
    PeerMesh m1(n.options(1), in1a.handler(), {});
    m1.start();
    CHECK(delivered(m0, 0, 1, in1a, "before"));
    CHECK(delivered(m1, 1, 0, in0, "before, back"));
  } // m1 stops: its links close
  CHECK(wait_until([&] { return !m0.linked_to(1); }, 3000));
  PeerMesh m1(n.options(1), in1b.handler(), {});
  m1.start();
  CHECK(delivered(m0, 0, 1, in1b, "after"));
  CHECK(delivered(m1, 1, 0, in0, "after, back"));
}

TEST_CASE("mesh: a full send queue drops its oldest frames and counts them") {
  Net n(2);
  auto o = n.options(0);
  o.send_queue_frames = 4;
  PeerMesh m0(o, {}, {}); // validator 1 never comes up, so nothing drains
  m0.start();
  for (int i = 0; i < 10; ++i)
    m0.send(1, view("x"));
  CHECK(m0.stats().frames_dropped == 6);
}

TEST_CASE("mesh: an accepted link silent for the idle timeout is dropped, a live one is not") {
  Net n(3);
  auto o = n.options(0);
  o.idle_timeout = scaled(300);
  Inbox in0;
  PeerMesh m0(o, in0.handler(), {});
  m0.start();
  auto silent = linked_raw(n, m0.listen_port(), 1);
  auto live = linked_raw(n, m0.listen_port(), 2);
  auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::steady_clock::now() - start; };
  // Frames more often than the timeout keep a link, however long it lives; the silent one goes meanwhile.
  bool dropped = false;
  for (int i = 0; elapsed() < 2 * o.idle_timeout || (!dropped && elapsed() < o.idle_timeout + scaled(1000)); ++i) {
    live->write_frame(view("status " + std::to_string(i)));
    std::this_thread::sleep_for(o.idle_timeout / 6);
    if (!dropped && silent->closed_now()) {
      dropped = true;
      CHECK(elapsed() >= o.idle_timeout * 9 / 10);
    }
  }
  CHECK(dropped);
  CHECK_FALSE(live->closed_now());
  CHECK(m0.stats().idle_links_dropped == 1);
  live->write_frame(view("still here"));
  CHECK(wait_until([&] { return in0.has(2, "still here"); }, 1000));
}

TEST_CASE("mesh: a dialler whose link was dropped as silent redials, and frames flow again") {
  Net n(2);
  auto o0 = n.options(0), o1 = n.options(1);
  o0.idle_timeout = scaled(200);
  Inbox in0, in1;
  PeerMesh m0(o0, in0.handler(), {}), m1(o1, in1.handler(), {});
  m0.start();
  m1.start();
  CHECK(delivered(m1, 1, 0, in0, "before"));
  // Nothing to send: m1's link in to m0 goes silent and is dropped; m1 notices and redials.
  CHECK(wait_until([&] { return m0.stats().idle_links_dropped >= 1; }, 1000));
  CHECK(delivered(m1, 1, 0, in0, "after"));
}

TEST_CASE("mesh: a peer that links in is redialled at once, not after the rest of the backoff") {
  Net n(2);
  auto o0 = n.options(0), o1 = n.options(1);
  o0.max_backoff = std::chrono::minutes(10); // m0's redial of an absent m1 backs off far beyond the wait below
  Inbox in0, in1;
  PeerMesh m0(o0, in0.handler(), {});
  m0.start();
  // m1 is absent long enough for m0's backoff to pass a second (50, 100, 200, 400, 800 ms, then 1.6 s, ...).
  std::this_thread::sleep_for(scaled(1600));
  CHECK_FALSE(m0.linked_to(1));
  PeerMesh m1(o1, in1.handler(), {});
  m1.start();
  // m1 dials m0; its handshake makes m0 redial m1 now. Without that, m0 would wait out a backoff of seconds.
  CHECK(wait_until([&] { return m1.linked_to(0) && m0.linked_to(1); }, 1000));
  CHECK(delivered(m0, 0, 1, in1, "to the newcomer"));
}
