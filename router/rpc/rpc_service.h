// The RPC's front: takes a request off the HTTP door, finds its route (WeCross's 404 or Weft's 405 otherwise),
// runs the login check the route asks for, calls the handler, and logs (access_log.h) and counts the outcome.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <optional>
#include <string>

#include "access_log.h"
#include "http_server.h"
#include "routes.h"

namespace weft {

class RpcService {
 public:
  // The login slot: given the request and the route that needs a login, an answer that refuses it (WeCross's 401
  // text/plain) or nullopt to let it through, having set the request's session. Without one every request passes.
  using LoginCheck = std::function<std::optional<Reply>(RpcRequest &, const Route &)>;
  // Sees each answered request: its route family, HTTP status, envelope code, seconds taken.
  using Observer = std::function<void(std::string_view family, int http_status, int code, double seconds)>;

  RpcService(RpcContext &ctx, RouteTable routes, std::string url_prefix)
      : ctx_(ctx), routes_(std::move(routes)), url_prefix_(std::move(url_prefix)) {}
  void set_login_check(LoginCheck fn) { login_check_ = std::move(fn); }
  void set_observer(Observer fn) { observer_ = std::move(fn); }

  // Answers one request; never throws. Logs it in the access log and tells the observer.
  boost::asio::awaitable<HttpResponse> handle(HttpRequest req);
  // Whether the request may run alongside the other pipelined requests of its connection (RouteTable::parallel),
  // from its method and target alone.
  bool parallel(const HttpRequest &req) const;

 private:
  boost::asio::awaitable<Reply> dispatch(const HttpRequest &req, std::string_view &family);

  RpcContext &ctx_;
  RouteTable routes_;
  std::string url_prefix_;
  LoginCheck login_check_;
  Observer observer_;
  AccessLog access_log_;
};

} // namespace weft
