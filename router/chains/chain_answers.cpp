#include "chain_answers.h"

#include <boost/json/parse.hpp>

#include <limits>

namespace weft {

namespace json = boost::json;

namespace {

// Reads fields of one answer object; the first bad field becomes the error.
class Fields {
 public:
  Fields(const json::object &o, const std::string &chain, const char *what) : o_(o), chain_(chain), what_(what) {}

  std::optional<Error> error;

  int64_t integer(const char *key, std::optional<int64_t> dflt) {
    const json::value *v = o_.if_contains(key);
    if (v == nullptr || v->is_null()) return dflt ? *dflt : bad(key, "is missing");
    if (v->is_int64()) return v->get_int64();
    if (v->is_uint64() && v->get_uint64() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      return static_cast<int64_t>(v->get_uint64());
    return bad(key, "is not an integer");
  }
  uint64_t natural(const char *key, std::optional<uint64_t> dflt) {
    const json::value *v = o_.if_contains(key);
    if (v == nullptr || v->is_null()) return dflt ? *dflt : bad(key, "is missing");
    if (v->is_uint64()) return v->get_uint64();
    if (v->is_int64() && v->get_int64() >= 0) return static_cast<uint64_t>(v->get_int64());
    return bad(key, "is not a non-negative integer");
  }
  std::string string(const char *key, std::optional<std::string> dflt) {
    const json::value *v = o_.if_contains(key);
    if (v == nullptr || v->is_null()) {
      if (dflt) return *dflt;
      bad(key, "is missing");
      return "";
    }
    if (v->is_string()) return std::string(v->get_string());
    bad(key, "is not a string");
    return "";
  }
  std::optional<std::string> optional_string(const char *key) {
    const json::value *v = o_.if_contains(key);
    if (v == nullptr || v->is_null()) return std::nullopt;
    if (v->is_string()) return std::string(v->get_string());
    bad(key, "is not a string");
    return std::nullopt;
  }
  // A string under the first of several names the adapter may use.
  std::string first_string(std::initializer_list<const char *> keys) {
    for (const char *k : keys)
      if (o_.if_contains(k) != nullptr) return string(k, "");
    return "";
  }
  std::vector<std::string> strings(const char *key) {
    std::vector<std::string> out;
    const json::value *v = o_.if_contains(key);
    if (v == nullptr || v->is_null()) return out;
    if (!v->is_array()) {
      bad(key, "is not an array of strings");
      return out;
    }
    for (const auto &e : v->get_array()) {
      if (!e.is_string()) {
        bad(key, "is not an array of strings");
        return {};
      }
      out.emplace_back(e.get_string());
    }
    return out;
  }

 private:
  int64_t bad(const char *key, const char *why) {
    if (!error)
      error = Error{code::kChainInternal,
                    "adapter of " + chain_ + " answered a " + what_ + " whose '" + key + "' " + why};
    return 0;
  }
  const json::object &o_;
  const std::string &chain_;
  const char *what_;
};

} // namespace

Result<json::object> parse_object(std::string_view text, const std::string &chain) {
  json::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object())
    return Error{code::kChainInternal, "adapter of " + chain + " returned malformed JSON (an object was expected)"};
  return std::move(v.as_object());
}

Result<TxOutcome> parse_tx_outcome(std::string_view text, const std::string &chain) {
  auto o = parse_object(text, chain);
  if (!o.ok()) return o.error();
  Fields f(*o, chain, "transaction response");
  TxOutcome t;
  t.error_code = f.integer("errorCode", 0);
  t.message = f.string("message", std::string("Success"));
  t.hash = f.string("hash", std::string());
  t.block_number = f.integer("blockNumber", 0);
  t.timestamp = f.integer("timestamp", 0);
  t.result = f.strings("result");
  const json::value *extra = o->if_contains("extraHashes");
  t.extra_hashes = extra != nullptr && extra->is_array() ? *extra : json::value(nullptr);
  if (f.error) return *f.error;
  return t;
}

Result<Block> parse_block(std::string_view text, const std::string &chain) {
  auto o = parse_object(text, chain);
  if (!o.ok()) return o.error();
  Fields f(*o, chain, "block");
  Block b;
  b.header.number = f.natural("number", std::nullopt);
  b.header.hash = f.string("hash", std::nullopt);
  b.header.prev_hash = f.first_string({"parentHash", "prevHash"});
  b.header.transaction_root = f.first_string({"transactionsRoot", "transactionRoot"});
  b.header.receipt_root = f.first_string({"receiptsRoot", "receiptRoot"});
  b.header.state_root = f.first_string({"stateRoot", "stateHash"});
  b.header.timestamp = f.integer("timestamp", 0);
  b.tx_hashes = f.strings("transactions");
  if (f.error) return *f.error;
  b.native = std::move(*o);
  return b;
}

Result<Receipt> parse_receipt(std::string_view text, const std::string &chain) {
  auto o = parse_object(text, chain);
  if (!o.ok()) return o.error();
  Fields f(*o, chain, "receipt");
  Receipt r;
  r.tx_hash = f.first_string({"txHash", "hash"});
  r.block_number = f.natural("blockNumber", std::nullopt);
  r.error_code = f.integer("errorCode", 0);
  r.message = f.string("message", std::string());
  r.resource = f.string("resource", std::string());
  r.method = f.string("method", std::string());
  r.args = f.strings("args");
  r.result = f.strings("result");
  r.from = f.string("from", std::string());
  r.timestamp = f.integer("timestamp", 0);
  r.xa_transaction_id = f.string("xaTransactionID", std::string());
  r.xa_transaction_seq = f.integer("xaTransactionSeq", 0);
  r.tx_bytes = f.optional_string("txBytes");
  r.receipt_bytes = f.optional_string("receiptBytes");
  if (f.error) return *f.error;
  r.native = std::move(*o);
  return r;
}

Result<uint64_t> parse_height(std::string_view text, const std::string &chain) {
  auto o = parse_object(text, chain);
  if (!o.ok()) return o.error();
  Fields f(*o, chain, "block height");
  uint64_t h = f.natural("height", std::nullopt);
  if (f.error) return *f.error;
  return h;
}

Result<ChainInfo> parse_chain_info(std::string_view text, const std::string &chain) {
  auto o = parse_object(text, chain);
  if (!o.ok()) return o.error();
  Fields f(*o, chain, "chain_info");
  ChainInfo c;
  c.height = f.natural("height", std::nullopt);
  c.block_time_ms = f.integer("blockTime", std::nullopt);
  c.finality_blocks = f.natural("finalityBlocks", std::nullopt);
  c.block_interval_ms = f.natural("blockIntervalMs", std::nullopt);
  if (f.error) return *f.error;
  if (const auto *x = o->if_contains("xaStartInStep")) {
    if (!x->is_bool())
      return Error{code::kChainInternal, "adapter of " + chain + ": chain_info's xaStartInStep is not a boolean"};
    c.xa_start_in_step = x->as_bool();
  }
  return c;
}

Result<std::vector<ListedResource>> parse_resources(std::string_view text, const std::string &chain) {
  auto o = parse_object(text, chain);
  if (!o.ok()) return o.error();
  const json::value *list = o->if_contains("resources");
  if (list == nullptr || !list->is_array())
    return Error{code::kChainInternal, "adapter of " + chain + " listed no 'resources' array"};
  std::vector<ListedResource> out;
  for (const auto &item : list->get_array()) {
    const auto *r = item.if_object();
    const json::value *name = r != nullptr ? r->if_contains("name") : nullptr;
    if (name == nullptr || !name->is_string() || name->get_string().empty())
      return Error{code::kChainInternal, "adapter of " + chain + " listed a resource without a name"};
    ListedResource lr;
    lr.name = std::string(name->get_string());
    if (const auto *p = r->if_contains("properties"); p != nullptr && p->is_object()) lr.properties = p->get_object();
    out.push_back(std::move(lr));
  }
  return out;
}

Result<std::string> parse_address(std::string_view text, const std::string &chain) {
  auto o = parse_object(text, chain);
  if (!o.ok()) return o.error();
  Fields f(*o, chain, "account_info answer");
  std::string a = f.string("address", std::nullopt);
  if (f.error) return *f.error;
  return a;
}

} // namespace weft
