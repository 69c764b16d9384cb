// Runs blocking work (scrypt, RSA, a store write) on a worker pool from a coroutine, and resumes the coroutine on
// its own executor with the result. Never blocks an I/O thread.
#pragma once

#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <memory>
#include <type_traits>
#include <utility>

namespace weft {

template <class Pool, class Fn>
boost::asio::awaitable<std::invoke_result_t<Fn &>> on_pool(Pool &pool, Fn fn) {
  namespace asio = boost::asio;
  using T = std::invoke_result_t<Fn &>;
  auto ex = co_await asio::this_coro::executor;
  auto initiate = [&pool, ex](auto handler, Fn work) {
    auto h = std::make_shared<decltype(handler)>(std::move(handler));
    pool.submit([h, ex, work = std::move(work)]() mutable {
      T result = work();
      asio::post(ex, [h, result = std::move(result)]() mutable { std::move (*h)(std::move(result)); });
    });
  };
  // Both named before the co_await: GCC 12 destroys a temporary of a co_await expression twice, which here would
  // drop a reference to the strand that is not ours.
  auto result = co_await asio::async_initiate<const asio::use_awaitable_t<>, void(T)>(std::move(initiate),
                                                                                        asio::use_awaitable, std::move(fn));
  co_return result;
}

} // namespace weft
