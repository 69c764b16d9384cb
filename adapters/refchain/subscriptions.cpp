#include "subscriptions.h"

#include "chain_queries.h"
#include "error.h"
#include "runtime.h"

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>

namespace weft::refchain {

namespace json = boost::json;

namespace {

constexpr std::chrono::milliseconds kRemoteCallTimeout{3000};

// A cursor: "<block>" resumes after that whole block, "<block>:<index>" after that event of the block.
struct Position {
  uint64_t next = 0;                   // the block to deliver next
  std::optional<uint32_t> after_index; // within it, the events up to this ordinal are delivered
};

std::optional<uint64_t> parse_u64(std::string_view s) {
  uint64_t v = 0;
  if (s.empty() || s.size() > 20) return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

Position parse_cursor(const std::string &cursor) {
  auto bad = [&] {
    return Error(WEFT_E_INVALID_ARGUMENT,
                 "request: \"from\" is not a cursor of this chain: \"" + cursor.substr(0, 60) + "\"");
  };
  auto colon = cursor.find(':');
  auto block = parse_u64(std::string_view(cursor).substr(0, colon));
  if (!block || *block == UINT64_MAX) throw bad();
  if (colon == std::string::npos) return {*block + 1, std::nullopt};
  auto index = parse_u64(std::string_view(cursor).substr(colon + 1));
  if (!index || *index >= UINT32_MAX) throw bad();
  return {*block, static_cast<uint32_t>(*index)};
}

} // namespace

struct Subscriptions::Sub {
  uint64_t id = 0;
  bool events = false; // kind "events" (else "blocks")
  std::string resource;
  weft_record_fn on_record = nullptr;
  void *ctx = nullptr;
  size_t buffer = kDefaultBuffer;

  // The subscription thread's own state.
  Position pos; // set by subscribe: from the cursor, or the chain's next block at the call
  uint64_t seq = 0;

  // Shared with the commit listener and unsubscribe/close.
  struct Item {
    std::shared_ptr<const BlockView> block; // null: a gap of gap_from..gap_to
    uint64_t gap_from = 0, gap_to = 0;
  };
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Item> queue;
  size_t queued_blocks = 0;
  bool stop = false;    // unsubscribed: nothing more is delivered
  bool closing = false; // the chain closes: an "end" record, then nothing
  std::thread thread;

  bool halted() {
    std::lock_guard lock(mu);
    return stop || closing;
  }
  std::string position_cursor() const {
    if (pos.after_index) return std::to_string(pos.next) + ":" + std::to_string(*pos.after_index);
    return std::to_string(pos.next == 0 ? 0 : pos.next - 1);
  }
  void emit(const char *kind, json::object fields, const std::string &cursor) {
    json::object rec{{"seq", ++seq}, {"cursor", cursor}, {"kind", kind}};
    for (auto &f : fields)
      rec.emplace(f.key(), std::move(f.value()));
    std::string text = json::serialize(rec);
    on_record(ctx, reinterpret_cast<const uint8_t *>(text.data()), text.size());
  }
  void emit_gap(uint64_t from, uint64_t to, const std::string &reason) {
    pos = {to + 1, std::nullopt};
    emit("gap", {{"from", from}, {"to", to}, {"reason", reason}}, std::to_string(to));
  }
};

uint64_t Subscriptions::subscribe(const std::string &request, weft_record_fn on_record, void *ctx) {
  if (on_record == nullptr) throw Error(WEFT_E_INVALID_ARGUMENT, "subscribe_v2: no record callback");
  json::object req = queries::parse_request(request);
  auto sub = std::make_shared<Sub>();
  sub->on_record = on_record;
  sub->ctx = ctx;
  std::string kind = queries::string_field(req, "kind");
  if (kind == "events") {
    sub->events = true;
    sub->resource = queries::string_field(req, "resource");
    if (rt_.contract(sub->resource) == nullptr)
      throw Error(WEFT_E_NOT_FOUND, "no resource named \"" + sub->resource + "\" on this chain");
  } else if (kind != "blocks") {
    throw Error(WEFT_E_INVALID_ARGUMENT, "request: \"kind\" must be \"blocks\" or \"events\"");
  }
  if (req.contains("buffer")) {
    uint64_t b = queries::uint_field(req, "buffer");
    if (b < 1 || b > 1000000) throw Error(WEFT_E_INVALID_ARGUMENT, "request: \"buffer\" must be 1..1000000 blocks");
    sub->buffer = static_cast<size_t>(b);
  }
  std::string from = queries::string_field(req, "from", false);
  const bool from_now = from.empty();
  if (!from_now) {
    sub->pos = parse_cursor(from);
    if (!rt_.remote() && sub->pos.next > rt_.ledger().height() + 1)
      throw Error(WEFT_E_INVALID_ARGUMENT, "request: cursor \"" + from + "\" is ahead of the chain (height " +
                                               std::to_string(rt_.ledger().height()) + ")");
  } else if (rt_.remote()) {
    // The network's height now, before the call returns: a start taken later by the subscription's thread skipped
    // a block committed in between. A network that cannot answer refuses the subscription with its status.
    uint64_t height = rt_.node().call("block_height", {}, kRemoteCallTimeout).at("height").to_number<uint64_t>();
    sub->pos = {height + 1, std::nullopt};
  }
  std::lock_guard lock(mu_);
  if (closed_) throw Error(WEFT_E_UNAVAILABLE, "the chain is closing");
  sub->id = next_id_++;
  if (from_now && !rt_.remote()) {
    // Registered (under mu_) before the head is read: a block committed meanwhile is queued, and skipped if the
    // head already counts it.
    sub->pos = {rt_.ledger().height() + 1, std::nullopt};
  }
  subs_.emplace(sub->id, sub);
  sub->thread = std::thread([this, sub] { rt_.remote() ? run_remote(sub) : run_embedded(sub); });
  return sub->id;
}

void Subscriptions::unsubscribe(uint64_t id) {
  std::shared_ptr<Sub> sub;
  {
    std::lock_guard lock(mu_);
    auto it = subs_.find(id);
    if (it == subs_.end()) return;
    sub = it->second;
    subs_.erase(it);
  }
  {
    std::lock_guard lock(sub->mu);
    sub->stop = true;
  }
  sub->cv.notify_all();
  if (sub->thread.get_id() == std::this_thread::get_id())
    sub->thread.detach(); // from its own callback: the thread ends once the callback returns
  else if (sub->thread.joinable())
    sub->thread.join();
}

void Subscriptions::close() {
  std::map<uint64_t, std::shared_ptr<Sub>> subs;
  {
    std::lock_guard lock(mu_);
    closed_ = true;
    subs.swap(subs_);
  }
  for (auto &[id, sub] : subs) {
    std::lock_guard lock(sub->mu);
    sub->closing = true;
  }
  for (auto &[id, sub] : subs) {
    sub->cv.notify_all();
    if (sub->thread.get_id() == std::this_thread::get_id())
      sub->thread.detach();
    else if (sub->thread.joinable())
      sub->thread.join();
  }
}

void Subscriptions::on_committed(const ExecutedBlock &block) {
  std::vector<std::shared_ptr<Sub>> subs;
  {
    std::lock_guard lock(mu_);
    if (subs_.empty()) return;
    for (auto &[id, s] : subs_)
      subs.push_back(s);
  }
  auto view = std::make_shared<BlockView>();
  view->number = block.header.number;
  view->hash = block.header.hash();
  view->timestamp_ms = block.header.timestamp_ms;
  uint32_t ordinal = 0;
  for (const auto &r : block.receipts)
    for (const auto &e : r.events)
      view->events.push_back({ordinal++, r.tx_hash, e});
  for (auto &s : subs) {
    {
      std::lock_guard lock(s->mu);
      if (s->queued_blocks < s->buffer) {
        s->queue.push_back({view});
        ++s->queued_blocks;
      } else if (!s->queue.empty() && !s->queue.back().block) {
        s->queue.back().gap_to = view->number; // the subscriber is still behind: the gap grows
      } else {
        s->queue.push_back({nullptr, view->number, view->number});
      }
    }
    s->cv.notify_all();
  }
}

std::optional<Subscriptions::BlockView> Subscriptions::read_block(Sub &sub, uint64_t number) {
  Ledger &ledger = rt_.ledger();
  auto header = ledger.header(number);
  if (!header) return std::nullopt;
  BlockView v{number, header->hash(), header->timestamp_ms, {}};
  if (sub.events) {
    uint32_t ordinal = 0;
    for (const auto &h : ledger.block_tx_hashes(number))
      if (auto rec = ledger.find_tx(h))
        for (const auto &e : rec->receipt.events)
          v.events.push_back({ordinal++, h, e});
  }
  return v;
}

void Subscriptions::deliver(Sub &sub, const BlockView &b) {
  if (!sub.events) {
    sub.pos = {b.number + 1, std::nullopt};
    sub.emit("block", {{"number", b.number}, {"hash", to_hex(b.hash)}, {"timestamp", b.timestamp_ms}},
             std::to_string(b.number));
    return;
  }
  for (const auto &e : b.events) {
    if (e.event.resource != sub.resource) continue;
    if (sub.pos.next == b.number && sub.pos.after_index && e.index <= *sub.pos.after_index) continue;
    if (sub.halted()) return;
    boost::system::error_code ec;
    json::value data = json::parse(e.event.data, ec);
    if (ec) data = json::object{};
    sub.pos = {b.number, e.index};
    sub.emit("event",
             {{"block", b.number},
              {"txHash", to_hex(e.tx_hash)},
              {"resource", e.event.resource},
              {"name", e.event.name},
              {"data", std::move(data)}},
             std::to_string(b.number) + ":" + std::to_string(e.index));
  }
  sub.pos = {b.number + 1, std::nullopt};
}

void Subscriptions::run_embedded(const std::shared_ptr<Sub> &sub) {
  try {
    // A resumed subscription replays from the ledger first; live blocks queue meanwhile.
    uint64_t head = rt_.ledger().height();
    while (sub->pos.next <= head && !sub->halted())
      if (auto b = read_block(*sub, sub->pos.next)) deliver(*sub, *b);
    for (;;) {
      std::unique_lock lock(sub->mu);
      sub->cv.wait(lock, [&] { return sub->stop || sub->closing || !sub->queue.empty(); });
      if (sub->stop) return;
      if (sub->closing) break;
      Sub::Item item = std::move(sub->queue.front());
      sub->queue.pop_front();
      if (item.block) --sub->queued_blocks;
      lock.unlock();
      if (!item.block) {
        if (item.gap_to >= sub->pos.next)
          sub->emit_gap(std::max(item.gap_from, sub->pos.next), item.gap_to,
                        "the subscriber fell behind: more than " + std::to_string(sub->buffer) +
                            " blocks were waiting; re-read these blocks if needed");
        continue;
      }
      if (item.block->number < sub->pos.next) continue; // counted in the head when the stream started
      while (sub->pos.next < item.block->number && !sub->halted())
        if (auto b = read_block(*sub, sub->pos.next))
          deliver(*sub, *b);
        else
          break;
      if (!sub->halted()) deliver(*sub, *item.block);
    }
  } catch (const std::exception &e) {
    if (!sub->halted())
      sub->emit("end", {{"reason", std::string("the stream failed: ") + e.what()}}, sub->position_cursor());
    return;
  }
  sub->emit("end", {{"reason", "the chain was closed"}}, sub->position_cursor());
}

void Subscriptions::run_remote(const std::shared_ptr<Sub> &sub) {
  auto interval = std::chrono::milliseconds(std::max<uint64_t>(rt_.config().block_interval_ms, 50));
  auto fetch = [&](uint64_t number) {
    auto &node = rt_.node();
    json::object block = node.call("get_block", {{"number", number}}, kRemoteCallTimeout);
    BlockView v;
    v.number = number;
    v.hash = hash_from_hex(std::string(block.at("hash").as_string()));
    v.timestamp_ms = block.at("timestamp").to_number<uint64_t>();
    if (sub->events) {
      uint32_t ordinal = 0;
      for (const auto &h : block.at("transactions").as_array()) {
        json::object r = node.call("get_receipt", {{"hash", h}}, kRemoteCallTimeout);
        const json::value *events = r.if_contains("events");
        if (events == nullptr) continue;
        for (const auto &e : events->as_array()) {
          const auto &o = e.as_object();
          v.events.push_back({ordinal++, hash_from_hex(std::string(h.as_string())),
                              Event{std::string(o.at("resource").as_string()), std::string(o.at("name").as_string()),
                                    json::serialize(o.at("data"))}});
        }
      }
    }
    return v;
  };
  for (;;) {
    {
      std::unique_lock lock(sub->mu);
      if (sub->stop) return;
      if (sub->closing) break;
    }
    try {
      uint64_t height = rt_.node().call("block_height", {}, kRemoteCallTimeout).at("height").to_number<uint64_t>();
      while (sub->pos.next <= height && !sub->halted()) {
        try {
          BlockView b = fetch(sub->pos.next);
          if (!sub->halted()) deliver(*sub, b);
        } catch (const Error &e) {
          if (e.status != WEFT_E_NOT_FOUND) throw;
          sub->emit_gap(sub->pos.next, sub->pos.next, std::string("the network cannot serve this block: ") + e.what());
        }
      }
    } catch (const std::exception &) {
      // Unreachable or slow network: ask again at the next interval; nothing is skipped.
    }
    std::unique_lock lock(sub->mu);
    sub->cv.wait_for(lock, interval, [&] { return sub->stop || sub->closing; });
  }
  sub->emit("end", {{"reason", "the chain was closed"}}, sub->position_cursor());
}

} // namespace weft::refchain
