// Runs an adapter verb from a coroutine: the adapter's completion is posted back to the caller's executor,
// and a router-side guard answers with a timeout if an adapter breaks its promise to call back.
#pragma once

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "chain_handle.h"

namespace weft {

// Extra time the router grants an adapter past the deadline before it gives up on the answer itself.
inline constexpr std::chrono::milliseconds kAdapterGrace{2000};

template <class Token>
auto async_invoke(ChainHandle &chain, Verb verb, std::string request, uint32_t deadline_ms, Token &&token) {
  namespace asio = boost::asio;
  auto init = [&chain, verb, deadline_ms](auto handler, std::string request) {
    using Handler = decltype(handler);
    struct State {
      std::optional<Handler> handler;
      asio::any_io_executor ex;
      asio::steady_timer guard;
      std::atomic<bool> fired{false};
      State(Handler h, asio::any_io_executor e) : handler(std::move(h)), ex(e), guard(e) {}
    };
    // The first of the adapter's answer and the guard wins; the other is dropped.
    auto finish = [](const std::shared_ptr<State> &s, Result<std::string> r) {
      if (s->fired.exchange(true)) return;
      asio::post(s->ex, [s, r = std::move(r)]() mutable {
        s->guard.cancel();
        auto h = std::move(*s->handler);
        s->handler.reset();
        std::move(h)(std::move(r));
      });
    };
    auto ex = asio::get_associated_executor(handler);
    auto state = std::make_shared<State>(std::move(handler), asio::any_io_executor(ex));
    state->guard.expires_after(std::chrono::milliseconds(deadline_ms) + kAdapterGrace);
    // Weak: if the adapter answered, nothing waits for the guard any more.
    state->guard.async_wait([weak = std::weak_ptr<State>(state), path = chain.path(), verb, finish](auto ec) {
      auto s = weak.lock();
      if (ec || !s) return;
      finish(s, Error{code::kChainTimeout, std::string("adapter of ") + path + " did not answer " + verb_name(verb) +
                                               " within its deadline"});
    });
    chain.invoke(verb, request, deadline_ms, [state, finish](Result<std::string> r) { finish(state, std::move(r)); });
  };
  return asio::async_initiate<Token, void(Result<std::string>)>(init, token, std::move(request));
}

} // namespace weft
