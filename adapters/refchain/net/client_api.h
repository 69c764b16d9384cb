// The client API's requests and answers, without sockets: one frame in, one answer out through a reply callback,
// called exactly once per request (at once, or when the transaction a submit waits for commits, expires or times
// out). ClientServer carries frames to and from it.
#pragma once

#include "client_server.h"

#include <chrono>
#include <map>
#include <mutex>
#include <unordered_map>

namespace weft::refchain::net {

class ClientApi {
public:
  using Clock = std::chrono::steady_clock;
  using Reply = std::function<void(std::string answer)>;

  ClientApi(ClientBackend backend, uint64_t default_wait_ms, uint64_t max_wait_ms);

  // Answers one request frame; blocking ledger work runs on the caller's thread. Never throws.
  void handle(ByteView frame, Reply reply);
  void on_committed(const ExecutedBlock &block);
  void on_expired(const std::vector<Hash> &hashes);
  // Answers WEFT_E_TIMEOUT to the submits whose wait has passed.
  void expire(Clock::time_point now);
  size_t waiting() const;

  // A refusal of a request frame that will not be run (too many in flight), carrying the frame's id when it has a
  // readable one, so the client can fail that call at once.
  static std::string refuse(ByteView frame, int32_t status, const std::string &message);

  // {"id":id,"status":status,"message":message,"result":result or null}
  static std::string answer(const boost::json::value &id, int32_t status, const std::string &message,
                            const boost::json::object *result);

private:
  struct Waiter {
    boost::json::value id;
    Hash hash{};
    Reply reply;
    Clock::time_point deadline;
  };
  std::optional<boost::json::object> run(const std::string &op, const boost::json::object &req,
                                         const boost::json::value &id, Reply &reply);
  std::optional<boost::json::object> submit(const boost::json::object &req, const boost::json::value &id, Reply &reply);
  std::vector<Waiter> take(const Hash &hash); // under mu_

  ClientBackend backend_;
  uint64_t default_wait_ms_, max_wait_ms_;
  mutable std::mutex mu_;
  uint64_t next_waiter_ = 1;
  std::map<uint64_t, Waiter> waiters_;                       // by waiter number
  std::unordered_multimap<Hash, uint64_t, HashKey> by_hash_; // tx hash -> waiter numbers
  std::multimap<Clock::time_point, uint64_t> deadlines_;     // deadline -> waiter number
};

} // namespace weft::refchain::net
