// The /trans family: a transaction's detail, a block, and a page of transactions walking down from a block, in
// WeCross 1.4's shapes (sheet §6b), built by the router from the adapters' typed answers so every chain type
// answers the same shape.
#include <boost/json.hpp>

#include <weft/text.hpp>

#include <charconv>
#include <climits>

#include "routes.h"

namespace weft {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// How many blocks one listTransactions request reads at most before it answers with where to go on.
constexpr uint64_t kMaxBlocksPerPage = 1000;

// /trans answers "not found" in its own range so clients can tell it from a broken chain.
Error trans_error(Error e, int not_found_code = code::kTransNotFound) {
  if (e.code == code::kChainNotFound) e.code = not_found_code;
  return e;
}

std::optional<int64_t> integer(const std::optional<std::string> &s) {
  if (!s || s->empty()) return std::nullopt;
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
  if (ec != std::errc() || p != s->data() + s->size()) return std::nullopt;
  return v;
}

json::value hex_to_base64(const std::optional<std::string> &hex) {
  if (!hex || !text::is_hex(*hex) || text::strip_0x(*hex).size() % 2 != 0) return nullptr;
  std::string_view h = text::strip_0x(*hex);
  std::string bytes;
  for (size_t i = 0; i < h.size(); i += 2)
    bytes.push_back(static_cast<char>(text::hex_value(h[i]) * 16 + text::hex_value(h[i + 1])));
  static constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t n = static_cast<uint8_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) n |= static_cast<uint8_t>(bytes[i + 2]);
    out += kB64[n >> 18 & 63];
    out += kB64[n >> 12 & 63];
    out += i + 1 < bytes.size() ? kB64[n >> 6 & 63] : '=';
    out += i + 2 < bytes.size() ? kB64[n & 63] : '=';
  }
  return json::string(out);
}

json::array string_array(const std::vector<std::string> &v) {
  json::array a;
  for (const auto &s : v) a.emplace_back(s);
  return a;
}

asio::awaitable<Reply> get_transaction(RpcContext &ctx, const RpcRequest &r) {
  auto chain = chain_param(ctx, r);
  if (!chain.ok()) co_return reply_error(chain.error());
  auto hash = r.param("txHash");
  if (!hash || !text::is_hex(*hash, 128))
    co_return reply_error({code::kUriQuery, "parameter 'txHash' must be a hex transaction hash"});
  auto block_param = r.param("blockNumber");
  auto block_number = integer(block_param);
  if (block_param && !block_param->empty() && !block_number)
    co_return reply_error({code::kUriQuery, "parameter 'blockNumber' must be an integer"});
  auto rec = co_await ctx.chains.receipt(*chain, *hash);
  if (!rec.ok()) co_return reply_error(trans_error(rec.error()));
  const Receipt &t = *rec;
  bool failed = t.error_code != 0;
  json::object o{
      {"path", t.resource.empty() ? json::value(nullptr) : json::value((*chain)->path + "." + t.resource)},
      {"username", nullptr},
      {"blockNumber", block_number ? *block_number : static_cast<int64_t>(t.block_number)},
      {"txHash", *hash},
      {"xaTransactionID", t.xa_transaction_id.empty() ? "0" : t.xa_transaction_id},
      {"xaTransactionSeq", t.xa_transaction_seq},
      {"method", t.method.empty() ? json::value(nullptr) : json::value(t.method)},
      {"args", string_array(t.args)},
      {"result", string_array(t.result)},
      {"byProxy", false},
      {"txBytes", hex_to_base64(t.tx_bytes)},
      {"receiptBytes", hex_to_base64(t.receipt_bytes)},
      {"errorCode", failed ? json::value(t.error_code) : json::value(nullptr)},
      {"message", failed ? json::value(t.message) : json::value(nullptr)},
      {"timestamp", t.timestamp},
      {"native", t.native}};
  co_return reply_ok(o);
}

json::object block_json(const Block &b) {
  json::object header{{"number", b.header.number},
                      {"prevHash", b.header.prev_hash},
                      {"hash", b.header.hash},
                      {"stateRoot", b.header.state_root},
                      {"transactionRoot", b.header.transaction_root},
                      {"receiptRoot", b.header.receipt_root},
                      {"timestamp", b.header.timestamp}};
  return json::object{{"blockHeader", std::move(header)},
                      {"transactionsHashes", string_array(b.tx_hashes)},
                      {"transactionsWithDetail", json::array()},
                      {"native", b.native}};
}

asio::awaitable<Reply> get_block(RpcContext &ctx, const RpcRequest &r) {
  if (auto e = r.check_version()) co_return reply_error(*e);
  auto chain = chain_param(ctx, r);
  if (!chain.ok()) co_return reply_error(chain.error());
  auto n = integer(r.param("blockNumber"));
  if (!n || *n < 0)
    co_return reply_error({code::kTransBlockNumber, "parameter 'blockNumber' must be a non-negative integer"});
  auto b = co_await ctx.chains.block(*chain, static_cast<uint64_t>(*n));
  if (!b.ok()) co_return reply_error(trans_error(b.error()));
  // WeCross returns the block as a JSON string inside data; its SDK expects exactly that.
  co_return reply_ok(json::string(json::serialize(block_json(*b))));
}

// Walks down from blockNumber (or the head) collecting up to `size` transactions, each with its detail.
asio::awaitable<Reply> list_transactions(RpcContext &ctx, const RpcRequest &r) {
  auto fits = [](std::optional<int64_t> v) { return v && *v >= INT32_MIN && *v <= INT32_MAX; };
  auto block = integer(r.param("blockNumber")), offset = integer(r.param("offset")), size = integer(r.param("size"));
  auto chain = chain_param(ctx, r);
  if (!chain.ok()) co_return reply_error(chain.error());
  if (!fits(block) || !fits(offset) || !fits(size))
    co_return reply_error({code::kUriQuery, "parameters blockNumber, offset and size must be 32-bit integers"});
  if (*offset < 0 || *size < 1 || *size > 1024)
    co_return reply_error({code::kUriQuery, "offset must be >= 0 and size 1..1024"});
  auto height = co_await ctx.chains.height(*chain);
  if (!height.ok()) co_return reply_error(Error{code::kTransBlockNumber, "cannot read the height of " + (*chain)->path + ": " +
                                                           height.error().message});
  int64_t n = *block;
  int64_t skip = *offset;
  if (n < 0 || static_cast<uint64_t>(n) > *height) n = static_cast<int64_t>(*height), skip = 0;
  json::array txs, details;
  int64_t next_block = -1, next_offset = 0;
  uint64_t visited = 0;
  for (bool first = true; n >= 0; --n, first = false) {
    if (visited++ == kMaxBlocksPerPage) {
      next_block = n, next_offset = 0;
      break;
    }
    auto b = co_await ctx.chains.block(*chain, static_cast<uint64_t>(n));
    if (!b.ok()) co_return reply_error(trans_error(b.error(), code::kTransBlock));
    const auto &hashes = b->tx_hashes;
    if (first && skip > 0 && static_cast<size_t>(skip) > hashes.size())
      co_return reply_error({code::kTransBlock, "offset " + std::to_string(skip) + " is past the " +
                                        std::to_string(hashes.size()) + " transactions of block " + std::to_string(n)});
    size_t i = first ? static_cast<size_t>(skip) : 0;
    for (; i < hashes.size() && static_cast<int64_t>(txs.size()) < *size; ++i) {
      if (hashes[i].empty()) continue;
      txs.push_back(json::object{{"txHash", hashes[i]}, {"blockNumber", n}});
      json::object d{{"txHash", hashes[i]}, {"blockNumber", n}, {"accountIdentity", nullptr},
                     {"path", nullptr},     {"method", nullptr},  {"xaTransactionID", nullptr}};
      auto rec = co_await ctx.chains.receipt(*chain, hashes[i]);
      if (rec.ok()) {
        if (!rec->from.empty()) d["accountIdentity"] = rec->from;
        if (!rec->resource.empty()) d["path"] = (*chain)->path + "." + rec->resource;
        if (!rec->method.empty()) d["method"] = rec->method;
        if (!rec->xa_transaction_id.empty()) d["xaTransactionID"] = rec->xa_transaction_id;
      }
      details.push_back(std::move(d));
    }
    if (static_cast<int64_t>(txs.size()) >= *size) {
      // Where the next page starts: later in this block, or at the top of the one below.
      if (i < hashes.size()) next_block = n, next_offset = static_cast<int64_t>(i);
      else next_block = n - 1, next_offset = 0;
      break;
    }
  }
  co_return reply_ok(json::object{{"nextBlockNumber", next_block},
                                  {"nextOffset", next_offset},
                                  {"transactions", std::move(txs)},
                                  {"transactionWithDetails", std::move(details)}});
}

} // namespace

void add_trans_routes(RouteTable &t) {
  t.add({kGet | kPost, "/trans/getTransaction", get_transaction, true, "trans", PathMatch::Exact, true});
  t.add({kGet | kPost, "/trans/getBlock", get_block, true, "trans", PathMatch::Exact, true});
  t.add({kGet | kPost, "/trans/listTransactions", list_transactions, true, "trans", PathMatch::Exact, true});
}

} // namespace weft
