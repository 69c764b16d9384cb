// The weft console's HTTP client against a one-connection loopback server: what goes on the wire, what comes back,
// and that a refused connection or a silent server ends in an error instead of a hang.
#include "commands.h"
#include "http_client.h"

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

using namespace weft::console;
using namespace std::chrono_literals;

namespace {

// Slow (sanitizer) builds stretch every wait by WEFT_TEST_TIME_SCALE.
int time_scale() {
  const char *text = std::getenv("WEFT_TEST_TIME_SCALE");
  const int scale = text ? std::atoi(text) : 1;
  return scale > 0 ? scale : 1;
}

// Accepts one connection on 127.0.0.1:<ephemeral>, reads one request, then answers with `response` verbatim,
// closes without answering, or stays silent until the client hangs up.
class OneShotServer {
public:
  enum class Mode { kAnswer, kHangUp, kSilent };

  explicit OneShotServer(std::string response, Mode mode = Mode::kAnswer)
      : response_(std::move(response)), mode_(mode) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(listener_ >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    REQUIRE(::bind(listener_, reinterpret_cast<sockaddr *>(&address), sizeof address) == 0);
    REQUIRE(::listen(listener_, 1) == 0);
    socklen_t length = sizeof address;
    REQUIRE(::getsockname(listener_, reinterpret_cast<sockaddr *>(&address), &length) == 0);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { serve(); });
  }

  ~OneShotServer() {
    if (thread_.joinable()) thread_.join();
    ::close(listener_);
  }

  std::uint16_t port() const { return port_; }

  // What the client sent; complete once the client has its answer.
  std::string request() {
    if (thread_.joinable()) thread_.join();
    return received_;
  }

private:
  // Waits for fd to be readable, at most the scaled limit, so a broken test fails instead of hanging forever.
  static bool wait_readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 10000 * time_scale()) > 0;
  }

  bool read_request(int fd) {
    char buffer[4096];
    while (true) {
      const auto header_end = received_.find("\r\n\r\n");
      if (header_end != std::string::npos) {
        std::size_t length = 0;
        const auto at = received_.find("Content-Length: ");
        if (at != std::string::npos) length = std::stoul(received_.substr(at + 16));
        if (received_.size() >= header_end + 4 + length) return true;
      }
      if (!wait_readable(fd)) return false;
      const auto n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) return false;
      received_.append(buffer, static_cast<std::size_t>(n));
    }
  }

  void serve() {
    if (!wait_readable(listener_)) return;
    const int fd = ::accept(listener_, nullptr, nullptr);
    if (fd < 0) return;
    if (read_request(fd)) {
      if (mode_ == Mode::kAnswer) {
        ::send(fd, response_.data(), response_.size(), MSG_NOSIGNAL);
      } else if (mode_ == Mode::kSilent) {
        char byte;
        while (wait_readable(fd) && ::recv(fd, &byte, 1, 0) > 0) {
        } // until the client gives up and closes
      }
    }
    ::close(fd);
  }

  std::string response_;
  Mode mode_;
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::string received_;
  std::thread thread_;
};

std::string http_ok(const std::string &body) {
  return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n\r\n" + body;
}

Endpoint loopback(std::uint16_t port) {
  return Endpoint{"127.0.0.1", port};
}

// A port nothing listens on: bound once to learn a free number, then released.
std::uint16_t closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr *>(&address), sizeof address) == 0);
  socklen_t length = sizeof address;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr *>(&address), &length) == 0);
  ::close(fd);
  return ntohs(address.sin_port);
}

} // namespace

TEST_CASE("console parses host:port") {
  const auto plain = parse_endpoint("127.0.0.1:8250");
  REQUIRE(plain);
  CHECK(plain->host == "127.0.0.1");
  CHECK(plain->port == 8250);
  const auto named = parse_endpoint("router-1.example:443");
  REQUIRE(named);
  CHECK(named->host == "router-1.example");
  const auto v6 = parse_endpoint("[::1]:8250");
  REQUIRE(v6);
  CHECK(v6->host == "::1");
  for (const char *bad :
       {"", "8250", "host", "host:", ":8250", "host:0", "host:65536", "host:80x", "::1:8250", "[::1]"})
    CHECK_FALSE(parse_endpoint(bad));
}

TEST_CASE("console client sends a JSON body, also on GET, and reads the answer") {
  OneShotServer server(http_ok(R"({"version":"1","errorCode":0,"message":"Success","data":"OK"})"));
  const HttpRequest request{"GET", "/sys/listResources", R"({"version":"1","data":{"ignoreRemote":false}})"};
  const HttpResult result = send_http(loopback(server.port()), request, HttpTimeouts{});
  const auto *response = std::get_if<HttpResponse>(&result);
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK(response->body == R"({"version":"1","errorCode":0,"message":"Success","data":"OK"})");

  const std::string sent = server.request();
  CHECK(sent.starts_with("GET /sys/listResources HTTP/1.1\r\n"));
  CHECK(sent.find("Content-Type: application/json\r\n") != std::string::npos);
  CHECK(sent.find("Content-Length: " + std::to_string(request.body.size()) + "\r\n") != std::string::npos);
  CHECK(sent.find("Host: 127.0.0.1:" + std::to_string(server.port()) + "\r\n") != std::string::npos);
  CHECK(sent.ends_with("\r\n\r\n" + request.body));
}

TEST_CASE("console client reports a non-200 status as it is") {
  OneShotServer server(
      "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  const HttpResult result = send_http(loopback(server.port()), HttpRequest{"POST", "/nope", "{}"}, HttpTimeouts{});
  const auto *response = std::get_if<HttpResponse>(&result);
  REQUIRE(response);
  CHECK(response->status == 404);
  CHECK(server.request().starts_with("POST /nope HTTP/1.1\r\n"));
}

TEST_CASE("console runs a command end to end over HTTP") {
  OneShotServer server(
      http_ok(R"({"version":"1","errorCode":0,"message":"Success",)"
              R"("data":{"errorCode":0,"message":"Success","hash":"0xfeed","blockNumber":7,"result":["ok"]}})"));
  const Endpoint endpoint = loopback(server.port());
  const Transport transport = [&](const HttpRequest &request) { return send_http(endpoint, request, HttpTimeouts{}); };
  const std::vector<std::string> words{"sendTransaction", "payment.ledger1.store", "set", "greeting", "hello weft"};
  const Outcome outcome = run_command(words, transport, Options{});
  CHECK(outcome.exit_code == kExitOk);
  CHECK(outcome.out == "txHash: 0xfeed\nblockNumber: 7\nresult: [\"ok\"]\n");
  const std::string sent = server.request();
  CHECK(sent.starts_with("POST /resource/payment/ledger1/store/sendTransaction HTTP/1.1\r\n"));
  CHECK(sent.find(R"("args":["greeting","hello weft"])") != std::string::npos);
}

TEST_CASE("console exits 3 when the connection is refused") {
  const Endpoint endpoint = loopback(closed_port());
  const HttpResult result = send_http(endpoint, HttpRequest{"GET", "/sys/status", "{}"}, HttpTimeouts{});
  const auto *failure = std::get_if<TransportFailure>(&result);
  REQUIRE(failure);
  CHECK(failure->kind == TransportFailure::Kind::kConnect);
  CHECK(failure->message.find("cannot reach the router at 127.0.0.1:") != std::string::npos);

  const Transport transport = [&](const HttpRequest &request) { return send_http(endpoint, request, HttpTimeouts{}); };
  const Outcome outcome = run_command(std::vector<std::string>{"status"}, transport, Options{});
  CHECK(outcome.exit_code == kExitUnreachable);
  CHECK(outcome.err.starts_with("error: cannot reach the router"));
}

TEST_CASE("console gives up on a router that never answers") {
  OneShotServer server("", OneShotServer::Mode::kSilent);
  HttpTimeouts timeouts;
  timeouts.total = std::chrono::milliseconds(200 * time_scale());
  const auto started = std::chrono::steady_clock::now();
  const HttpResult result = send_http(loopback(server.port()), HttpRequest{"GET", "/sys/status", "{}"}, timeouts);
  const auto elapsed = std::chrono::steady_clock::now() - started;
  const auto *failure = std::get_if<TransportFailure>(&result);
  REQUIRE(failure);
  CHECK(failure->kind == TransportFailure::Kind::kTimeout);
  CHECK(failure->message.starts_with("timed out waiting for the router at 127.0.0.1:"));
  CHECK(elapsed >= timeouts.total);
  CHECK(elapsed < timeouts.total + 5s * time_scale());
  CHECK(interpret_response(command_table()[0], result, Options{}).exit_code == kExitUnreachable);
}

TEST_CASE("console reports a connection closed without an answer") {
  OneShotServer server("", OneShotServer::Mode::kHangUp);
  const HttpResult result = send_http(loopback(server.port()), HttpRequest{"GET", "/sys/status", "{}"}, HttpTimeouts{});
  const auto *failure = std::get_if<TransportFailure>(&result);
  REQUIRE(failure);
  CHECK(failure->kind == TransportFailure::Kind::kIo);
  CHECK(failure->message.starts_with("no answer from the router at 127.0.0.1:"));
}
