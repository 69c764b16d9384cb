// HostRpc, the EVM adapter's JSON-RPC client on the router's lent loop, against a small HTTP server in this test:
// answers completed once each on a loop thread, keep-alive connections reused and capped with calls waiting in order,
// a keep-alive the node closed sent again on a fresh connection, the node's garbage turned into clear answers,
// deadlines enforced by sweep, an unreachable node, and shutdown with calls running and waiting.
#include "host_rpc.h"

#include "lent_loop_fixture.h"

#include <doctest/doctest.h>

#include <weft/adapter.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace json = boost::json;
using weft::evm::HostRpc;
using weft::evm::RpcAnswer;
using weft::evm::RpcOptions;
using Clock = std::chrono::steady_clock;

namespace {

std::chrono::milliseconds scaled(int ms) {
  const char *s = std::getenv("WEFT_TEST_TIME_SCALE");
  const double f = s != nullptr && std::atof(s) > 0 ? std::atof(s) : 1.0;
  return std::chrono::milliseconds(static_cast<int64_t>(ms * f));
}

// One request the server read: its JSON body, and which connection (counting from 0) and request on it it was.
struct Seen {
  json::object body;
  int conn = 0;
  int nth = 0;
};

// A JSON-RPC node over HTTP/1.1 on 127.0.0.1. `reply` turns each request into the raw bytes to write back; "" closes
// the connection without answering, and `close_after` closes it after the answer.
class FakeNode {
 public:
  struct Reply {
    std::string bytes;
    bool close_after = false;
    std::chrono::milliseconds delay{0};
  };
  std::function<Reply(const Seen &)> reply = [](const Seen &s) { return Reply{ok(s.body, s.body.at("params"))}; };

  FakeNode() {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listener_, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0);
    REQUIRE(::listen(listener_, 64) == 0);
    socklen_t len = sizeof a;
    ::getsockname(listener_, reinterpret_cast<sockaddr *>(&a), &len);
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~FakeNode() {
    stopping_ = true;
    ::shutdown(listener_, SHUT_RDWR);
    ::close(listener_);
    acceptor_.join();
    {
      std::lock_guard l(mu_);
      for (int fd : open_)
        ::shutdown(fd, SHUT_RDWR);
    }
    for (auto &t : conns_)
      t.join();
  }

  RpcOptions options(unsigned max_connections = 8) const {
    RpcOptions o;
    std::string err;
    o.endpoint = *weft::evm::parse_url("http://127.0.0.1:" + std::to_string(port_) + "/", err);
    o.max_connections = max_connections;
    return o;
  }
  int connections() {
    std::lock_guard l(mu_);
    return accepted_;
  }
  int max_open() {
    std::lock_guard l(mu_);
    return max_open_;
  }

  static std::string http(const std::string &body, int status = 200, const std::string &extra = "") {
    return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n" + extra + "\r\n" + body;
  }
  // The result echoes the request's params.
  static std::string ok(const json::object &req, const json::value &result) {
    return http(json::serialize(json::object{{"jsonrpc", "2.0"}, {"id", req.at("id")}, {"result", result}}));
  }

 private:
  void accept_loop() {
    for (;;) {
      const int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0) return;
      if (stopping_) {
        ::close(fd);
        return;
      }
      std::lock_guard l(mu_);
      const int n = accepted_++;
      open_.insert(fd);
      max_open_ = std::max<int>(max_open_, static_cast<int>(open_.size()));
      conns_.emplace_back([this, fd, n] { serve(fd, n); });
    }
  }

  void serve(int fd, int conn) {
    std::string in;
    char buf[4096];
    for (int nth = 0;; ++nth) {
      size_t end;
      while ((end = in.find("\r\n\r\n")) == std::string::npos) {
        const ssize_t r = ::recv(fd, buf, sizeof buf, 0);
        if (r <= 0) return finish(fd);
        in.append(buf, static_cast<size_t>(r));
      }
      const auto cl = in.find("Content-Length: ");
      const size_t length = cl < end ? std::stoul(in.substr(cl + 16)) : 0;
      while (in.size() < end + 4 + length) {
        const ssize_t r = ::recv(fd, buf, sizeof buf, 0);
        if (r <= 0) return finish(fd);
        in.append(buf, static_cast<size_t>(r));
      }
      Seen seen{json::parse(in.substr(end + 4, length)).as_object(), conn, nth};
      in.erase(0, end + 4 + length);
      const Reply r = reply(seen);
      if (r.delay.count() > 0) std::this_thread::sleep_for(r.delay);
      if (r.bytes.empty()) return finish(fd);
      ::send(fd, r.bytes.data(), r.bytes.size(), MSG_NOSIGNAL);
      if (r.close_after) return finish(fd);
    }
  }
  void finish(int fd) {
    std::lock_guard l(mu_);
    open_.erase(fd);
    ::close(fd);
  }

  int listener_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::thread> conns_;
  std::set<int> open_;
  int accepted_ = 0, max_open_ = 0;
};

// Every callback's answer, by key, with a count of runs (exactly one each) and whether it ran on a loop thread.
struct Answers {
  std::mutex mu;
  std::condition_variable cv;
  std::map<int, RpcAnswer> got;
  int runs = 0;
  int off_loop = 0;
  weft::test::LentLoop *loop = nullptr;

  HostRpc::Callback slot(int key) {
    return [this, key](RpcAnswer a) {
      std::lock_guard l(mu);
      ++runs;
      if (loop != nullptr && !loop->is_loop_thread()) ++off_loop;
      got.emplace(key, std::move(a));
      cv.notify_all();
    };
  }
  bool wait_for(size_t n, int ms = 5000) {
    std::unique_lock l(mu);
    return cv.wait_for(l, scaled(ms), [&] { return got.size() >= n; });
  }
};

Clock::time_point in(int ms) { return Clock::now() + scaled(ms); }

// Calls sweep every 10 ms, as the chain's loop does, while it lives.
struct Sweeper {
  HostRpc &rpc;
  std::atomic<bool> stop{false};
  std::thread t{[this] {
    while (!stop) {
      rpc.sweep();
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }};
  ~Sweeper() {
    stop = true;
    t.join();
  }
};

} // namespace

TEST_CASE("host rpc: serves plain http to an address or localhost only") {
  std::string err, why;
  RpcOptions o;
  o.endpoint = *weft::evm::parse_url("http://127.0.0.1:8545/", err);
  CHECK(HostRpc::servable(o, why));
  o.endpoint = *weft::evm::parse_url("http://[::1]:8545/", err);
  CHECK(HostRpc::servable(o, why));
  o.endpoint = *weft::evm::parse_url("http://localhost:8545/", err);
  CHECK(HostRpc::servable(o, why));
  o.endpoint = *weft::evm::parse_url("https://127.0.0.1:8545/", err);
  CHECK_FALSE(HostRpc::servable(o, why));
  CHECK(why.find("TLS") != std::string::npos);
  o.endpoint = *weft::evm::parse_url("http://node.example:8545/", err);
  CHECK_FALSE(HostRpc::servable(o, why));
  CHECK(why.find("node.example") != std::string::npos);
  weft::test::LentLoop loop;
  CHECK_THROWS_AS(HostRpc(loop, o), std::runtime_error);
}

TEST_CASE("host rpc: answers complete once each on a loop thread, one keep-alive connection for calls in turn") {
  FakeNode node;
  weft::test::LentLoop loop;
  HostRpc rpc(loop, node.options());
  Answers answers;
  answers.loop = &loop;
  for (int i = 0; i < 20; ++i) {
    rpc.call("echo", json::array{i, "x"}, in(5000), answers.slot(i));
    REQUIRE(answers.wait_for(i + 1));
  }
  for (auto &[i, a] : answers.got) {
    REQUIRE(a.ok());
    CHECK(a.result == json::array{i, "x"});
  }
  CHECK(answers.runs == 20);
  CHECK(answers.off_loop == 0);
  CHECK(node.connections() == 1);
  CHECK(rpc.requests_sent() == 20);
}

TEST_CASE("host rpc: calls beyond max_connections wait in order and all complete once") {
  FakeNode node;
  node.reply = [](const Seen &s) { return FakeNode::Reply{FakeNode::ok(s.body, s.body.at("params")), false,
                                                          std::chrono::milliseconds(2)}; };
  weft::test::LentLoop loop;
  HostRpc rpc(loop, node.options(3));
  Answers answers;
  answers.loop = &loop;
  constexpr int kCalls = 60;
  std::vector<std::thread> callers;
  for (int t = 0; t < 3; ++t)
    callers.emplace_back([&, t] {
      for (int i = t; i < kCalls; i += 3)
        rpc.call("echo", json::array{i}, in(10000), answers.slot(i));
    });
  for (auto &c : callers)
    c.join();
  REQUIRE(answers.wait_for(kCalls, 10000));
  for (auto &[i, a] : answers.got) {
    REQUIRE(a.ok());
    CHECK(a.result == json::array{i});
  }
  CHECK(answers.runs == kCalls);
  CHECK(node.max_open() <= 3);
  CHECK(rpc.connections() <= 3);
  CHECK(rpc.waiting() == 0);
}

TEST_CASE("host rpc: a keep-alive the node closed is sent again on a fresh connection") {
  FakeNode node;
  // Every answer says keep-alive (HTTP/1.1, no Connection: close), and then the node closes the connection.
  node.reply = [](const Seen &s) { return FakeNode::Reply{FakeNode::ok(s.body, s.body.at("params")), true}; };
  weft::test::LentLoop loop;
  HostRpc rpc(loop, node.options(1));
  Answers answers;
  for (int i = 0; i < 5; ++i) {
    rpc.call("echo", json::array{i}, in(5000), answers.slot(i));
    REQUIRE(answers.wait_for(i + 1));
    REQUIRE(answers.got.at(i).ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(20)); // the close reaches the idle connection
  }
  CHECK(answers.runs == 5);
  CHECK(node.connections() == 5);
}

TEST_CASE("host rpc: the node's garbage becomes a clear answer, and the client goes on") {
  FakeNode node;
  std::string mode;
  std::mutex mode_mu;
  node.reply = [&](const Seen &s) {
    std::lock_guard l(mode_mu);
    const auto id = json::serialize(s.body.at("id"));
    if (mode == "malformed") return FakeNode::Reply{FakeNode::http("{\"jsonrpc\":\"2.0\",\"id\":")};
    if (mode == "http500") return FakeNode::Reply{FakeNode::http("internal trouble", 500)};
    if (mode == "wrong_id")
      return FakeNode::Reply{FakeNode::http("{\"jsonrpc\":\"2.0\",\"id\":" + id + "0,\"result\":\"0x\"}")};
    if (mode == "error")
      return FakeNode::Reply{
          FakeNode::http("{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"error\":{\"code\":3,\"message\":\"reverted\"}}")};
    if (mode == "bad_http") return FakeNode::Reply{"HTTP/1.1 2x0 what\r\n\r\n"};
    if (mode == "close") return FakeNode::Reply{};
    if (mode == "chunked") {
      const std::string b = "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"result\":\"chunks\"}";
      char size[16];
      std::snprintf(size, sizeof size, "%zx", b.size() - 10);
      return FakeNode::Reply{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + std::string(size) + "\r\n" +
                             b.substr(0, b.size() - 10) + "\r\na\r\n" + b.substr(b.size() - 10) + "\r\n0\r\n\r\n"};
    }
    if (mode == "until_close") // HTTP/1.0 style: no length, the body ends with the connection
      return FakeNode::Reply{
          "HTTP/1.0 200 OK\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"result\":\"to the end\"}", true};
    return FakeNode::Reply{FakeNode::ok(s.body, "fine")};
  };
  weft::test::LentLoop loop;
  HostRpc rpc(loop, node.options(2));
  auto ask = [&](const std::string &m) {
    {
      std::lock_guard l(mode_mu);
      mode = m;
    }
    Answers answers;
    rpc.call("m", json::array{}, in(5000), answers.slot(0));
    REQUIRE(answers.wait_for(1));
    return answers.got.at(0);
  };
  struct Expect {
    const char *mode;
    int32_t status;
    const char *text;
  };
  for (const auto &e : {Expect{"malformed", WEFT_E_UNAVAILABLE, "malformed JSON"},
                        Expect{"http500", WEFT_E_UNAVAILABLE, "HTTP 500"},
                        Expect{"wrong_id", WEFT_E_UNAVAILABLE, "wrong id"},
                        Expect{"error", WEFT_E_INTERNAL, "reverted"},
                        Expect{"bad_http", WEFT_E_UNAVAILABLE, "malformed HTTP"},
                        Expect{"close", WEFT_E_UNAVAILABLE, "closed the connection"}}) {
    const std::string m = e.mode;
    CAPTURE(m);
    auto a = ask(m);
    CHECK(a.status == e.status);
    CHECK(a.message.find(e.text) != std::string::npos);
    if (m != "error") // the node's own error object is passed on as it came
      CHECK(a.message.find(":" + node.options().endpoint.port + "/") != std::string::npos);
    auto good = ask("good");
    REQUIRE(good.ok());
    CHECK(good.result == "fine");
  }
  auto error = ask("error");
  REQUIRE(error.rpc_code.has_value());
  CHECK(*error.rpc_code == 3);
  auto chunked = ask("chunked");
  REQUIRE(chunked.ok());
  CHECK(chunked.result == "chunks");
  auto until_close = ask("until_close");
  REQUIRE(until_close.ok());
  CHECK(until_close.result == "to the end");
}

TEST_CASE("host rpc: sweep fails a call past its deadline, and the next call is answered") {
  FakeNode node;
  std::atomic<bool> hang{true};
  node.reply = [&](const Seen &s) {
    return FakeNode::Reply{FakeNode::ok(s.body, "late or not"), false,
                           hang ? std::chrono::milliseconds(1500) : std::chrono::milliseconds(0)};
  };
  weft::test::LentLoop loop;
  HostRpc rpc(loop, node.options(1));
  Sweeper sweeper{rpc};
  Answers answers;
  const auto t0 = Clock::now();
  rpc.call("slow", json::array{}, Clock::now() + std::chrono::milliseconds(150), answers.slot(0));
  // A call waiting behind it for the one connection has its own deadline.
  rpc.call("queued", json::array{}, Clock::now() + std::chrono::milliseconds(100), answers.slot(1));
  REQUIRE(answers.wait_for(2));
  CHECK(Clock::now() - t0 < scaled(1200));
  for (int i : {0, 1}) {
    CHECK(answers.got.at(i).status == WEFT_E_TIMEOUT);
    CHECK(answers.got.at(i).message.find("did not answer in time") != std::string::npos);
  }
  CHECK(rpc.connections() == 0); // the connection that carried the late call is gone
  hang = false;
  rpc.call("next", json::array{}, in(5000), answers.slot(2));
  REQUIRE(answers.wait_for(3));
  CHECK(answers.got.at(2).ok());
  CHECK(answers.runs == 3);
}

TEST_CASE("host rpc: a node nobody listens for is unreachable, at once") {
  int port;
  {
    FakeNode gone; // a port that was just free, and is closed again
    port = std::stoi(gone.options().endpoint.port);
  }
  RpcOptions o;
  std::string err;
  o.endpoint = *weft::evm::parse_url("http://127.0.0.1:" + std::to_string(port) + "/", err);
  weft::test::LentLoop loop;
  HostRpc rpc(loop, o);
  Answers answers;
  for (int i = 0; i < 5; ++i)
    rpc.call("m", json::array{}, in(5000), answers.slot(i));
  REQUIRE(answers.wait_for(5));
  for (auto &[i, a] : answers.got) {
    CHECK(a.status == WEFT_E_UNAVAILABLE);
    CHECK(a.message.find("cannot reach") != std::string::npos);
  }
  CHECK(answers.runs == 5);
  CHECK(rpc.connections() == 0);
}

TEST_CASE("host rpc: shutdown cancels running and waiting calls once each; later calls fail at once") {
  FakeNode node;
  node.reply = [](const Seen &s) {
    return FakeNode::Reply{FakeNode::ok(s.body, "late"), false, std::chrono::milliseconds(1000)};
  };
  weft::test::LentLoop loop;
  auto rpc = std::make_unique<HostRpc>(loop, node.options(2));
  Answers answers;
  for (int i = 0; i < 6; ++i)
    rpc->call("m", json::array{}, in(10000), answers.slot(i));
  REQUIRE(answers.got.empty());
  CHECK(rpc->waiting() == 4);
  rpc->shutdown();
  REQUIRE(answers.wait_for(6, 1000));
  for (auto &[i, a] : answers.got) {
    CHECK(a.status == WEFT_E_CANCELLED);
  }
  const auto caller = std::this_thread::get_id();
  std::thread::id ran_on;
  rpc->call("after", json::array{}, in(1000), [&](RpcAnswer a) {
    ran_on = std::this_thread::get_id();
    CHECK(a.status == WEFT_E_CANCELLED);
  });
  CHECK(ran_on == caller);
  rpc.reset(); // shut down already: nothing left to wait for
  CHECK(answers.runs == 6);
}
