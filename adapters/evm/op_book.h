// The verbs in progress of one chain whose adapter runs on a Loop (the EVM and FISCO BCOS adapters): each gets an id
// cancel() takes, a deadline timer, and exactly one answer. A verb that has signed its transaction records the hash,
// so a late timeout, a cancel or a close tells the caller the hash (the transaction may still commit).
#pragma once

#include "json_rpc.h"

#include <weft/adapter.hpp>

#include <boost/json/object.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

namespace weft::evm {

struct Op {
  uint64_t id = 0;
  plugin::Completion done;
  uint64_t timer = 0;
  std::chrono::steady_clock::time_point deadline;
  std::string hash; // once its transaction is signed: a late failure must name it
  bool finished = false;
};

class OpBook {
 public:
  // A verb's body, on the loop: answers through the book (or throws plugin::Failure) now or later.
  using Body = std::function<void(const std::shared_ptr<Op> &, boost::json::object request)>;
  struct Texts {
    std::string timeout;  // "the EVM node at … did not answer in time"
    std::string unsettled; // after "transaction 0x…": "was sent but is not final yet"
  };

  OpBook(Loop &loop, Texts texts) : loop_(loop), texts_(std::move(texts)) {}

  // Parses the request and runs body on the loop; deadline_ms 0 means 30 s. Returns the id cancel() takes.
  uint64_t start(plugin::Completion done, uint32_t deadline_ms, const std::string &request, Body body);
  void cancel(uint64_t op_id);

  // On the loop.
  bool live(const std::shared_ptr<Op> &op) const { return op && !op->finished && !closed_; }
  void succeed(const std::shared_ptr<Op> &op, const boost::json::value &answer);
  void fail(const std::shared_ptr<Op> &op, int32_t status, const std::string &message, const std::string &details = "");
  // What is left of the op's deadline, at most cap: the bound for one request made for it.
  std::chrono::milliseconds left(const std::shared_ptr<Op> &op, std::chrono::milliseconds cap) const;
  // Fails every op with WEFT_E_CANCELLED (naming its hash if it has one) and refuses later ones.
  void close(const std::string &reason);

 private:
  void finish(const std::shared_ptr<Op> &op, int32_t status, const std::string &message_or_json,
              const std::string &details);

  Loop &loop_;
  Texts texts_;
  std::unordered_map<uint64_t, std::shared_ptr<Op>> ops_;
  bool closed_ = false;
  std::atomic<uint64_t> next_{1};
};

} // namespace weft::evm
