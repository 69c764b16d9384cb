#include "op_book.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>

namespace weft::evm {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {
constexpr uint32_t kDefaultDeadlineMs = 30000;

std::string hash_details(const std::string &hash) { return json::serialize(json::object{{"hash", hash}}); }
} // namespace

uint64_t OpBook::start(plugin::Completion done, uint32_t deadline_ms, const std::string &request, Body body) {
  auto op = std::make_shared<Op>();
  op->id = next_.fetch_add(1);
  op->done = std::move(done);
  const auto budget = std::chrono::milliseconds(deadline_ms == 0 ? kDefaultDeadlineMs : deadline_ms);
  op->deadline = Clock::now() + budget;
  loop_.post([this, op, budget, request, body = std::move(body)] {
    if (closed_) {
      op->done.fail(WEFT_E_CANCELLED, "the chain is closing");
      return;
    }
    ops_[op->id] = op;
    op->timer = loop_.after(budget, [this, op] {
      if (op->hash.empty())
        fail(op, WEFT_E_TIMEOUT, texts_.timeout);
      else
        fail(op, WEFT_E_TIMEOUT, "transaction " + op->hash + " " + texts_.unsettled + "; it may still commit",
             hash_details(op->hash));
    });
    try {
      boost::system::error_code ec;
      auto v = json::parse(request.empty() ? "{}" : request, ec);
      if (ec || !v.is_object()) throw plugin::Failure(WEFT_E_INVALID_ARGUMENT, "the request is not a JSON object");
      body(op, std::move(v.as_object()));
    } catch (const plugin::Failure &f) {
      fail(op, f.status, f.message);
    } catch (const std::exception &e) {
      fail(op, WEFT_E_INTERNAL, e.what());
    }
  });
  return op->id;
}

void OpBook::cancel(uint64_t op_id) {
  loop_.post([this, op_id] {
    auto it = ops_.find(op_id);
    if (it == ops_.end()) return;
    auto op = it->second;
    if (op->hash.empty())
      fail(op, WEFT_E_CANCELLED, "cancelled");
    else
      fail(op, WEFT_E_CANCELLED, "cancelled while transaction " + op->hash + " was pending; it may still commit",
           hash_details(op->hash));
  });
}

void OpBook::finish(const std::shared_ptr<Op> &op, int32_t status, const std::string &message_or_json,
                    const std::string &details) {
  if (!op || op->finished) return;
  op->finished = true;
  loop_.cancel_timer(op->timer);
  ops_.erase(op->id);
  if (status == WEFT_OK)
    op->done.succeed(message_or_json);
  else if (details.empty())
    op->done.fail(status, message_or_json);
  else
    op->done.fail(status, message_or_json, details);
}

void OpBook::succeed(const std::shared_ptr<Op> &op, const json::value &answer) {
  finish(op, WEFT_OK, json::serialize(answer), "");
}

void OpBook::fail(const std::shared_ptr<Op> &op, int32_t status, const std::string &message,
                  const std::string &details) {
  finish(op, status, message, details);
}

std::chrono::milliseconds OpBook::left(const std::shared_ptr<Op> &op, std::chrono::milliseconds cap) const {
  auto rest = std::chrono::duration_cast<std::chrono::milliseconds>(op->deadline - Clock::now());
  return std::clamp(rest, std::chrono::milliseconds(1), cap);
}

void OpBook::close(const std::string &reason) {
  closed_ = true;
  auto ops = std::move(ops_);
  for (auto &[id, op] : ops) {
    if (op->finished) continue;
    op->finished = true;
    loop_.cancel_timer(op->timer);
    if (op->hash.empty())
      op->done.fail(WEFT_E_CANCELLED, reason);
    else
      op->done.fail(WEFT_E_CANCELLED, reason + " before transaction " + op->hash + " was settled",
                    hash_details(op->hash));
  }
}

} // namespace weft::evm
