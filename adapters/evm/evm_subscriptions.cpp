// subscribe_v2 on an EVM chain: new blocks, or one resource's decoded events, as numbered records. Only blocks at the
// configured confirmation depth are delivered, so a reorg under that depth never reaches a subscriber. Blocks come
// from eth_getBlockByNumber, events from eth_getLogs over bounded ranges; both are pumped on the chain's loop at every
// poll and right after each answer, so a subscriber that starts from an old cursor catches up as fast as the node
// answers. Cursors: "<block>" (blocks and gaps: resume after that block), "<block>:<logIndex>" (events: resume after
// that log of that block).
#include "evm_chain.h"
#include "evm_util.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <charconv>
#include <future>

namespace weft::evm {

namespace json = boost::json;
using plugin::Failure;

namespace {

constexpr uint64_t kBlocksPerFetch = 32;   // eth_getBlockByNumber per batch
constexpr uint64_t kLogBlocksPerFetch = 500; // block range of one eth_getLogs (nodes cap it, often at 1000 or more)

std::optional<uint64_t> number_of(std::string_view s) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

} // namespace

struct EvmChain::Sub {
  uint64_t id = 0;
  bool events = false;
  const ResourceConfig *res = nullptr;
  weft_record_fn on_record = nullptr;
  void *ctx = nullptr;
  uint64_t seq = 0;
  std::optional<uint64_t> next_block;    // unknown until the head is: "the next block committed after the call"
  std::optional<uint64_t> after_log;     // events: resume after this log index of next_block
  uint64_t buffer = 1024;
  bool busy = false;
};

void EvmChain::emit(Sub &s, json::object record, const std::string &cursor) {
  record["seq"] = ++s.seq;
  record["cursor"] = cursor;
  const std::string text = json::serialize(record);
  s.on_record(s.ctx, reinterpret_cast<const uint8_t *>(text.data()), text.size());
}

uint64_t EvmChain::subscribe(const std::string &request, weft_record_fn on_record, void *ctx) {
  boost::system::error_code ec;
  auto v = json::parse(request.empty() ? "{}" : request, ec);
  if (ec || !v.is_object()) throw Failure(WEFT_E_INVALID_ARGUMENT, "the request is not a JSON object");
  const auto &o = v.as_object();
  auto sub = std::make_shared<Sub>();
  sub->on_record = on_record;
  sub->ctx = ctx;
  const auto *kind = o.if_contains("kind");
  const std::string k = kind && kind->is_string() ? std::string(kind->as_string()) : "";
  if (k == "events")
    sub->events = true;
  else if (k != "blocks")
    throw Failure(WEFT_E_INVALID_ARGUMENT, "kind must be \"blocks\" or \"events\"");
  if (const auto *b = o.if_contains("buffer")) {
    if (!b->is_int64() || b->as_int64() < 1) throw Failure(WEFT_E_INVALID_ARGUMENT, "buffer must be a positive integer");
    sub->buffer = static_cast<uint64_t>(b->as_int64());
  }
  std::optional<uint64_t> from_block, from_log;
  if (const auto *f = o.if_contains("from"); f != nullptr && !f->is_null()) {
    if (!f->is_string()) throw Failure(WEFT_E_INVALID_ARGUMENT, "from must be a cursor string");
    std::string_view c(f->as_string());
    const auto colon = c.find(':');
    from_block = number_of(c.substr(0, colon));
    if (colon != std::string_view::npos) from_log = number_of(c.substr(colon + 1));
    if (!from_block || (colon != std::string_view::npos && (!from_log || !sub->events)))
      throw Failure(WEFT_E_INVALID_ARGUMENT, "cursor '" + std::string(c) + "' is not one this chain gave");
  }
  const std::string resource = o.contains("resource") && o.at("resource").is_string()
                                   ? std::string(o.at("resource").as_string())
                                   : std::string();
  if (!loop_.in_loop()) {
    // Cursors are checked against the chain's final block: learn the head first if no poll has yet (a node that
    // does not answer leaves the check to the first head the subscription sees).
    std::promise<void> head;
    loop_.post([this, &head] {
      if (head_.seen != std::chrono::steady_clock::time_point{}) return head.set_value();
      rpc_.call("eth_getBlockByNumber", json::array{"latest", false}, std::chrono::milliseconds(cfg_.request_timeout_ms),
                [this, &head](RpcAnswer a) {
                  if (!closing_ && a.ok() && a.result.is_object()) update_head(a.result.as_object());
                  head.set_value();
                });
    });
    head.get_future().wait();
  }
  std::promise<uint64_t> done;
  std::exception_ptr error;
  auto work = [&] {
    try {
      if (sub->events) {
        json::object req{{"resource", resource}};
        sub->res = &this->resource(req); // throws NOT_FOUND with the known names
      }
      const bool head_known = head_.seen != std::chrono::steady_clock::time_point{};
      const uint64_t safe = head_.number >= cfg_.confirmations ? head_.number - cfg_.confirmations : 0;
      if (from_block) {
        if (head_known && *from_block > safe)
          throw Failure(WEFT_E_INVALID_ARGUMENT, "cursor block " + std::to_string(*from_block) +
                                                     " is ahead of the chain's final block " + std::to_string(safe));
        if (from_log) {
          sub->next_block = *from_block;
          sub->after_log = *from_log;
        } else {
          sub->next_block = *from_block + 1;
        }
      } else if (head_known) {
        sub->next_block = safe + 1;
      }
      sub->id = next_sub_++;
      subs_[sub->id] = sub;
      // The first records come on a later turn of the loop, after the caller has the id.
      loop_.post([this, s = sub] { pump(s); });
      done.set_value(sub->id); // last: the caller's locals this lambda refers to may go once it is set
    } catch (...) {
      error = std::current_exception();
      done.set_value(0); // last, as above
    }
  };
  if (loop_.in_loop()) {
    work();
  } else {
    loop_.post(work);
  }
  const uint64_t id = done.get_future().get();
  if (error) std::rethrow_exception(error);
  return id;
}

void EvmChain::unsubscribe(uint64_t id) {
  if (loop_.in_loop()) {
    subs_.erase(id);
    return;
  }
  // Records are delivered on the loop only: once the loop has run this, none follows.
  std::promise<void> gone;
  loop_.post([this, id, &gone] {
    subs_.erase(id);
    gone.set_value();
  });
  gone.get_future().wait();
}

void EvmChain::pump_all() {
  for (auto &[id, s] : subs_) pump(s);
}

void EvmChain::pump(const std::shared_ptr<Sub> &sub) {
  if (closing_ || sub->busy || !subs_.contains(sub->id)) return;
  if (head_.seen == std::chrono::steady_clock::time_point{}) return;
  const uint64_t safe = head_.number >= cfg_.confirmations ? head_.number - cfg_.confirmations : 0;
  if (!sub->next_block) sub->next_block = safe + 1;
  uint64_t from = *sub->next_block;
  if (from > safe) return;
  if (!sub->events && safe - from + 1 > sub->buffer) {
    // Further behind than the subscriber's buffer: the blocks that do not fit become one gap.
    const uint64_t to = safe - sub->buffer;
    emit(*sub, json::object{{"kind", "gap"}, {"from", from}, {"to", to},
                           {"reason", "more than " + std::to_string(sub->buffer) + " blocks behind the chain"}},
         std::to_string(to));
    sub->next_block = from = to + 1;
  }
  sub->busy = true;
  if (!sub->events) {
    const uint64_t to = std::min(safe, from + kBlocksPerFetch - 1);
    std::vector<std::pair<std::string, json::array>> reqs;
    for (uint64_t n = from; n <= to; ++n) {
      char q[24];
      std::snprintf(q, sizeof q, "0x%llx", static_cast<unsigned long long>(n));
      reqs.emplace_back("eth_getBlockByNumber", json::array{q, false});
    }
    rpc_.batch(std::move(reqs), std::chrono::milliseconds(cfg_.request_timeout_ms),
               [this, sub, from](std::vector<RpcAnswer> answers) {
                 sub->busy = false;
                 if (closing_ || !subs_.contains(sub->id)) return;
                 for (size_t i = 0; i < answers.size(); ++i) {
                   const auto *b = answers[i].ok() ? answers[i].result.if_object() : nullptr;
                   if (b == nullptr) break; // retried at the next poll, from this block
                   const uint64_t n = from + i;
                   emit(*sub, json::object{{"kind", "block"},
                                           {"number", n},
                                           {"hash", b->contains("hash") ? b->at("hash") : json::value("")},
                                           {"timestamp", util::parse_qty(b->if_contains("timestamp")).value_or(0) * 1000}},
                        std::to_string(n));
                   if (!subs_.contains(sub->id)) return; // unsubscribed from its own callback
                   sub->next_block = n + 1;
                 }
                 pump(sub);
               });
    return;
  }
  const uint64_t to = std::min(safe, from + kLogBlocksPerFetch - 1);
  char qf[24], qt[24];
  std::snprintf(qf, sizeof qf, "0x%llx", static_cast<unsigned long long>(from));
  std::snprintf(qt, sizeof qt, "0x%llx", static_cast<unsigned long long>(to));
  json::object filter{{"fromBlock", qf}, {"toBlock", qt}, {"address", lower_address(sub->res->address)}};
  rpc_.call("eth_getLogs", json::array{std::move(filter)}, std::chrono::milliseconds(cfg_.request_timeout_ms),
            [this, sub, from, to](RpcAnswer a) {
              sub->busy = false;
              if (closing_ || !subs_.contains(sub->id)) return;
              if (!a.ok() || !a.result.is_array()) {
                if (a.ok()) host_.warn("eth_getLogs answered something that is not a list; retrying at the next poll");
                return;
              }
              struct Log {
                uint64_t block, index;
                const json::object *o;
              };
              std::vector<Log> logs;
              for (const auto &lv : a.result.as_array()) {
                const auto *l = lv.if_object();
                if (l == nullptr) continue;
                if (const auto *rm = l->if_contains("removed"); rm && rm->is_bool() && rm->as_bool()) continue;
                auto b = util::parse_qty(l->if_contains("blockNumber"));
                auto i = util::parse_qty(l->if_contains("logIndex"));
                if (!b || !i || *b < from || *b > to) continue;
                if (*b == from && sub->after_log && *i <= *sub->after_log) continue;
                logs.push_back({*b, *i, l});
              }
              std::sort(logs.begin(), logs.end(),
                        [](const Log &x, const Log &y) { return std::tie(x.block, x.index) < std::tie(y.block, y.index); });
              for (const auto &log : logs) {
                const auto &l = *log.o;
                std::vector<Hash256> topics;
                if (const auto *t = l.if_contains("topics"); t && t->is_array())
                  for (const auto &tv : t->as_array()) {
                    auto bytes = tv.is_string() ? from_hex(std::string_view(tv.as_string())) : Result<Bytes>(Error{});
                    if (bytes.ok() && bytes->size() == 32) {
                      Hash256 h;
                      std::copy(bytes->begin(), bytes->end(), h.begin());
                      topics.push_back(h);
                    }
                  }
                const auto *dv = l.if_contains("data");
                auto data = dv && dv->is_string() ? from_hex(std::string_view(dv->as_string())) : Result<Bytes>(Bytes{});
                json::object record{{"kind", "event"},
                                    {"block", log.block},
                                    {"txHash", l.contains("transactionHash") ? l.at("transactionHash") : json::value("")},
                                    {"resource", sub->res->name},
                                    {"logIndex", log.index}};
                auto decoded = data.ok() ? abi::decode_log(*sub->res->abi, topics, *data)
                                         : Result<abi::DecodedLog>(Error{0, "data is not hex"});
                if (decoded.ok()) {
                  record["name"] = decoded->event;
                  json::object fields;
                  for (auto &[k, val] : decoded->fields) fields[k] = val;
                  record["data"] = std::move(fields);
                } else {
                  record["name"] = "";
                  record["data"] = json::object{{"topics", l.contains("topics") ? l.at("topics") : json::array{}},
                                                {"data", dv ? *dv : json::value("0x")},
                                                {"error", decoded.error().message}};
                }
                emit(*sub, std::move(record), std::to_string(log.block) + ":" + std::to_string(log.index));
                if (!subs_.contains(sub->id)) return;
              }
              sub->next_block = to + 1;
              sub->after_log.reset();
              pump(sub);
            });
}

void EvmChain::end_subscriptions(const std::string &reason) {
  auto subs = std::move(subs_);
  for (auto &[id, s] : subs) {
    const std::string cursor = s->next_block && *s->next_block > 0 ? std::to_string(*s->next_block - 1) : "0";
    emit(*s, json::object{{"kind", "end"}, {"reason", reason}}, cursor);
  }
}

} // namespace weft::evm
