// A node's client API on real sockets, served from a bare ledger that the test seals by hand, and a node that never
// answers: the fixture of the client API's tests, of NodeClient's and of the plugin's remote mode.
#pragma once

#include "chain_json.h"
#include "client_server.h"
#include "error.h"
#include "node_client.h"
#include "refchain_net_test_support.h"

#include <boost/json.hpp>

#include <mutex>
#include <thread>
#include <vector>

namespace weft::refchain::test {

namespace json = boost::json;

inline constexpr uint64_t kChain = 11;
inline constexpr auto kCall = std::chrono::milliseconds(5000);

// One node's client API on a free loopback port, over a bare ledger.
struct Node {
  TempDir dir;
  Ledger ledger;
  TestAccount validator{3};
  net::ClientServer server;

  explicit Node(net::ClientServerOptions options = {}) : Node(test_ledger_config(kChain), std::move(options)) {}
  explicit Node(LedgerConfig config, net::ClientServerOptions options = {})
      : ledger(config, dir.file("node.sqlite")),
        server(with_loopback(std::move(options)),
               {.ledger = &ledger,
                .validators = {validator.address},
                .self = 0,
                .submit = [this](const Transaction &tx) { return ledger.submit(tx); },
                .health = [](json::object &o) { o["round"] = 0; }},
               {}) {
    server.start();
  }
  ~Node() { server.stop(); }
  static net::ClientServerOptions with_loopback(net::ClientServerOptions o) {
    o.listen = "127.0.0.1:0";
    return o;
  }
  std::string address() const { return loopback(server.port()); }
  // Seals the pool into a block and tells the server, as the validator's commit listener would.
  ExecutedBlock commit() {
    auto b = seal(ledger);
    server.on_committed(b);
    return b;
  }
  Transaction tx(const TestAccount &who, std::vector<std::string> args) {
    return make_tx(who, kChain, ledger.height() + 10, "store", "set", std::move(args));
  }
};

inline json::object submit_fields(const Transaction &tx, uint64_t wait_ms) {
  return {{"tx", to_hex(tx.encode())}, {"wait_ms", wait_ms}};
}

inline int32_t status_of(const std::function<void()> &f) {
  try {
    f();
  } catch (const Error &e) {
    return e.status;
  }
  return WEFT_OK;
}

inline json::object parse(const Bytes &frame) {
  return json::parse(std::string(frame.begin(), frame.end())).as_object();
}

// A node that accepts connections, reads requests and never answers, until drop() closes them: calls in flight on a
// connection that then breaks.
class SilentNode {
public:
  SilentNode() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr *>(&a), sizeof a);
    ::listen(fd_, 16);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr *>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      for (;;) {
        int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        std::lock_guard lock(mu_);
        conns_.push_back(c);
      }
    });
  }
  ~SilentNode() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
    drop();
  }
  std::string address() const { return loopback(port_); }
  size_t accepted() {
    std::lock_guard lock(mu_);
    return conns_.size();
  }
  void drop() {
    std::lock_guard lock(mu_);
    for (int c : conns_)
      ::close(c);
    conns_.clear();
  }

private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::mutex mu_;
  std::vector<int> conns_;
  std::thread thread_;
};

} // namespace weft::refchain::test
