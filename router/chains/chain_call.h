// Runs an adapter verb from a coroutine: the adapter's completion is posted back to the caller's executor. A guard
// fires if the adapter breaks its promise to answer by the deadline: the router cancels the adapter's operation,
// waits briefly for the adapter's own answer (which names a sent transaction's hash), and otherwise answers itself.
#pragma once

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "chain_handle.h"
#include "core/deadline.h"

namespace weft {

// Extra time the router grants an adapter past the deadline before it cancels the operation itself.
inline constexpr std::chrono::milliseconds kAdapterGrace{2000};
// How long the router waits for the adapter's answer to that cancel before it answers without it.
inline constexpr std::chrono::milliseconds kCancelGrace{500};

template <class Token>
auto async_invoke(std::shared_ptr<ChainHandle> chain, Verb verb, std::string request, uint32_t deadline_ms,
                  Token &&token) {
  namespace asio = boost::asio;
  auto init = [chain, verb, deadline_ms](auto handler, std::string request) {
    using Handler = decltype(handler);
    struct State {
      std::optional<Handler> handler;
      asio::any_io_executor ex;
      std::shared_ptr<ChainHandle> chain;
      std::atomic<bool> done{false};
      std::atomic<bool> guard_fired{false};
      std::atomic<uint64_t> op_id{0};
      std::optional<Deadline> guard;  // touched on ex only
      std::optional<Deadline> waiter; // likewise
      State(Handler h, asio::any_io_executor e, std::shared_ptr<ChainHandle> c)
          : handler(std::move(h)), ex(std::move(e)), chain(std::move(c)) {}
    };
    // The first answer wins, the adapter's or the router's own; the other is dropped.
    auto finish = [](const std::shared_ptr<State> &s, AdapterAnswer a) {
      if (s->done.exchange(true)) return;
      // The adapter reporting the router's own cancel is a timeout to the client, not a shutdown.
      if (a.status == WEFT_E_CANCELLED && s->guard_fired) a.status = WEFT_E_TIMEOUT;
      asio::post(s->ex, [s, a = std::move(a)]() mutable {
        s->guard.reset();
        s->waiter.reset();
        auto h = std::move(*s->handler);
        s->handler.reset();
        std::move(h)(std::move(a));
      });
    };
    auto ex = asio::get_associated_executor(handler);
    auto state = std::make_shared<State>(std::move(handler), asio::any_io_executor(ex), chain);
    std::weak_ptr<State> weak = state;
    state->guard.emplace(state->ex, std::chrono::milliseconds(deadline_ms) + kAdapterGrace, [weak, verb, finish] {
      auto s = weak.lock();
      if (!s || s->done) return;
      s->guard_fired = true;
      s->chain->cancel(s->op_id.load());
      if (s->done) return;
      s->waiter.emplace(s->ex, kCancelGrace, [weak, verb, finish] {
        if (auto s2 = weak.lock())
          finish(s2, AdapterAnswer{WEFT_E_TIMEOUT,
                                   "adapter of " + s2->chain->path() + " did not answer " + verb_name(verb) +
                                       " within its deadline, nor after it was cancelled",
                                   ""});
      });
    });
    uint64_t op = chain->invoke(verb, request, deadline_ms,
                                [state, finish](AdapterAnswer a) { finish(state, std::move(a)); });
    state->op_id = op;
  };
  return asio::async_initiate<Token, void(AdapterAnswer)>(init, token, std::move(request));
}

} // namespace weft
