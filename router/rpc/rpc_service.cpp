#include "rpc_service.h"

#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <set>

#include "chain_call.h"
#include "envelope.h"

namespace weft {

namespace json = boost::json;
namespace asio = boost::asio;

struct RpcService::Reply {
  HttpResponse http;
  int code = 0;
};

// A request taken apart: its path segments, query parameters and the envelope's `data`.
struct RpcService::Request {
  std::string method;
  std::vector<std::string> parts;
  std::map<std::string, std::string> query;
  bool has_body = false;
  json::object body; // the whole envelope when has_body
  json::value data;  // body["data"], or null
  // A parameter from the query string first, then from data; "" when absent.
  std::string param(const std::string &name) const {
    if (auto it = query.find(name); it != query.end()) return it->second;
    if (const auto *o = data.if_object())
      if (const auto *v = o->if_contains(name)) {
        if (v->is_string()) return std::string(v->get_string());
        if (v->is_int64() || v->is_uint64()) return json::serialize(*v);
      }
    return "";
  }
};

namespace {

using Reply = RpcService::Reply;

Reply ok(json::value data) { return {HttpResponse{200, "application/json", envelope_ok(data), false}, 0}; }
Reply fail(const Error &e) { return {HttpResponse{200, "application/json", envelope_error(e), false}, e.code}; }
// WeCross answers an unknown route with a bare 404 and closes the connection.
Reply not_found() { return {HttpResponse{404, "text/plain", "", true}, 404}; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 &&
               hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
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

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool valid_name(const std::string &s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '-';
  });
}

// Parses an adapter's answer, which must be a JSON object.
Result<json::object> adapter_object(const Result<std::string> &r, const std::string &chain) {
  if (!r.ok()) return r.error();
  json::error_code ec;
  json::value v = json::parse(r.value(), ec);
  if (ec || !v.is_object())
    return Error{code::kChainInternal, "adapter of " + chain + " returned malformed JSON"};
  return std::move(v.as_object());
}

// WeCross's TransactionResponse, built from an adapter's answer with every field type-checked.
Result<json::object> transaction_response(const json::object &a, const std::string &chain) {
  json::object out;
  auto bad = [&](const char *field) {
    return Error{code::kChainInternal, "adapter of " + chain + " returned a bad '" + field + "' field"};
  };
  auto int_of = [](const json::value *v, int64_t dflt) -> std::optional<int64_t> {
    if (v == nullptr || v->is_null()) return dflt;
    if (v->is_int64()) return v->get_int64();
    if (v->is_uint64() && v->get_uint64() <= INT64_MAX) return static_cast<int64_t>(v->get_uint64());
    return std::nullopt;
  };
  auto str_of = [](const json::value *v, const char *dflt) -> std::optional<std::string> {
    if (v == nullptr || v->is_null()) return std::string(dflt);
    if (v->is_string()) return std::string(v->get_string());
    return std::nullopt;
  };
  auto ec = int_of(a.if_contains("errorCode"), 0);
  auto msg = str_of(a.if_contains("message"), "Success");
  auto hash = str_of(a.if_contains("hash"), "");
  auto block = int_of(a.if_contains("blockNumber"), 0);
  auto ts = int_of(a.if_contains("timestamp"), 0);
  if (!ec) return bad("errorCode");
  if (!msg) return bad("message");
  if (!hash) return bad("hash");
  if (!block) return bad("blockNumber");
  if (!ts) return bad("timestamp");
  json::array result;
  if (const auto *r = a.if_contains("result"); r != nullptr && !r->is_null()) {
    if (!r->is_array()) return bad("result");
    for (const auto &e : r->get_array()) {
      if (!e.is_string()) return bad("result");
      result.push_back(e);
    }
  }
  out["errorCode"] = *ec;
  out["message"] = *msg;
  out["hash"] = *hash;
  const auto *extra = a.if_contains("extraHashes");
  out["extraHashes"] = extra != nullptr && extra->is_array() ? *extra : json::value(nullptr);
  out["blockNumber"] = *block;
  out["result"] = std::move(result);
  out["timestamp"] = *ts;
  return out;
}

// Requests that WeCross decodes as a RestRequest must carry a version it knows.
std::optional<Error> check_version(const RpcService::Request &r) {
  if (!r.has_body) return std::nullopt;
  const auto *v = r.body.if_contains("version");
  if (v == nullptr || v->is_null()) return Error{code::kFieldMissing, "request has no 'version' field; send \"1\""};
  if (!v->is_string() || !supported_request_version(std::string(v->get_string())))
    return Error{code::kVersion, "request version " + json::serialize(*v) + " is not supported; send \"1\""};
  return std::nullopt;
}

} // namespace

asio::awaitable<HttpResponse> RpcService::handle(HttpRequest req) {
  auto t0 = std::chrono::steady_clock::now();
  Reply reply;
  try {
    reply = co_await dispatch(req);
  } catch (const std::exception &e) {
    reply = fail({code::kInternal, std::string("internal error: ") + e.what()});
  }
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count();
  spdlog::info("rpc {} {} {} -> {} {} ({} us)", req.remote, req.method, req.target, reply.http.status, reply.code, us);
  co_return reply.http;
}

asio::awaitable<Reply> RpcService::dispatch(const HttpRequest &http) {
  Request r;
  r.method = http.method;
  std::string_view target = http.target;
  std::string_view path = target.substr(0, target.find('?'));
  if (path.size() < target.size())
    for (const auto &kv : split(target.substr(path.size() + 1), '&')) {
      auto eq = kv.find('=');
      r.query[percent_decode(kv.substr(0, eq))] = eq == std::string::npos ? "" : percent_decode(kv.substr(eq + 1));
    }
  r.parts = split(path, '/');
  if (!http.body.empty()) {
    json::error_code ec;
    json::value v = json::parse(http.body, ec);
    if (ec) co_return fail({code::kPostData, "request body is not valid JSON: " + ec.message()});
    if (!v.is_object()) co_return fail({code::kPostData, "request body must be a JSON object {\"version\",\"data\"}"});
    r.has_body = true;
    r.body = std::move(v.as_object());
    if (const auto *d = r.body.if_contains("data")) r.data = *d;
  }
  const auto &p = r.parts;
  if (p.size() == 2 && p[0] == "sys") {
    if (p[1] == "test") co_return ok("OK!");
    if (p[1] == "status") co_return co_await status();
    if (p[1] == "supportedStubs") co_return supported_stubs();
    if (p[1] == "listResources") {
      if (auto e = check_version(r)) co_return fail(*e);
      co_return list_resources(r);
    }
  }
  if (!p.empty() && p[0] == "resource" && (p.size() == 4 || p.size() == 5)) co_return co_await resource(r, p);
  if (p.size() == 2 && p[0] == "trans") {
    if (p[1] == "getTransaction") co_return co_await get_transaction(r);
    if (p[1] == "getBlock") co_return co_await get_block(r);
  }
  if (p.size() == 2 && p[0] == "weft") {
    if (p[1] == "accounts") co_return co_await accounts(r);
    if (p[1] == "proof") co_return co_await get_proof(r);
  }
  co_return not_found();
}

asio::awaitable<Reply> RpcService::status() {
  json::array chains;
  for (const auto &[path, c] : registry_.chains()) {
    json::object o{{"path", path}, {"stubType", c.stub_type}, {"height", nullptr}};
    if (!c.handle) {
      o["status"] = "unavailable: " + c.open_error;
    } else {
      auto h = co_await async_invoke(*c.handle, Verb::BlockHeight, "{}", 2000, asio::use_awaitable);
      auto obj = adapter_object(h, path);
      const json::value *height = obj.ok() ? obj->if_contains("height") : nullptr;
      if (height != nullptr && (height->is_int64() || height->is_uint64())) {
        o["height"] = *height;
        o["status"] = "ok";
      } else {
        o["status"] = obj.ok() ? "adapter answered without a height" : obj.error().message;
      }
    }
    chains.push_back(std::move(o));
  }
  json::array adapters, refused;
  for (const auto &lib : info_.adapters->loaded) {
    json::array types;
    for (const auto &t : lib.stub_types) types.push_back(json::string(t));
    adapters.push_back(json::object{{"name", lib.name}, {"version", lib.version}, {"file", lib.file}, {"stubTypes", types}});
  }
  for (const auto &r : info_.adapters->refused) refused.push_back(json::object{{"file", r.file}, {"reason", r.reason}});
  auto up = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - info_.started).count();
  co_return ok(json::object{{"version", info_.version},
                            {"uptimeSeconds", up},
                            {"zone", info_.zone},
                            {"chains", std::move(chains)},
                            {"adapters", std::move(adapters)},
                            {"refusedAdapters", std::move(refused)}});
}

Reply RpcService::supported_stubs() const {
  std::set<std::string> types;
  for (const auto &lib : info_.adapters->loaded) types.insert(lib.stub_types.begin(), lib.stub_types.end());
  json::array arr;
  for (const auto &t : types) arr.push_back(json::string(t));
  return ok(json::object{{"stubTypes", std::move(arr)}});
}

Reply RpcService::list_resources(const Request &r) const {
  std::string prefix = r.param("path");
  size_t offset = 0, size = SIZE_MAX;
  if (r.query.count("offset") || r.query.count("size")) {
    try {
      offset = std::stoul(r.query.count("offset") ? r.query.at("offset") : "0");
      size = std::stoul(r.query.count("size") ? r.query.at("size") : "1024");
    } catch (...) {
      return fail({code::kUriQuery, "offset and size must be non-negative integers"});
    }
    if (size < 1 || size > 1024) return fail({code::kUriQuery, "size must be 1..1024"});
  }
  json::array details;
  size_t total = 0;
  for (const auto &[path, res] : registry_.resources()) {
    if (!prefix.empty() && res.chain_path != prefix && path != prefix) continue;
    if (total++ < offset || details.size() >= size) continue;
    details.push_back(json::object{{"path", path},
                                   {"distance", 0},
                                   {"stubType", res.stub_type},
                                   {"properties", res.properties},
                                   {"checksum", nullptr}});
  }
  return ok(json::object{{"total", total}, {"resourceDetails", std::move(details)}});
}

asio::awaitable<Reply> RpcService::resource(const Request &r, const std::vector<std::string> &p) {
  std::string verb = lower(p.back());
  if (p.size() == 4) {
    if (verb == "customcommand")
      co_return fail({code::kChainUnsupported, "customCommand is not offered by chain " + p[1] + "." + p[2]});
    co_return fail({code::kUriPath, "Unsupported method: " + p.back()});
  }
  std::string path = p[1] + "." + p[2] + "." + p[3];
  if (!valid_name(p[1]) || !valid_name(p[2]) || !valid_name(p[3]))
    co_return fail({code::kPathFormat, "'" + path + "' is not a resource path zone.chain.resource"});
  const ResourceEntry *res = registry_.resource(path);
  if (res == nullptr) co_return fail({code::kUriPath, "Resource not found: " + path});
  if (verb == "detail")
    co_return ok(json::object{{"path", path},
                              {"distance", 0},
                              {"stubType", res->stub_type},
                              {"properties", res->properties},
                              {"checksum", nullptr}});
  if (verb == "call") co_return co_await transaction(r, *res, false);
  if (verb == "sendtransaction") co_return co_await transaction(r, *res, true);
  if (verb == "customcommand")
    co_return fail({code::kChainUnsupported, "customCommand is not offered by resource " + path});
  co_return fail({code::kUriPath, "Unsupported method: " + p.back()});
}

asio::awaitable<Reply> RpcService::transaction(const Request &r, const ResourceEntry &res, bool send) {
  if (auto e = check_version(r)) co_return fail(*e);
  const json::object *data = r.data.if_object();
  if (data == nullptr)
    co_return fail({code::kPostData, "data must be an object {\"method\",\"args\",\"options\"}"});
  const json::value *method = data->if_contains("method");
  if (method == nullptr || !method->is_string() || method->get_string().empty())
    co_return fail({code::kPostData, "data.method must be a non-empty string"});
  json::array args;
  if (const auto *a = data->if_contains("args"); a != nullptr && !a->is_null()) {
    if (!a->is_array()) co_return fail({code::kPostData, "data.args must be an array of strings"});
    for (const auto &e : a->get_array()) {
      if (!e.is_string()) co_return fail({code::kPostData, "data.args must be an array of strings"});
      args.push_back(e);
    }
  }
  json::object options;
  if (const auto *o = data->if_contains("options"); o != nullptr && !o->is_null()) {
    if (!o->is_object()) co_return fail({code::kPostData, "data.options must be an object"});
    options = o->get_object();
  }
  const ChainEntry *chain = registry_.chain(res.chain_path);
  if (chain == nullptr || !chain->handle)
    co_return fail({code::kChainUnreachable, "chain " + res.chain_path + " is not available" +
                                                 (chain ? ": " + chain->open_error : std::string())});
  std::string account = chain->default_account;
  if (const auto *a = options.if_contains("account")) {
    if (!a->is_string() || a->get_string().empty())
      co_return fail({code::kPostData, "data.options.account must be an account name"});
    account = std::string(a->get_string());
  }
  json::object req{{"resource", res.name}, {"method", *method}, {"args", std::move(args)},
                   {"account", account},   {"options", std::move(options)}};
  auto answer = co_await async_invoke(*chain->handle, send ? Verb::SendTransaction : Verb::Call,
                                      json::serialize(req), info_.request_timeout_ms, asio::use_awaitable);
  auto obj = adapter_object(answer, res.chain_path);
  if (!obj.ok()) co_return fail(obj.error());
  auto out = transaction_response(*obj, res.chain_path);
  if (!out.ok()) co_return fail(out.error());
  co_return ok(std::move(*out));
}

namespace {
// A chain path "zone.chain" from the request's `path` parameter.
Result<const ChainEntry *> chain_param(const Registry &reg, const RpcService::Request &r) {
  std::string path = r.param("path");
  if (path.empty()) return Error{code::kUriQuery, "parameter 'path' (zone.chain) is required"};
  auto parts = split(path, '.');
  if (parts.size() != 2 || !valid_name(parts[0]) || !valid_name(parts[1]))
    return Error{code::kPathFormat, "'" + path + "' is not a chain path zone.chain"};
  const ChainEntry *c = reg.chain(path);
  if (c == nullptr) return Error{code::kUriPath, "chain not found: " + path};
  if (!c->handle) return Error{code::kChainUnreachable, "chain " + path + " is not available: " + c->open_error};
  return c;
}

// /trans answers "not found" in its own range so clients can tell it from a broken chain.
Error trans_error(Error e) {
  if (e.code == code::kChainNotFound) e.code = code::kTransNotFound;
  return e;
}

bool hex_hash(const std::string &h) {
  std::string_view s = h;
  if (s.starts_with("0x") || s.starts_with("0X")) s.remove_prefix(2);
  return !s.empty() && s.size() <= 128 && std::all_of(s.begin(), s.end(), [](char c) { return hex_value(c) >= 0; });
}
} // namespace

asio::awaitable<Reply> RpcService::get_transaction(const Request &r) {
  co_return co_await by_tx_hash(r, Verb::GetReceipt);
}

asio::awaitable<Reply> RpcService::get_proof(const Request &r) { co_return co_await by_tx_hash(r, Verb::GetProof); }

// A chain path and a transaction hash in, the adapter's answer for that transaction out.
asio::awaitable<Reply> RpcService::by_tx_hash(const Request &r, Verb verb) {
  auto chain = chain_param(registry_, r);
  if (!chain.ok()) co_return fail(chain.error());
  std::string hash = r.param("txHash");
  if (!hex_hash(hash)) co_return fail({code::kUriQuery, "parameter 'txHash' must be a hex transaction hash"});
  // GCC 12 mis-compiles braced initialisers inside a co_await expression: build the request first.
  std::string req = json::serialize(json::object{{"hash", hash}});
  auto answer = co_await async_invoke(*(*chain)->handle, verb, req, info_.request_timeout_ms, asio::use_awaitable);
  auto obj = adapter_object(answer, (*chain)->path);
  if (!obj.ok()) co_return fail(trans_error(obj.error()));
  co_return ok(std::move(*obj));
}

asio::awaitable<Reply> RpcService::get_block(const Request &r) {
  if (auto e = check_version(r)) co_return fail(*e);
  auto chain = chain_param(registry_, r);
  if (!chain.ok()) co_return fail(chain.error());
  std::string n = r.param("blockNumber");
  if (n.empty() || n.size() > 19 || !std::all_of(n.begin(), n.end(), ::isdigit))
    co_return fail({code::kTransBlockNumber, "parameter 'blockNumber' must be a non-negative integer"});
  std::string req = json::serialize(json::object{{"number", std::stoull(n)}});
  auto answer = co_await async_invoke(*(*chain)->handle, Verb::GetBlock, req, info_.request_timeout_ms,
                                      asio::use_awaitable);
  auto obj = adapter_object(answer, (*chain)->path);
  if (!obj.ok()) co_return fail(trans_error(obj.error()));
  // WeCross returns the block as a JSON string inside data; its SDK expects exactly that.
  co_return ok(json::string(json::serialize(*obj)));
}

asio::awaitable<Reply> RpcService::accounts(const Request &r) {
  const ChainEntry *chain = nullptr;
  if (!r.param("path").empty()) {
    auto c = chain_param(registry_, r);
    if (!c.ok()) co_return fail(c.error());
    chain = *c;
  }
  json::array out;
  for (const auto &a : info_.accounts) {
    json::object o{{"name", a.name}, {"algorithm", a.algorithm}};
    if (chain != nullptr) {
      std::string req = json::serialize(json::object{{"account", a.name}});
      auto answer = co_await async_invoke(*chain->handle, Verb::AccountInfo, req, info_.request_timeout_ms,
                                          asio::use_awaitable);
      auto obj = adapter_object(answer, chain->path);
      if (obj.ok() && obj->if_contains("address")) o["address"] = obj->at("address");
      else o["error"] = obj.ok() ? "adapter gave no address" : obj.error().message;
      o["default"] = a.name == chain->default_account;
    }
    out.push_back(std::move(o));
  }
  co_return ok(json::object{{"accounts", std::move(out)}});
}

} // namespace weft
