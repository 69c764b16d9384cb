// The chain's Deliver streams of filtered blocks: the commit watch that tells sends their validation codes, and one
// stream per subscribe_v2. Each resumes after the last block it delivered whenever it breaks. Cursors: "<block>"
// (blocks: resume after that block), "<block>:<index>" (events: resume after that event of that block, counting the
// block's chaincode events of the resource from 1).
#include "fabric_chain.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <charconv>
#include <future>

namespace weft::fabric {

namespace json = boost::json;
using plugin::Failure;
using namespace std::chrono_literals;

// A Deliver stream that resumes after the last block it saw whenever it breaks.
struct FabricChain::Watch {
  uint64_t id = 0;
  std::optional<uint64_t> next; // the next block wanted; none: from the newest
  std::function<void(const protos::FilteredBlock &)> on_block;
  std::function<void(const std::string &)> on_refused; // the peer refused the seek (a cursor past its height, ...)
  uint64_t token = 0;                                  // the live stream's, 0 when none
  uint64_t generation = 0;                             // messages of an older stream are ignored
  uint64_t retry_timer = 0;
  std::chrono::milliseconds backoff = 250ms;
  bool streaming = false; // a block came on the current stream
  std::string error;      // why the last stream ended, "" while fine
  bool stopped = false;
};

struct FabricChain::Sub {
  uint64_t id = 0;
  bool events = false;
  const ChaincodeResource *res = nullptr;
  weft_record_fn on_record = nullptr;
  void *ctx = nullptr;
  uint64_t seq = 0;
  uint64_t watch = 0;
  std::optional<uint64_t> skip_block; // events resumed mid-block: this block's events up to skip_index were delivered
  uint64_t skip_index = 0;
  bool ended = false;
};

bool FabricChain::commit_watch_placed() const {
  return watches_.at(commit_watch_)->next.has_value();
}

std::string FabricChain::deliver_state() const {
  const auto &w = watches_.at(commit_watch_);
  if (w->streaming) return "streaming";
  return w->error.empty() ? "connecting" : w->error;
}

void FabricChain::end_streams() {
  for (auto &[id, sub] : subs_)
    if (!sub->ended) {
      sub->ended = true;
      emit(*sub, json::object{{"kind", "end"}, {"reason", "the chain was closed"}}, "");
    }
  subs_.clear();
  for (auto &[id, w] : watches_) {
    w->stopped = true;
    loop_.cancel_timer(w->retry_timer);
  }
}

// ---- Deliver streams ----

uint64_t FabricChain::open_watch(std::optional<uint64_t> from,
                                 std::function<void(const protos::FilteredBlock &)> on_block,
                                 std::function<void(const std::string &)> on_refused) {
  auto w = std::make_shared<Watch>();
  w->id = next_watch_++;
  w->next = from;
  w->on_block = std::move(on_block);
  w->on_refused = std::move(on_refused);
  watches_[w->id] = w;
  connect(w);
  return w->id;
}

void FabricChain::connect(const std::shared_ptr<Watch> &w) {
  if (w->stopped || closing_) return;
  const uint64_t gen = ++w->generation;
  w->streaming = false;
  auto retry = [this, w](std::string why) {
    w->token = 0;
    w->streaming = false;
    if (w->stopped || closing_) return;
    if (w->error != why)
      host_.warn("Deliver stream: " + why + "; resuming in " + std::to_string(w->backoff.count()) + " ms");
    w->error = std::move(why);
    w->retry_timer = loop_.after(w->backoff, [this, w] { connect(w); });
    w->backoff = std::min(w->backoff * 2, std::chrono::milliseconds(5000));
  };
  common::Envelope seek;
  try {
    seek =
        make_seek(cfg_.channel, service_signing().creator, cfg_.tls_cert_hash, w->next, signer(cfg_.service_account));
  } catch (const std::exception &e) {
    return retry(e.what());
  }
  w->token = link_.deliver(
      0, seek,
      [this, w, gen](const protos::DeliverResponse &r) {
        loop_.post([this, w, gen, r] {
          if (w->stopped || w->generation != gen) return;
          if (r.has_filtered_block()) {
            const auto &b = r.filtered_block();
            w->streaming = true;
            w->error.clear();
            w->backoff = 250ms;
            w->next = b.number() + 1;
            w->on_block(b);
          } else if (r.Type_case() == protos::DeliverResponse::kStatus) {
            w->error = "the peer ended the Deliver stream with status " + common::Status_Name(r.status());
            if (w->on_refused && r.status() != common::SUCCESS && r.status() != common::SERVICE_UNAVAILABLE)
              w->on_refused(w->error);
          }
        });
      },
      [this, w, gen, retry](const grpc::Status &s) {
        loop_.post([this, w, gen, s, retry] {
          if (w->stopped || w->generation != gen) return;
          retry(w->error.empty() || s.error_code() != grpc::StatusCode::OK
                    ? "peer " + cfg_.peers.front().address + ": " +
                          (s.ok() ? std::string("the stream ended") : s.error_message())
                    : w->error);
        });
      });
}

void FabricChain::close_watch(uint64_t id) {
  auto it = watches_.find(id);
  if (it == watches_.end()) return;
  auto w = it->second;
  watches_.erase(it);
  w->stopped = true;
  loop_.cancel_timer(w->retry_timer);
  if (w->token != 0) link_.cancel_deliver(w->token);
}

// ---- Subscriptions ----

void FabricChain::emit(Sub &s, json::object record, const std::string &cursor) {
  record["seq"] = ++s.seq;
  record["cursor"] = cursor;
  const std::string text = json::serialize(record);
  s.on_record(s.ctx, reinterpret_cast<const uint8_t *>(text.data()), text.size());
}

void FabricChain::on_sub_block(const std::shared_ptr<Sub> &sub, const protos::FilteredBlock &block) {
  if (sub->ended) return;
  const uint64_t n = block.number();
  if (!sub->events) {
    emit(*sub,
         json::object{{"kind", "block"},
                      {"number", n},
                      {"hash", ""},
                      {"timestamp", 0},
                      {"txCount", block.filtered_transactions_size()}},
         std::to_string(n));
    return;
  }
  uint64_t index = 0;
  for (const auto &tx : block.filtered_transactions()) {
    if (tx.tx_validation_code() != protos::VALID || !tx.has_transaction_actions()) continue;
    for (const auto &a : tx.transaction_actions().chaincode_actions()) {
      const auto &ev = a.chaincode_event();
      if (ev.event_name().empty() || ev.chaincode_id() != sub->res->chaincode) continue;
      ++index;
      if (sub->skip_block && *sub->skip_block == n && index <= sub->skip_index) continue;
      // Filtered blocks carry an event's name but not its payload.
      emit(*sub,
           json::object{{"kind", "event"},
                        {"block", n},
                        {"txHash", tx.txid()},
                        {"resource", sub->res->name},
                        {"name", as_text(ev.event_name())},
                        {"data", json::object{{"chaincode", ev.chaincode_id()}}}},
           std::to_string(n) + ":" + std::to_string(index));
    }
  }
}

uint64_t FabricChain::next_block_now() {
  std::promise<std::optional<uint64_t>> known;
  loop_.post([this, &known] {
    known.set_value(commit_watch_placed() ? watches_.at(commit_watch_)->next : std::nullopt);
  });
  if (auto next = known.get_future().get()) return *next;
  // A chain just opened: its commit watch has not seen a block yet. The book answers every operation exactly once
  // (the peer's answer, the deadline or the chain's close), and the answer frees the waiter.
  struct Waiter {
    std::promise<std::pair<int32_t, std::string>> answer;
  };
  auto *waiter = new Waiter;
  auto answered = waiter->answer.get_future();
  auto on_answer = [](void *ctx, int32_t status, const char *message, const uint8_t *data, size_t size) {
    auto *w = static_cast<Waiter *>(ctx);
    w->answer.set_value({status, status == WEFT_OK ? std::string(reinterpret_cast<const char *>(data), size)
                                                   : std::string(message != nullptr ? message : "")});
    delete w;
  };
  start(plugin::Completion(on_answer, waiter), static_cast<uint32_t>(cfg_.request_timeout_ms), "{}",
        &FabricChain::block_height);
  auto [status, text] = answered.get();
  if (status != WEFT_OK)
    throw Failure(status == WEFT_E_TIMEOUT ? WEFT_E_UNAVAILABLE : status,
                  "cannot learn the channel's height, where a stream without a cursor starts: " + text);
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  const json::value *h = !ec && v.is_object() ? v.as_object().if_contains("height") : nullptr;
  if (h == nullptr || !h->is_number())
    throw Failure(WEFT_E_UNAVAILABLE, "the channel's height came back as " + text);
  return h->to_number<uint64_t>() + 1; // the newest block's number, then the one after it
}

uint64_t FabricChain::subscribe(const std::string &request, weft_record_fn on_record, void *ctx) {
  boost::system::error_code ec;
  auto v = json::parse(request.empty() ? "{}" : request, ec);
  if (ec || !v.is_object()) throw Failure(WEFT_E_INVALID_ARGUMENT, "the request is not a JSON object");
  const auto &o = v.as_object();
  auto sub = std::make_shared<Sub>();
  sub->on_record = on_record;
  sub->ctx = ctx;
  const std::string kind = str_of(o, "kind");
  if (kind == "events") {
    sub->events = true;
    sub->res = &resource(o);
  } else if (kind != "blocks") {
    throw Failure(WEFT_E_INVALID_ARGUMENT, "kind must be \"blocks\" or \"events\"");
  }
  std::optional<uint64_t> from;
  if (const auto *f = o.if_contains("from"); f != nullptr && !f->is_null()) {
    if (!f->is_string()) throw Failure(WEFT_E_INVALID_ARGUMENT, "from must be a cursor string");
    std::string_view c(f->as_string());
    const auto colon = c.find(':');
    auto block = number_of(c.substr(0, colon));
    std::optional<uint64_t> index;
    if (colon != std::string_view::npos) index = number_of(c.substr(colon + 1));
    if (!block || (colon != std::string_view::npos && (!index || !sub->events)))
      throw Failure(WEFT_E_INVALID_ARGUMENT, "cursor '" + std::string(c) + "' is not one this chain gave");
    if (index) {
      from = *block; // the rest of that block's events, then on
      sub->skip_block = *block;
      sub->skip_index = *index;
    } else {
      from = *block + 1;
    }
  }
  // Without a cursor: from the next block committed after the call. The stream is asked for that block by number.
  // Asking for the newest block and skipping it, as this did before, lost a block committed while the stream was
  // still connecting: it was the newest by then, and skipped.
  if (!from) from = next_block_now();
  std::promise<uint64_t> done;
  loop_.post([this, sub, from, &done]() mutable {
    sub->id = next_sub_++;
    subs_[sub->id] = sub;
    sub->watch = open_watch(
        from, [this, sub](const protos::FilteredBlock &b) { on_sub_block(sub, b); },
        [this, sub](const std::string &why) {
          if (sub->ended) return;
          sub->ended = true;
          emit(*sub, json::object{{"kind", "end"}, {"reason", why}}, "");
          close_watch(sub->watch);
        });
    done.set_value(sub->id);
  });
  return done.get_future().get();
}

void FabricChain::unsubscribe(uint64_t id) {
  auto work = [this, id] {
    auto it = subs_.find(id);
    if (it == subs_.end()) return;
    it->second->ended = true;
    close_watch(it->second->watch);
    subs_.erase(it);
  };
  if (loop_.in_loop()) return work();
  std::promise<void> done;
  loop_.post([&] {
    work();
    done.set_value();
  });
  done.get_future().wait();
}

} // namespace weft::fabric
