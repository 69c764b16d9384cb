#include "json_rpc.h"

#include <weft/adapter.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <openssl/ssl.h>

#include <atomic>
#include <deque>
#include <map>
#include <stdexcept>
#include <thread>

namespace weft::evm {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// ---- Loop ----

struct Loop::Impl {
  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> guard{io.get_executor()};
  std::map<uint64_t, std::unique_ptr<asio::steady_timer>> timers;
  std::atomic<uint64_t> next_timer{1}; // ids are taken on any thread; timers live on the loop
  std::thread thread;
  std::atomic<bool> stopped{false};
  std::thread::id thread_id;
};

Loop::Loop() : impl_(std::make_unique<Impl>()) {
  impl_->thread = std::thread([impl = impl_.get()] {
    impl->thread_id = std::this_thread::get_id();
    for (;;) {
      try {
        impl->io.run();
        return;
      } catch (...) {
        // A callback threw: the code above catches its own errors, so this is a bug; keep the loop alive.
      }
    }
  });
}

Loop::~Loop() { stop(); }

void Loop::post(std::function<void()> fn) {
  if (impl_->stopped) return;
  asio::post(impl_->io, std::move(fn));
}

uint64_t Loop::after(std::chrono::milliseconds d, std::function<void()> fn) {
  // Timers are created on the loop, so the map needs no lock; the id is reserved here atomically.
  const uint64_t id = impl_->next_timer.fetch_add(1);
  auto start = [this, id, d, fn = std::move(fn)]() mutable {
    auto timer = std::make_unique<asio::steady_timer>(impl_->io, d);
    timer->async_wait([this, id, fn = std::move(fn)](const boost::system::error_code &ec) {
      if (ec) return;
      auto it = impl_->timers.find(id);
      if (it == impl_->timers.end()) return;
      auto keep = std::move(it->second); // the timer must outlive its own handler
      impl_->timers.erase(it);
      fn();
    });
    impl_->timers.emplace(id, std::move(timer));
  };
  if (in_loop())
    start();
  else
    post(std::move(start));
  return id;
}

void Loop::cancel_timer(uint64_t id) {
  auto cancel = [this, id] {
    auto it = impl_->timers.find(id);
    if (it == impl_->timers.end()) return;
    it->second->cancel();
    impl_->timers.erase(it);
  };
  if (in_loop())
    cancel();
  else
    post(cancel);
}

bool Loop::in_loop() const { return std::this_thread::get_id() == impl_->thread_id; }

void Loop::stop() {
  if (impl_->stopped.exchange(true)) return;
  // Whatever is queued runs first; then the loop ends even if sockets still have operations outstanding (their
  // owners complete their own work at close, so nothing waits for those handlers).
  asio::post(impl_->io, [impl = impl_.get()] {
    for (auto &[id, t] : impl->timers) t->cancel();
    impl->timers.clear();
    impl->guard.reset();
    impl->io.stop();
  });
  if (impl_->thread.joinable()) {
    if (in_loop())
      impl_->thread.detach();
    else
      impl_->thread.join();
  }
}

void *Loop::io_context() { return &impl_->io; }

// ---- URLs ----

std::string Endpoint::text() const {
  const bool v6 = host.find(':') != std::string::npos;
  return std::string(tls ? "https://" : "http://") + (v6 ? "[" + host + "]" : host) + ":" + port + target;
}

std::optional<Endpoint> parse_url(const std::string &url, std::string &error) {
  Endpoint e;
  std::string rest;
  if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else if (url.rfind("https://", 0) == 0) {
    e.tls = true;
    rest = url.substr(8);
  } else {
    error = "url '" + url + "' must start with http:// or https://";
    return std::nullopt;
  }
  const auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  if (slash != std::string::npos) e.target = rest.substr(slash);
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string::npos) {
      error = "url '" + url + "': unterminated [ in the host";
      return std::nullopt;
    }
    e.host = authority.substr(1, close - 1);
    authority = authority.substr(close + 1);
    if (!authority.empty() && authority.front() == ':') e.port = authority.substr(1);
  } else {
    const auto colon = authority.rfind(':');
    e.host = authority.substr(0, colon);
    if (colon != std::string::npos) e.port = authority.substr(colon + 1);
  }
  if (e.host.empty()) {
    error = "url '" + url + "' has no host";
    return std::nullopt;
  }
  if (e.port.empty()) e.port = e.tls ? "443" : "80";
  for (char c : e.port)
    if (c < '0' || c > '9' || e.port.size() > 5) {
      error = "url '" + url + "': port '" + e.port + "' is not a number";
      return std::nullopt;
    }
  if (std::stoul(e.port) == 0 || std::stoul(e.port) > 65535) {
    error = "url '" + url + "': port " + e.port + " is out of range";
    return std::nullopt;
  }
  return e;
}

// ---- The client ----

namespace rpc_text {
std::string timeout(const std::string &where) { return "the EVM node at " + where + " did not answer in time"; }
std::string unreachable(const std::string &where, const std::string &why) {
  return "cannot reach the EVM node at " + where + ": " + why;
}
std::string broken(const std::string &where, const std::string &why) {
  return "the EVM node at " + where + " broke the exchange off: " + why;
}
} // namespace rpc_text

namespace {

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

struct Exchange {
  std::string body;
  Clock::time_point deadline;
  // status 0 with the HTTP answer, or a transport status and message.
  std::function<void(int32_t status, std::string message, unsigned http_status, std::string body)> done;
  bool retried = false;
};

constexpr std::size_t kReadReserve = 16 * 1024;

struct Conn {
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<TlsStream> tls;
  bool used = false; // has carried an exchange: a failure at its start may be a keep-alive the node closed
  // Kept for the connection's life, as Beast reads a stream: what the node sent past one answer is the next one's
  // start. Reserved at once, so an answer of a few kilobytes (a block, a receipt) takes one read, not a read per
  // doubling from 512 bytes.
  beast::flat_buffer buffer;
  beast::tcp_stream &lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
};

bool stale_connection_error(const boost::system::error_code &ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == asio::ssl::error::stream_truncated;
}

} // namespace

struct JsonRpcClient::Impl : std::enable_shared_from_this<Impl> {
  Loop &loop;
  asio::io_context &io;
  RpcOptions opt;
  std::unique_ptr<asio::ssl::context> ssl;
  std::deque<std::shared_ptr<Exchange>> queue;
  std::vector<std::unique_ptr<Conn>> idle;
  unsigned open_conns = 0;
  std::vector<Conn *> busy; // for shutdown
  bool closed = false;
  uint64_t next_id = 1;
  std::atomic<uint64_t> sent{0};

  Impl(Loop &l, RpcOptions o) : loop(l), io(*static_cast<asio::io_context *>(l.io_context())), opt(std::move(o)) {
    if (opt.endpoint.tls) {
      ssl = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
      ssl->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
      boost::system::error_code ec;
      if (opt.ca_file.empty())
        ssl->set_default_verify_paths(ec);
      else
        ssl->load_verify_file(opt.ca_file, ec);
      if (ec) throw std::runtime_error("cannot load the CA file '" + opt.ca_file + "': " + ec.message());
      if (!opt.cert_file.empty()) {
        ssl->use_certificate_chain_file(opt.cert_file, ec);
        if (ec) throw std::runtime_error("cannot load the client certificate '" + opt.cert_file + "': " + ec.message());
        ssl->use_private_key_file(opt.key_file, asio::ssl::context::pem, ec);
        if (ec) throw std::runtime_error("cannot load the client key '" + opt.key_file + "': " + ec.message());
      }
      ssl->set_verify_mode(opt.verify ? asio::ssl::verify_peer : asio::ssl::verify_none);
    }
  }

  std::string where() const { return opt.endpoint.text(); }

  // On the loop.
  void submit(std::shared_ptr<Exchange> ex) {
    if (closed) {
      ex->done(WEFT_E_CANCELLED, "the chain is closing", 0, {});
      return;
    }
    if (!idle.empty()) {
      auto conn = std::move(idle.back());
      idle.pop_back();
      start(std::move(conn), std::move(ex));
    } else if (open_conns < opt.max_connections) {
      ++open_conns;
      start(nullptr, std::move(ex));
    } else {
      queue.push_back(std::move(ex));
    }
  }

  void start(std::unique_ptr<Conn> conn, std::shared_ptr<Exchange> ex) {
    asio::co_spawn(io, session(shared_from_this(), std::move(conn), std::move(ex)), asio::detached);
  }

  template <class Stream>
  static asio::awaitable<boost::system::error_code> exchange(Stream &stream, beast::tcp_stream &lowest,
                                                              beast::flat_buffer &buffer, Impl &self, Exchange &ex,
                                                              unsigned &http_status, std::string &body,
                                                              bool &keep_alive, bool &wrote) {
    boost::system::error_code ec;
    http::request<http::string_body> req{http::verb::post, self.opt.endpoint.target, 11};
    req.set(http::field::host, self.opt.endpoint.host);
    req.set(http::field::content_type, "application/json");
    req.set(http::field::user_agent, "weft-evm");
    req.keep_alive(true);
    req.body() = ex.body;
    req.prepare_payload();
    lowest.expires_at(ex.deadline);
    co_await http::async_write(stream, req, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return ec;
    wrote = true;
    if (buffer.capacity() < kReadReserve) buffer.reserve(kReadReserve);
    http::response_parser<http::string_body> parser;
    parser.body_limit(self.opt.max_answer_bytes);
    parser.header_limit(64 * 1024);
    co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return ec;
    auto res = parser.release();
    http_status = res.result_int();
    keep_alive = res.keep_alive();
    body = std::move(res.body());
    co_return ec;
  }

  static asio::awaitable<void> session(std::shared_ptr<Impl> self, std::unique_ptr<Conn> conn,
                                       std::shared_ptr<Exchange> ex) {
    while (ex) {
      boost::system::error_code ec;
      bool connect_failure = false;
      if (!conn) {
        conn = std::make_unique<Conn>();
        conn->plain = std::make_unique<beast::tcp_stream>(self->io);
        tcp::resolver resolver(self->io);
        auto addresses = co_await resolver.async_resolve(self->opt.endpoint.host, self->opt.endpoint.port,
                                                         asio::redirect_error(asio::use_awaitable, ec));
        if (!ec) {
          conn->plain->expires_at(ex->deadline);
          co_await conn->plain->async_connect(addresses, asio::redirect_error(asio::use_awaitable, ec));
        }
        if (!ec) conn->plain->socket().set_option(tcp::no_delay(true), ec);
        if (!ec && self->ssl) {
          auto raw = std::move(*conn->plain);
          conn->plain.reset();
          conn->tls = std::make_unique<TlsStream>(std::move(raw), *self->ssl);
          if (!SSL_set_tlsext_host_name(conn->tls->native_handle(), self->opt.endpoint.host.c_str()))
            ec = asio::error::invalid_argument;
          if (!ec && self->opt.verify)
            conn->tls->set_verify_callback(asio::ssl::host_name_verification(self->opt.endpoint.host));
          if (!ec) {
            beast::get_lowest_layer(*conn->tls).expires_at(ex->deadline);
            co_await conn->tls->async_handshake(asio::ssl::stream_base::client,
                                                asio::redirect_error(asio::use_awaitable, ec));
          }
        }
        connect_failure = static_cast<bool>(ec);
      }
      unsigned http_status = 0;
      std::string body;
      bool keep_alive = false, wrote = false;
      const bool reused = conn->used;
      if (!ec) {
        self->busy.push_back(conn.get());
        if (conn->tls)
          ec = co_await exchange(*conn->tls, conn->lowest(), conn->buffer, *self, *ex, http_status, body, keep_alive,
                                 wrote);
        else
          ec = co_await exchange(*conn->plain, conn->lowest(), conn->buffer, *self, *ex, http_status, body,
                                 keep_alive, wrote);
        std::erase(self->busy, conn.get());
        conn->used = true;
        self->sent.fetch_add(1, std::memory_order_relaxed);
      }
      if (ec) {
        conn.reset();
        // A keep-alive connection the node had closed fails at once: try the same request again on a fresh one.
        if (reused && !ex->retried && !self->closed && stale_connection_error(ec) && Clock::now() < ex->deadline) {
          ex->retried = true;
          continue;
        }
        --self->open_conns;
        if (self->closed)
          ex->done(WEFT_E_CANCELLED, "the chain is closing", 0, {});
        else if (ec == beast::error::timeout || Clock::now() >= ex->deadline)
          ex->done(WEFT_E_TIMEOUT, rpc_text::timeout(self->where()), 0, {});
        else if (connect_failure)
          ex->done(WEFT_E_UNAVAILABLE, rpc_text::unreachable(self->where(), ec.message()), 0, {});
        else
          ex->done(WEFT_E_UNAVAILABLE, rpc_text::broken(self->where(), ec.message()),
                   0, {});
        // The slot is free again: a queued request gets a fresh connection.
        if (!self->queue.empty() && !self->closed) {
          auto next = std::move(self->queue.front());
          self->queue.pop_front();
          ++self->open_conns;
          self->start(nullptr, std::move(next));
        }
        co_return;
      }
      if (!keep_alive) conn.reset();
      auto finished = std::move(ex);
      finished->done(0, {}, http_status, std::move(body));
      if (self->closed) {
        --self->open_conns;
        co_return;
      }
      if (!self->queue.empty()) {
        ex = std::move(self->queue.front());
        self->queue.pop_front();
        continue; // on this connection, or a fresh one if the node closed it
      }
      if (conn)
        self->idle.push_back(std::move(conn));
      else
        --self->open_conns;
    }
  }
};

namespace {

RpcAnswer garbage(const std::string &where, const std::string &what) {
  RpcAnswer a;
  a.status = WEFT_E_UNAVAILABLE;
  a.message = "the EVM node at " + where + " answered " + what;
  return a;
}

RpcAnswer rpc_failure(const std::string &where, const json::value &err) {
  RpcAnswer a;
  a.status = WEFT_E_INTERNAL;
  const auto *o = err.if_object();
  if (o == nullptr) return garbage(where, "an error that is not an object");
  const auto *code = o->if_contains("code");
  a.rpc_code = code != nullptr && code->is_int64() ? code->as_int64() : -32603;
  if (const auto *m = o->if_contains("message"); m != nullptr && m->is_string())
    a.message = std::string(m->as_string());
  else
    a.message = "error " + std::to_string(*a.rpc_code);
  if (const auto *d = o->if_contains("data")) a.rpc_data = *d;
  return a;
}

// Turns one HTTP answer into the answer to one JSON-RPC request.
RpcAnswer answer_of(const std::string &where, const json::value &v, uint64_t id) {
  RpcAnswer a;
  const auto *obj = v.if_object();
  if (obj == nullptr) return garbage(where, "an answer that is not a JSON object");
  const auto *idv = obj->if_contains("id");
  if (idv == nullptr || !idv->is_number() || idv->to_number<double>() != static_cast<double>(id)) {
    if (const auto *err = obj->if_contains("error"); err != nullptr && (idv == nullptr || idv->is_null()))
      return rpc_failure(where, *err);
    return garbage(where, "an answer with the wrong id (asked " + std::to_string(id) + ", got " +
                   (idv ? json::serialize(*idv) : std::string("none")) + ")");
  }
  if (const auto *err = obj->if_contains("error"); err != nullptr && !err->is_null()) return rpc_failure(where, *err);
  const auto *res = obj->if_contains("result");
  if (res == nullptr) return garbage(where, "an answer with neither result nor error");
  a.result = *res;
  return a;
}

// The HTTP layer's failure, or the body parsed as JSON.
std::optional<RpcAnswer> http_failure(const std::string &where, int32_t status, const std::string &message,
                                      unsigned http_status, const std::string &body, json::value &parsed) {
  if (status != 0) {
    RpcAnswer a;
    a.status = status;
    a.message = message;
    return a;
  }
  boost::system::error_code ec;
  parsed = json::parse(body, ec);
  if (http_status / 100 != 2) {
    // Some nodes answer a JSON-RPC error with HTTP 4xx/5xx; keep its message when there is one.
    if (!ec && parsed.is_object() && parsed.as_object().contains("error")) return std::nullopt;
    RpcAnswer a;
    a.status = WEFT_E_UNAVAILABLE;
    a.message = "the EVM node at " + where + " answered HTTP " + std::to_string(http_status) +
                (body.empty() ? "" : ": " + body.substr(0, 200));
    return a;
  }
  if (ec) return garbage(where, "malformed JSON (" + ec.message() + "): " + body.substr(0, 120));
  return std::nullopt;
}

} // namespace

RpcAnswer rpc_answer(const std::string &where, int32_t status, const std::string &message, unsigned http_status,
                     const std::string &body, uint64_t id) {
  json::value parsed;
  if (auto f = http_failure(where, status, message, http_status, body, parsed)) return std::move(*f);
  return answer_of(where, parsed, id);
}

JsonRpcClient::JsonRpcClient(Loop &loop, RpcOptions options)
    : impl_(std::make_shared<Impl>(loop, std::move(options))) {}

JsonRpcClient::~JsonRpcClient() { shutdown(); }

void JsonRpcClient::call(std::string method, json::array params, std::chrono::milliseconds timeout, Callback cb) {
  auto run = [impl = impl_, method = std::move(method), params = std::move(params), timeout, cb = std::move(cb)]() mutable {
    const uint64_t id = impl->next_id++;
    json::object req;
    req["jsonrpc"] = "2.0";
    req["id"] = id;
    req["method"] = method;
    req["params"] = std::move(params);
    auto ex = std::make_shared<Exchange>();
    ex->body = json::serialize(req);
    ex->deadline = Clock::now() + timeout;
    ex->done = [impl = impl.get(), id, cb = std::move(cb)](int32_t status, std::string message, unsigned http_status,
                                                          std::string body) {
      cb(rpc_answer(impl->where(), status, message, http_status, body, id));
    };
    impl->submit(std::move(ex));
  };
  if (impl_->loop.in_loop())
    run();
  else
    impl_->loop.post(std::move(run));
}

void JsonRpcClient::batch(std::vector<std::pair<std::string, json::array>> requests, std::chrono::milliseconds timeout,
                          BatchCallback cb) {
  auto run = [impl = impl_, requests = std::move(requests), timeout, cb = std::move(cb)]() mutable {
    if (requests.empty()) {
      cb({});
      return;
    }
    json::array arr;
    std::vector<uint64_t> ids;
    for (auto &[method, params] : requests) {
      const uint64_t id = impl->next_id++;
      ids.push_back(id);
      json::object req;
      req["jsonrpc"] = "2.0";
      req["id"] = id;
      req["method"] = method;
      req["params"] = std::move(params);
      arr.push_back(std::move(req));
    }
    auto ex = std::make_shared<Exchange>();
    ex->body = json::serialize(arr);
    ex->deadline = Clock::now() + timeout;
    ex->done = [impl = impl.get(), ids = std::move(ids), cb = std::move(cb)](int32_t status, std::string message,
                                                                            unsigned http_status, std::string body) {
      json::value parsed;
      auto all = [&](RpcAnswer a) { return std::vector<RpcAnswer>(ids.size(), a); };
      if (auto f = http_failure(impl->where(), status, message, http_status, body, parsed)) {
        cb(all(std::move(*f)));
        return;
      }
      if (parsed.is_object()) { // the node refused the batch as a whole
        const auto *err = parsed.as_object().if_contains("error");
        cb(all(err ? rpc_failure(impl->where(), *err) : garbage(impl->where(), "an object to a batch request")));
        return;
      }
      if (!parsed.is_array()) {
        cb(all(garbage(impl->where(), "a batch answer that is not an array")));
        return;
      }
      std::vector<RpcAnswer> out(ids.size());
      std::vector<bool> seen(ids.size(), false);
      for (const auto &entry : parsed.as_array()) {
        const auto *o = entry.if_object();
        const auto *idv = o ? o->if_contains("id") : nullptr;
        if (idv == nullptr || !idv->is_number()) continue;
        const double idd = idv->to_number<double>();
        for (size_t i = 0; i < ids.size(); ++i)
          if (!seen[i] && static_cast<double>(ids[i]) == idd) {
            out[i] = answer_of(impl->where(), entry, ids[i]);
            seen[i] = true;
            break;
          }
      }
      for (size_t i = 0; i < ids.size(); ++i)
        if (!seen[i]) out[i] = garbage(impl->where(), "a batch answer without request id " + std::to_string(ids[i]));
      cb(std::move(out));
    };
    impl->submit(std::move(ex));
  };
  if (impl_->loop.in_loop())
    run();
  else
    impl_->loop.post(std::move(run));
}

void JsonRpcClient::shutdown() {
  auto run = [impl = impl_] {
    if (impl->closed) return;
    impl->closed = true;
    auto queued = std::move(impl->queue);
    for (auto &ex : queued) ex->done(WEFT_E_CANCELLED, "the chain is closing", 0, {});
    impl->idle.clear();
    for (Conn *c : impl->busy) {
      boost::system::error_code ec;
      c->lowest().socket().close(ec);
    }
  };
  if (impl_->loop.in_loop())
    run();
  else
    impl_->loop.post(run);
}

const Endpoint &JsonRpcClient::endpoint() const { return impl_->opt.endpoint; }
std::uint64_t JsonRpcClient::requests_sent() const { return impl_->sent.load(std::memory_order_relaxed); }

} // namespace weft::evm
