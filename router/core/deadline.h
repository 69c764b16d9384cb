// A one-shot timer that runs a function when a time limit passes, unless it was disarmed first. The one deadline
// helper of the router: the RPC door uses it for slow clients, the chain calls for adapters that do not answer.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <memory>

namespace weft {

class Deadline {
 public:
  // `on_expiry` runs once on `ex` after `after`, unless disarm() or the destructor ran first. It may run after this
  // object is gone only if it was already queued; it is then skipped.
  Deadline(const boost::asio::any_io_executor &ex, std::chrono::steady_clock::duration after,
           std::function<void()> on_expiry)
      : timer_(ex), state_(std::make_shared<State>()) {
    timer_.expires_after(after);
    timer_.async_wait([state = state_, fn = std::move(on_expiry)](const boost::system::error_code &ec) {
      if (ec || !state->armed) return;
      state->fired = true;
      fn();
    });
  }
  ~Deadline() { disarm(); }
  Deadline(const Deadline &) = delete;
  Deadline &operator=(const Deadline &) = delete;

  // Call on the timer's executor.
  void disarm() {
    state_->armed = false;
    timer_.cancel();
  }
  bool expired() const { return state_->fired; }

 private:
  struct State {
    bool armed = true;
    bool fired = false;
  };
  boost::asio::steady_timer timer_;
  std::shared_ptr<State> state_;
};

} // namespace weft
