// The route table: WeCross's matching rules, Weft's 405s, the login flag of every route, and the url prefix.
#include <doctest/doctest.h>

#include "rpc/request.h"
#include "rpc/routes.h"
#include "rpc_test_support.h"

using namespace weft;

namespace {
RouteTable::Found find(const RouteTable &t, const std::string &method, const std::string &target,
                       const std::string &prefix = "") {
  HttpRequest h;
  h.method = method;
  h.target = target;
  auto r = parse_request(h, prefix);
  REQUIRE(r.ok());
  return t.find(method, *r);
}
} // namespace

TEST_CASE("every route's login flag is WeCross's shouldLogin for its path, the account manager's for /auth, and "
          "always for Weft's HTLC routes") {
  RouteTable t = default_routes();
  CHECK(t.routes().size() >= 25);
  for (const auto &r : t.routes()) {
    CAPTURE(r.path);
    if (r.match == PathMatch::ResourcePath)
      CHECK(r.login);
    else if (r.family == "htlc") // Weft's own: every HTLC route needs a login, /weft/htlc/status included
      CHECK(r.login);
    else if (r.family == "auth") // the account manager needs no token for these
      CHECK(r.login == !(r.path == "/auth/pub" || r.path == "/auth/authCode" || r.path == "/auth/login" ||
                         r.path == "/auth/register"));
    else
      CHECK(r.login == wecross_should_login(r.path));
  }
  CHECK_FALSE(wecross_should_login("/sys/test"));
  CHECK_FALSE(wecross_should_login("/auth/login"));
  CHECK_FALSE(wecross_should_login("/auth/register"));
  CHECK_FALSE(wecross_should_login("/sys/supportedStubs"));
  CHECK(wecross_should_login("/sys/listResources"));
  CHECK(wecross_should_login("/xa/startXATransaction"));
}

TEST_CASE("WeCross's families answer a method they do not route with 404; Weft's routes with 405 and Allow") {
  RouteTable t = default_routes();
  CHECK(find(t, "GET", "/sys/state").status == 200);
  CHECK(find(t, "POST", "/sys/state").status == 404); // as WeCross: an unrouted (method, path) is unknown
  CHECK(find(t, "DELETE", "/trans/getBlock").status == 404);
  CHECK(find(t, "GET", "/sys/nothing").status == 404);
  CHECK(find(t, "GET", "/SYS/test").status == 404); // paths are case-sensitive
  auto weft = find(t, "POST", "/weft/accounts");
  CHECK(weft.status == 405);
  CHECK(weft.allow == "GET");
  CHECK(find(t, "GET", "/weft/nothing").status == 404);
  CHECK(find(t, "GET", "/weft/chainInfo?path=a.b").status == 200);
}

TEST_CASE("resource paths of 4 or 5 segments reach the resource handler whatever the method") {
  RouteTable t = default_routes();
  for (const char *m : {"GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "PROPFIND"}) {
    CAPTURE(m);
    auto f = find(t, m, "/resource/payment/ledger1/store/CALL");
    REQUIRE(f.status == 200);
    CHECK(f.route->family == "resource");
    CHECK(find(t, m, "/resource/payment/ledger1/customCommand").status == 200);
  }
  CHECK(find(t, "POST", "/resource/payment/ledger1").status == 404);
  CHECK(find(t, "POST", "/resource/a/b/c/d/e").status == 404);
}

TEST_CASE("with a url prefix, routes are served only under it") {
  RouteTable t = default_routes();
  HttpRequest h;
  h.method = "GET";
  h.target = "/sys/test";
  CHECK_FALSE(parse_request(h, "/weft").ok());
  h.target = "/weftx/sys/test";
  CHECK_FALSE(parse_request(h, "/weft").ok());
  CHECK(find(t, "GET", "/weft/sys/test?x=1", "/weft").status == 200);
  CHECK(find(t, "GET", "/weft/weft/accounts", "/weft").status == 200);
}

TEST_CASE("the query and the envelope's data give parameters; a bad body waits for the route") {
  HttpRequest h;
  h.method = "GET";
  h.target = "/trans/getBlock?path=payment.ledger1&blockNumber=%33";
  h.body = R"({"version":"1","data":{"blockNumber":9,"txHash":"0xab"}})";
  auto r = parse_request(h, "");
  REQUIRE(r.ok());
  CHECK(r->param("blockNumber") == "3"); // the query wins
  CHECK(r->param("txHash") == "0xab");
  CHECK_FALSE(r->param("missing").has_value());
  h.body = "[1,2]";
  auto bad = parse_request(h, "");
  REQUIRE(bad.ok());
  REQUIRE(bad->body_error.has_value());
  CHECK(bad->body_error->code == code::kPostData);
}

TEST_CASE("the login slot runs after the route is found and before its handler; unknown routes are 404 first") {
  test::RpcFixture f;
  std::vector<std::string> checked;
  f.service().set_login_check([&](const RpcRequest &r, const Route &route) -> std::optional<Reply> {
    checked.push_back(r.path);
    CHECK(route.login);
    return reply_login_required(r);
  });
  auto ask = [&](std::string method, std::string target) {
    HttpRequest h;
    h.method = std::move(method);
    h.target = std::move(target);
    h.authorization = "Bearer nope";
    return f.handle(h);
  };
  CHECK(ask("GET", "/sys/test").status == 200); // needs no login
  auto refused = ask("GET", "/sys/listResources");
  CHECK(refused.status == 401);
  CHECK(refused.content_type == "text/plain");
  CHECK(refused.body == "Login check failed, uri: /sys/listResources token:Bearer nope");
  CHECK(refused.close);
  CHECK(ask("POST", "/sys/state").status == 404); // unrouted: 404 before any login check
  CHECK(checked == std::vector<std::string>{"/sys/listResources"});
}
