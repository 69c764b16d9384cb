// A router's RPC front without a network: a context with no chains, the default routes, and requests answered by
// running the service's coroutine to completion.
#pragma once

#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <memory>
#include <optional>

#include "rpc/request.h"
#include "rpc/routes.h"
#include "rpc/rpc_service.h"

namespace weft::test {

struct RpcFixture {
  boost::asio::io_context io;
  Registry registry;
  ChainService chains{registry, 1000};
  LoadReport adapters;
  RpcContext ctx{registry, chains};
  std::unique_ptr<RpcService> rpc;

  RpcFixture() { ctx.adapters = &adapters; }
  // Built on first use, so a test may fill ctx first.
  RpcService &service() {
    if (!rpc) rpc = std::make_unique<RpcService>(ctx, default_routes(), "");
    return *rpc;
  }
  HttpResponse handle(const HttpRequest &h) {
    std::optional<HttpResponse> out;
    boost::asio::co_spawn(io, service().handle(h), [&](std::exception_ptr, HttpResponse r) { out = std::move(r); });
    io.restart();
    io.run();
    REQUIRE(out.has_value());
    return *out;
  }
};

} // namespace weft::test
