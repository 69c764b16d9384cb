#include "router_requests.h"

#include "ledger.h"
#include "transaction.h"
#include "validator_key.h"

#include <boost/json.hpp>

#include <thread>

namespace weft::bench {

namespace json = boost::json;
using namespace weft::refchain;

namespace {
const json::object *parse_object(std::string_view body, json::value &holder) {
  boost::system::error_code ec;
  holder = json::parse(body, ec);
  return ec || !holder.is_object() ? nullptr : &holder.as_object();
}

int64_t int_field(const json::object *o, const char *name, int64_t otherwise = -1) {
  const json::value *v = o ? o->if_contains(name) : nullptr;
  return v && v->is_int64() ? v->as_int64() : v && v->is_uint64() ? static_cast<int64_t>(v->as_uint64()) : otherwise;
}

// The hash of a TransactionResponse (router) or a committed send's result (node), if it has one.
void keep_hash(const json::object *tx, std::vector<std::string> *hashes) {
  if (!hashes || !tx) return;
  const json::value *h = tx->if_contains("hash");
  if (h && h->is_string() && !h->as_string().empty()) hashes->emplace_back(h->as_string());
}

std::string quoted(const std::string &s) {
  return json::serialize(json::value(s));
}
} // namespace

std::string http_get(const std::string &target) {
  return "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
}

std::string http_post(const std::string &target, const std::string &json_body) {
  return "POST " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(json_body.size()) + "\r\n\r\n" + json_body;
}

std::string framed(const std::string &json_body) {
  std::string out(4, '\0');
  auto n = static_cast<uint32_t>(json_body.size());
  for (int i = 0; i < 4; ++i)
    out[i] = static_cast<char>(n >> (24 - 8 * i));
  return out + json_body;
}

std::vector<std::string> sys_test_requests(size_t count) {
  return std::vector<std::string>(count, http_get("/sys/test"));
}

Checker check_http_ok() {
  return [](std::string_view body, int status) {
    Answer a;
    json::value v;
    const json::object *o = parse_object(body, v);
    a.ok = status == 200 && int_field(o, "errorCode") == 0;
    if (!a.ok) a.error = "HTTP " + std::to_string(status) + ": " + std::string(body.substr(0, 200));
    return a;
  };
}

std::vector<std::string> router_get_requests(size_t count, const std::string &key) {
  std::string body = R"({"version":"1","data":{"method":"get","args":[)" + quoted(key) + R"(],"options":{}}})";
  return std::vector<std::string>(count, http_post("/resource/payment/ledger1/store/call", body));
}

std::vector<std::string> node_get_requests(size_t count, const std::string &key) {
  std::vector<std::string> out(count);
  for (size_t i = 0; i < count; ++i)
    out[i] = framed("{\"id\":" + std::to_string(i) + R"(,"op":"call","resource":"store","method":"get","args":[)" +
                    quoted(key) + "]}");
  return out;
}

Checker check_router_tx(std::vector<std::string> *hashes) {
  return [hashes](std::string_view body, int status) {
    Answer a;
    json::value v;
    const json::object *o = parse_object(body, v);
    const json::value *data = o ? o->if_contains("data") : nullptr;
    const json::object *tx = data && data->is_object() ? &data->as_object() : nullptr;
    a.ok = status == 200 && int_field(o, "errorCode") == 0 && int_field(tx, "errorCode") == 0;
    if (a.ok)
      keep_hash(tx, hashes);
    else
      a.error = "HTTP " + std::to_string(status) + ": " + std::string(body.substr(0, 300));
    return a;
  };
}

Checker check_node_tx(std::vector<std::string> *hashes) {
  return [hashes](std::string_view body, int) {
    Answer a;
    json::value v;
    const json::object *o = parse_object(body, v);
    int64_t id = int_field(o, "id");
    a.index = id < 0 ? SIZE_MAX : static_cast<size_t>(id);
    const json::value *result = o ? o->if_contains("result") : nullptr;
    const json::object *tx = result && result->is_object() ? &result->as_object() : nullptr;
    a.ok = int_field(o, "status") == 0 && int_field(tx, "errorCode") == 0;
    if (a.ok)
      keep_hash(tx, hashes);
    else
      a.error = std::string(body.substr(0, 300));
    return a;
  };
}

std::vector<std::string> router_set_requests(size_t count, const std::string &prefix) {
  std::vector<std::string> out(count);
  for (size_t i = 0; i < count; ++i) {
    std::string body = R"({"version":"1","data":{"method":"set","args":[)" + quoted(prefix + std::to_string(i)) +
                       R"(,"v"],"options":{}}})";
    out[i] = http_post("/resource/payment/ledger1/store/sendTransaction", body);
  }
  return out;
}

std::vector<std::string> node_set_requests(WeftNetwork &net, size_t count, const std::string &prefix, uint64_t wait_ms,
                                           unsigned threads) {
  ValidatorKey key = load_or_create_validator_key(net.dir() + "/bench-client.key");
  json::object info = net.ask(0, "chain_info");
  uint64_t chain_id = info.at("chainId").to_number<uint64_t>();
  // As far ahead as the chain allows, so no set expires however many blocks the run takes.
  uint64_t block_limit = info.at("height").to_number<uint64_t>() + kBlockLimitRange;
  std::vector<std::string> out(count);
  std::vector<std::thread> pool;
  threads = std::max(1u, threads);
  for (unsigned t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      for (size_t i = t; i < count; i += threads) {
        Transaction tx;
        tx.chain_id = chain_id;
        tx.nonce = random_nonce();
        tx.block_limit = block_limit;
        tx.resource = "store";
        tx.method = "set";
        tx.args = {prefix + std::to_string(i), "v"};
        tx.signature = sign_digest(key.secret, tx.signing_digest());
        out[i] = framed("{\"id\":" + std::to_string(i) + R"(,"op":"submit","wait_ms":)" + std::to_string(wait_ms) +
                        R"(,"tx":")" + to_hex(tx.encode()) + "\"}");
      }
    });
  for (auto &th : pool)
    th.join();
  return out;
}

std::string check_receipts(const std::vector<Endpoint> &nodes, const std::vector<std::string> &hashes) {
  if (hashes.empty()) return {};
  LoadSpec spec;
  spec.endpoints = nodes;
  spec.connections = nodes.size() * 2;
  spec.max_in_flight_per_conn = 64;
  spec.wire = Wire::Framed;
  for (size_t i = 0; i < hashes.size(); ++i)
    spec.requests.push_back(
        framed("{\"id\":" + std::to_string(i) + R"(,"op":"get_receipt","hash":")" + hashes[i] + "\"}"));
  spec.check = check_node_tx(nullptr);
  spec.answer_timeout = std::chrono::milliseconds(60000);
  LoadResult r = run_load(spec);
  if (r.ok == hashes.size()) return {};
  std::string out = std::to_string(hashes.size() - r.ok) + " of " + std::to_string(hashes.size()) +
                    " acknowledged transactions have no successful receipt";
  for (const auto &e : r.errors)
    out += "\n  " + e;
  return out;
}

} // namespace weft::bench
