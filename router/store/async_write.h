// A store write awaited from a coroutine: queued on the store's writer thread (where concurrent writes share one
// commit and one fsync), and resumed on the caller's executor once the write is durable or failed. The I/O thread
// never blocks on the disk.
#pragma once

#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <memory>

#include "store.h"

namespace weft::store {

inline boost::asio::awaitable<Status> durable_write(Store &store, Store::WriteFn fn) {
  namespace asio = boost::asio;
  auto ex = co_await asio::this_coro::executor;
  auto initiate = [&store, ex](auto handler, Store::WriteFn work) {
    auto h = std::make_shared<decltype(handler)>(std::move(handler));
    auto queued = store.write_async(std::move(work), [h, ex](Status s) {
      asio::post(ex, [h, s]() mutable { std::move(*h)(std::move(s)); });
    });
    if (!queued.ok()) asio::post(ex, [h, queued]() mutable { std::move(*h)(std::move(queued)); });
  };
  // Named before the co_await (GCC 12 destroys temporaries of a co_await expression twice).
  Status s = co_await asio::async_initiate<const asio::use_awaitable_t<>, void(Status)>(std::move(initiate),
                                                                                       asio::use_awaitable, std::move(fn));
  co_return s;
}

} // namespace weft::store
