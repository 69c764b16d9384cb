#include "rpc_service.h"

#include <chrono>

namespace weft {

namespace asio = boost::asio;

asio::awaitable<HttpResponse> RpcService::handle(HttpRequest req) {
  auto t0 = std::chrono::steady_clock::now();
  std::string_view family = "other";
  Reply reply;
  try {
    reply = co_await dispatch(req, family);
  } catch (const std::exception &e) {
    reply = reply_error({code::kInternal, std::string("internal error: ") + e.what()});
  }
  auto t1 = std::chrono::steady_clock::now();
  if (observer_) observer_(family, reply.http.status, reply.code, std::chrono::duration<double>(t1 - t0).count());
  access_log_.record(req.remote, req.method, req.target, reply.http.status, reply.code, t0, t1);
  co_return std::move(reply.http);
}

bool RpcService::parallel(const HttpRequest &req) const {
  HttpRequest head; // the body does not matter to the route
  head.method = req.method;
  head.target = req.target;
  auto parsed = parse_request(head, url_prefix_);
  return parsed.ok() && routes_.parallel(req.method, *parsed);
}

asio::awaitable<Reply> RpcService::dispatch(const HttpRequest &http, std::string_view &family) {
  auto parsed = parse_request(http, url_prefix_);
  if (!parsed.ok()) co_return reply_not_found(); // outside the url prefix
  RpcRequest &r = *parsed;
  auto found = routes_.find(http.method, r);
  family = found.family;
  if (found.status == 404) co_return reply_not_found();
  if (found.status == 405) co_return reply_method_not_allowed(found.allow);
  if (found.route->login && login_check_)
    if (auto refused = login_check_(r, *found.route)) co_return std::move(*refused);
  if (r.body_error) co_return reply_error(*r.body_error);
  co_return co_await found.route->handler(ctx_, r);
}

} // namespace weft
