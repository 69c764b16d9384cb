// A request as the routes see it (path segments, query, envelope) and the reply they give, with the helpers that
// build WeCross's answers: success and error envelopes, and the bare 404 of an unknown route.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <weft/error.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "http_server.h"

namespace weft {

namespace auth {
struct Session;
}

struct RpcRequest {
  std::string method; // HTTP method as sent
  std::string path;   // without the url prefix and the query
  std::vector<std::string> parts;
  std::map<std::string, std::string> query;
  bool has_body = false;
  boost::json::object body; // the envelope when has_body, its "data" moved out into `data`
  boost::json::value data;  // the envelope's data, or null
  std::string authorization;
  std::string remote;
  std::optional<Error> body_error; // a body that is not a JSON object; answered once the route is known
  bool loopback = false;           // the client is on this machine
  bool secure = false;             // it came over TLS
  std::shared_ptr<const auth::Session> session; // the logged-in user, set by the login check

  // A parameter from the query string first, then from data; nullopt when absent.
  std::optional<std::string> param(const std::string &name) const;
  // Requests WeCross decodes as a RestRequest must carry a version it knows.
  std::optional<Error> check_version() const;
};

struct Reply {
  HttpResponse http;
  int code = 0; // the envelope code, or the HTTP status for transport answers (for the log line and metrics)
};

Reply reply_ok(const boost::json::value &data);
// A success whose data is JSON text the route wrote directly.
Reply reply_ok_text(std::string_view data_json);
Reply reply_error(const Error &e);
// WeCross answers an unknown route (or a known one with a method it does not route) with a bare 404 and closes.
Reply reply_not_found();
// WeCross's answer to a route that needs a login when the token is missing or unknown: 401 text/plain, closed.
Reply reply_login_required(const RpcRequest &r);
// Weft's own routes answer a method they do not serve with 405 and the methods they do.
Reply reply_method_not_allowed(const std::string &allow);

// Splits the target into path and query and parses the envelope (a bad one is kept in body_error). The only
// error is a target outside the url prefix (code kOutsidePrefix).
Result<RpcRequest> parse_request(const HttpRequest &http, const std::string &url_prefix);
// For a target outside the configured url prefix.
inline constexpr int kOutsidePrefix = -404;

} // namespace weft
