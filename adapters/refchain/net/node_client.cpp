#include "node_client.h"

#include "crypto.h"
#include "error.h"
#include "host_port.h"

#include <boost/json.hpp>

#include <cerrno>
#include <condition_variable>
#include <fcntl.h>
#include <optional>
#include <poll.h>
#include <unistd.h>
#include <utility>

namespace weft::refchain::net {

namespace json = boost::json;

namespace {

bool read_id(const json::value &v, uint64_t &id) {
  if (v.is_uint64())
    id = v.as_uint64();
  else if (v.is_int64() && v.as_int64() >= 0)
    id = static_cast<uint64_t>(v.as_int64());
  else
    return false;
  return true;
}

int ms_until(std::chrono::steady_clock::time_point t) {
  auto left = std::chrono::ceil<std::chrono::milliseconds>(t - std::chrono::steady_clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<int64_t>(left, 1 << 30));
}

// The hash of a submit's transaction, read back from the request as sent (only when its connection broke, so the
// signed bytes are kept once, in the request).
std::string hash_of_submit(const std::string &body) {
  try {
    auto v = json::parse(body);
    return to_hex(sha256(from_hex(v.at("tx").as_string())));
  } catch (const std::exception &) {
    return "(unreadable)";
  }
}

} // namespace

NodeClient::NodeClient(NodeClientOptions options) : options_(std::move(options)), link_(options_.max_frame_bytes) {
  if (options_.nodes.empty()) throw Error(WEFT_E_INVALID_ARGUMENT, "node client: no node addresses");
  for (const auto &n : options_.nodes)
    split_host_port(n);
  if (options_.max_in_flight == 0) options_.max_in_flight = 1;
  if (::pipe(wake_) != 0) throw Error(WEFT_E_INTERNAL, "node client: cannot make a pipe");
  for (int fd : wake_) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  thread_ = std::thread([this] { run(); });
  io_thread_ = thread_.get_id();
}

NodeClient::~NodeClient() {
  close();
  for (int fd : wake_)
    if (fd >= 0) ::close(fd);
}

std::string NodeClient::current_node() const {
  std::lock_guard lock(mu_);
  return options_.nodes[current_];
}

size_t NodeClient::in_flight() const {
  std::lock_guard lock(mu_);
  return calls_.size();
}

void NodeClient::wake() {
  if (woken_) return; // a byte is already in the pipe
  woken_ = true;
  char b = 1;
  while (::write(wake_[1], &b, 1) < 0 && errno == EINTR) {
  }
}

void NodeClient::call_async(const std::string &op, json::object fields, std::chrono::milliseconds timeout,
                            NodeCallback done) {
  NodeAnswer refused;
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      refused = {WEFT_E_CANCELLED, "the node client is closed", {}};
    } else if (calls_.size() >= options_.max_in_flight) {
      refused = {WEFT_E_REJECTED,
                 "too many calls in flight (" + std::to_string(calls_.size()) + ") to " + options_.nodes[current_],
                 {}};
    } else {
      uint64_t id = next_id_++;
      Call c;
      c.op = op;
      fields["id"] = id;
      fields["op"] = op;
      c.body = json::serialize(fields);
      c.done = std::move(done);
      c.timeout = timeout;
      c.deadline = Clock::now() + timeout;
      Call &call = calls_.emplace(id, std::move(c)).first->second;
      deadlines_.emplace(call.deadline, id);
      if (link_.up() && broken_.empty()) {
        // Alone in the book, the connection has been idle: the node may have closed it meanwhile. Reconnect to the
        // same node rather than send a submit that would then fail as possibly admitted.
        if (calls_.size() == 1 && Clock::now() - last_heard_ >= kFreshFor && link_.closed_by_node()) {
          broken_ = "the node closed the idle connection";
        } else {
          send_locked(id, call);
          try {
            link_.flush();
          } catch (const LinkError &e) {
            broken_ = e.what();
          }
        }
      }
      if (!call.sent) unsent_.insert(id);
      // The I/O thread polls until the earliest deadline (or for kIdlePoll) and for room to write; tell it when it
      // must do otherwise. A call sent in full with a later deadline wakes nobody: its answer will.
      if (!call.sent || link_.wants_write() || !broken_.empty() || call.deadline < poll_until_) wake();
      return;
    }
  }
  try {
    done(std::move(refused));
  } catch (...) {
  }
}

json::object NodeClient::call(const std::string &op, json::object fields, std::chrono::milliseconds timeout) {
  if (std::this_thread::get_id() == io_thread_)
    throw Error(WEFT_E_INTERNAL, "NodeClient::call from one of its own callbacks would wait for itself");
  struct Wait {
    std::mutex m;
    std::condition_variable cv;
    bool done = false;
    NodeAnswer answer;
  };
  auto w = std::make_shared<Wait>();
  call_async(op, std::move(fields), timeout, [w](NodeAnswer a) {
    std::lock_guard lock(w->m);
    w->answer = std::move(a);
    w->done = true;
    w->cv.notify_all();
  });
  std::unique_lock lock(w->m);
  w->cv.wait(lock, [&] { return w->done; });
  if (w->answer.status != WEFT_OK) throw Error(w->answer.status, w->answer.message);
  return std::move(w->answer.result);
}

void NodeClient::close() {
  std::lock_guard closing(close_mu_);
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    wake();
  }
  // Not from a callback: the I/O thread cannot join itself.
  if (thread_.joinable() && std::this_thread::get_id() != io_thread_) thread_.join();
  Ready ready;
  {
    std::unique_lock lock(mu_);
    drop_watch(lock);
    while (!calls_.empty()) {
      auto it = calls_.begin();
      std::string m = "the node client was closed before " + it->second.op + " was answered";
      finish_locked(it, {WEFT_E_CANCELLED, m, {}}, ready);
    }
    link_.close();
  }
  run_callbacks(ready);
}

void NodeClient::send_locked(uint64_t id, Call &call) {
  link_.queue(call.body);
  call.sent = true;
  unsent_.erase(id);
}

void NodeClient::finish_locked(std::map<uint64_t, Call>::iterator it, NodeAnswer answer, Ready &ready) {
  deadlines_.erase({it->second.deadline, it->first});
  unsent_.erase(it->first);
  ready.emplace_back(std::move(it->second.done), std::move(answer));
  calls_.erase(it);
}

void NodeClient::run_callbacks(Ready &ready) {
  for (auto &[done, answer] : ready) {
    try {
      done(std::move(answer));
    } catch (...) { // a callback's failure is its own; the I/O thread goes on
    }
  }
  ready.clear();
}

void NodeClient::connect_locked(Ready &ready) {
  // Each failure costs every waiting call one node, so this ends once they have tried them all.
  while (!unsent_.empty() && link_.fd() < 0) {
    try {
      link_.start_connect(options_.nodes[current_]);
      connect_by_ = Clock::now() + options_.connect_timeout;
    } catch (const LinkError &e) {
      on_connect_failed_locked(e.what(), ready);
    }
  }
}

void NodeClient::on_connected_locked(Ready &) {
  last_heard_ = Clock::now();
  for (auto id : std::vector<uint64_t>(unsent_.begin(), unsent_.end()))
    send_locked(id, calls_.at(id));
  link_.flush();
  if (options_.loop == nullptr) return;
  try {
    watch_ = options_.loop->watch(link_.fd(), &NodeClient::on_ready, this);
    options_.loop->arm(watch_, WEFT_IO_READ);
  } catch (const std::exception &) {
    watch_ = 0; // the loop refused the descriptor: this thread reads it, as without a loop
  }
}

void NodeClient::on_ready(void *self, uint32_t) {
  static_cast<NodeClient *>(self)->on_readable();
}

void NodeClient::on_readable() {
  Ready ready;
  {
    std::lock_guard lock(mu_);
    // Being dropped by the I/O thread (a broken connection, close): leave the watch unarmed.
    if (watch_ == 0 || stopping_ || !broken_.empty() || !link_.up()) return;
    try {
      link_.receive([&](std::string_view f) { on_frame_locked(f, ready); });
      options_.loop->arm(watch_, WEFT_IO_READ);
    } catch (const LinkError &e) {
      broken_ = why_broken(e);
      wake();
    }
  }
  run_callbacks(ready);
}

std::string NodeClient::why_broken(const LinkError &e) const {
  return said_.empty() ? std::string(e.what()) : said_ + " (" + e.what() + ")";
}

void NodeClient::drop_watch(std::unique_lock<std::mutex> &lock) {
  if (watch_ == 0) return;
  uint64_t id = std::exchange(watch_, 0);
  lock.unlock();
  options_.loop->unwatch(id);
  lock.lock();
}

void NodeClient::on_connect_failed_locked(const std::string &why, Ready &ready) {
  link_.close();
  const std::string &node = options_.nodes[current_];
  for (auto it = unsent_.begin(); it != unsent_.end();) {
    auto next = std::next(it);
    auto c = calls_.find(*it);
    c->second.attempts++;
    c->second.failures += (c->second.failures.empty() ? "" : "; ") + node + ": " + why;
    if (c->second.attempts >= options_.nodes.size())
      finish_locked(c, {WEFT_E_UNAVAILABLE, "no node answered " + c->second.op + ": " + c->second.failures, {}}, ready);
    it = next;
  }
  current_ = (current_ + 1) % options_.nodes.size();
}

void NodeClient::on_broken_locked(const std::string &why, Ready &ready) {
  link_.close();
  const std::string node = options_.nodes[current_];
  bool had_sent = false;
  for (auto it = calls_.begin(); it != calls_.end();) {
    auto next = std::next(it);
    Call &c = it->second;
    if (c.sent) {
      had_sent = true;
      c.sent = false;
      c.attempts++;
      c.failures += (c.failures.empty() ? "" : "; ") + node + ": " + why;
      if (c.op == "submit")
        finish_locked(it,
                      {WEFT_E_UNAVAILABLE,
                       "the connection to " + node + " broke after transaction " + hash_of_submit(c.body) + " was sent (" + why +
                           "); it may have been admitted, look its hash up with get_receipt",
                       {}},
                      ready);
      else if (c.attempts >= options_.nodes.size())
        finish_locked(it, {WEFT_E_UNAVAILABLE, "no node answered " + c.op + ": " + c.failures, {}}, ready);
      else
        unsent_.insert(it->first); // sent again on the next connection
    }
    it = next;
  }
  // A node that dropped calls it held may be going down: move on. One that closed an idle connection is kept.
  if (had_sent) current_ = (current_ + 1) % options_.nodes.size();
}

void NodeClient::on_frame_locked(std::string_view frame, Ready &ready) {
  last_heard_ = Clock::now();
  boost::system::error_code ec;
  json::value v = json::parse(json::string_view(frame.data(), frame.size()), ec);
  if (ec || !v.is_object()) throw LinkError("the node answered with something that is not JSON");
  auto &o = v.as_object();
  auto *st = o.if_contains("status");
  int32_t status = st && st->is_int64() ? static_cast<int32_t>(st->as_int64()) : WEFT_E_INTERNAL;
  auto *m = o.if_contains("message");
  std::string message = m && m->is_string() ? std::string(m->as_string()) : "error " + std::to_string(status);
  uint64_t id = 0;
  auto *idv = o.if_contains("id");
  if (idv == nullptr || !read_id(*idv, id)) {
    // Not an answer to a call: a refusal ("too many client connections") before the node closes the connection.
    if (status != WEFT_OK) said_ = message;
    return;
  }
  auto it = calls_.find(id);
  if (it == calls_.end() || !it->second.sent) return; // answered after it timed out
  NodeAnswer a;
  a.status = status;
  if (status != WEFT_OK)
    a.message = std::move(message);
  else if (auto *r = o.if_contains("result"); r && r->is_object())
    a.result = std::move(r->as_object());
  finish_locked(it, std::move(a), ready);
}

void NodeClient::expire_locked(Ready &ready) {
  auto now = Clock::now();
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    auto it = calls_.find(deadlines_.begin()->second);
    const Call &c = it->second;
    std::string m = "no answer to " + c.op + " from " + (c.sent ? options_.nodes[current_] : "any node") + " within " +
                    std::to_string(c.timeout.count()) + " ms";
    if (!c.sent && !c.failures.empty()) m += " (" + c.failures + ")";
    finish_locked(it, {WEFT_E_TIMEOUT, m, {}}, ready);
  }
}

void NodeClient::run() {
  Ready ready;
  std::unique_lock lock(mu_);
  for (;;) {
    // A byte is in the pipe exactly when woken_ is set (both under mu_): drain only then, not a read per turn.
    if (woken_) {
      char drain[64];
      while (::read(wake_[0], drain, sizeof drain) > 0) {
      }
      woken_ = false;
    }
    if (stopping_) break;
    if (!broken_.empty()) {
      drop_watch(lock);
      if (stopping_) break;
      on_broken_locked(std::exchange(broken_, {}), ready);
    }
    expire_locked(ready);
    if (link_.connecting() && Clock::now() >= connect_by_)
      on_connect_failed_locked("no connection within " + std::to_string(options_.connect_timeout.count()) + " ms",
                               ready);
    connect_locked(ready);

    pollfd fds[2] = {{wake_[0], POLLIN, 0}, {link_.fd(), 0, 0}};
    if (link_.connecting())
      fds[1].events = POLLOUT;
    else if (link_.up())
      fds[1].events = short((watch_ != 0 ? 0 : POLLIN) | (link_.wants_write() ? POLLOUT : 0));
    // With a loop reading the connection, this thread polls it only for room to write.
    nfds_t n = link_.fd() >= 0 && fds[1].events != 0 ? 2 : 1;
    Clock::time_point until = Clock::now() + kIdlePoll;
    if (!deadlines_.empty() && deadlines_.begin()->first < until) until = deadlines_.begin()->first;
    if (link_.connecting() && connect_by_ < until) until = connect_by_;
    poll_until_ = until;
    bool was_connecting = link_.connecting();
    lock.unlock();
    run_callbacks(ready);
    int r = ::poll(fds, n, ms_until(until));
    lock.lock();
    if (stopping_) break;
    if (r <= 0 || n < 2 || fds[1].revents == 0) continue;
    // Only this thread opens or closes the connection, so fds[1] is still the link polled.
    try {
      if (was_connecting) {
        if (link_.finish_connect()) on_connected_locked(ready);
      } else {
        if (fds[1].revents & POLLOUT) link_.flush();
        if (fds[1].revents & (POLLIN | POLLHUP | POLLERR))
          link_.receive([&](std::string_view f) { on_frame_locked(f, ready); });
      }
    } catch (const LinkError &e) {
      if (was_connecting && link_.fd() < 0) {
        on_connect_failed_locked(e.what(), ready);
      } else {
        // Handled at the top of the loop, once the loop's watch of the connection is gone.
        if (broken_.empty()) broken_ = why_broken(e);
        continue;
      }
    }
    if (link_.fd() < 0) said_.clear();
  }
  lock.unlock();
  run_callbacks(ready);
}

} // namespace weft::refchain::net
