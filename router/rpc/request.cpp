#include "request.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <weft/text.hpp>

#include "envelope.h"

namespace weft {

namespace json = boost::json;

namespace {

std::string percent_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && text::hex_value(s[i + 1]) >= 0 && text::hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(text::hex_value(s[i + 1]) * 16 + text::hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(sep, start);
    if (end == std::string_view::npos) end = s.size();
    if (end > start) out.emplace_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

} // namespace

std::optional<std::string> RpcRequest::param(const std::string &name) const {
  if (auto it = query.find(name); it != query.end()) return it->second;
  if (const auto *o = data.if_object())
    if (const auto *v = o->if_contains(name)) {
      if (v->is_string()) return std::string(v->get_string());
      if (v->is_int64() || v->is_uint64() || v->is_bool()) return json::serialize(*v);
    }
  return std::nullopt;
}

std::optional<Error> RpcRequest::check_version() const {
  if (!has_body) return std::nullopt;
  const auto *v = body.if_contains("version");
  if (v == nullptr || v->is_null()) return Error{code::kFieldMissing, "request has no 'version' field; send \"1\""};
  if (!v->is_string() || !supported_request_version(std::string(v->get_string())))
    return Error{code::kVersion, "request version " + json::serialize(*v) + " is not supported; send \"1\""};
  return std::nullopt;
}

Reply reply_ok(const json::value &data) {
  return {HttpResponse{200, "application/json", envelope_ok(data), false, {}}, 0};
}
Reply reply_ok_text(std::string_view data_json) {
  return {HttpResponse{200, "application/json", envelope_ok_text(data_json), false, {}}, 0};
}
Reply reply_error(const Error &e) {
  return {HttpResponse{200, "application/json", envelope_error(e), false, {}}, e.code};
}
Reply reply_not_found() { return {HttpResponse{404, "text/plain", "", true, {}}, 404}; }
Reply reply_login_required(const RpcRequest &r) {
  return {HttpResponse{401, "text/plain", "Login check failed, uri: " + r.path + " token:" + r.authorization, true, {}},
          401};
}
Reply reply_method_not_allowed(const std::string &allow) {
  return {HttpResponse{405, "text/plain", "method not allowed; allowed: " + allow + "\n", false, {{"Allow", allow}}},
          405};
}

Result<RpcRequest> parse_request(const HttpRequest &http, const std::string &url_prefix) {
  RpcRequest r;
  r.method = http.method;
  r.authorization = http.authorization;
  r.remote = http.remote;
  r.loopback = http.loopback;
  r.secure = http.secure;
  std::string_view target = http.target;
  std::string_view path = target.substr(0, target.find('?'));
  if (!url_prefix.empty()) {
    if (!path.starts_with(url_prefix) || (path.size() > url_prefix.size() && path[url_prefix.size()] != '/'))
      return Error{kOutsidePrefix, "outside the url prefix"};
    path.remove_prefix(url_prefix.size());
  }
  r.path = std::string(path);
  if (path.size() + url_prefix.size() < target.size())
    for (const auto &kv : split(target.substr(target.find('?') + 1), '&')) {
      auto eq = kv.find('=');
      r.query[percent_decode(kv.substr(0, eq))] = eq == std::string::npos ? "" : percent_decode(kv.substr(eq + 1));
    }
  r.parts = split(path, '/');
  if (!http.body.empty()) {
    json::error_code ec;
    json::value v = json::parse(http.body, ec);
    if (ec) {
      r.body_error = Error{code::kPostData, "request body is not valid JSON: " + ec.message()};
      return r;
    }
    if (!v.is_object()) {
      r.body_error = Error{code::kPostData, "request body must be a JSON object {\"version\",\"data\"}"};
      return r;
    }
    r.has_body = true;
    r.body = std::move(v.as_object());
    // Moved, not copied: routes read data; of the envelope only "version" is read again.
    if (auto *d = r.body.if_contains("data")) r.data = std::move(*d);
  }
  return r;
}

} // namespace weft
