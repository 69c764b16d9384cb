// One open chain inside the plugin: either its embedded validators (the default) or pipelined connections to a
// weft-node network (remote mode), worker threads that run verbs (signing through the host and reads that check an
// XA transaction first may block), and the book of pending operations with their deadlines. Remote mode's plain reads
// take no worker: asked from the calling thread, answered on the connection's (ask_remote). A send hands its operation
// over — to the commit listener (embedded) or to a connection's answer (remote) — and frees its worker at once.
// Callbacks run on a worker, a validator or a connection's thread; close() completes every pending operation and joins
// every thread before it returns.
#pragma once

#include "config.h"
#include "ledger.h"
#include "embedded_network.h"
#include "net/node_client.h"
#include "subscriptions.h"
#include "validator_key.h"

#include <weft/adapter.hpp>

#include <boost/json/object.hpp>

#include <chrono>
#include <condition_variable>
#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>

namespace weft::refchain {

class Runtime {
public:
  // A verb's body: returns the result JSON to answer now, or nullopt when it has handed the operation to await_tx
  // or submit_remote. Throws Error or plugin::Failure to fail it.
  using Work = std::function<std::optional<std::string>(uint64_t op_id)>;
  // What a verb answers for its committed transaction, made from the send answer (queries::sent_json): the result
  // JSON, or a failure with its details JSON ("" for none).
  struct Answer {
    int32_t status = WEFT_OK;
    std::string json_or_message;
    std::string details;
  };
  // An XA verb's view of its transaction's outcome; absent, the sent answer itself is the result. Runs on a
  // validator's or a connection's thread; must not block. Throws nothing it wants to keep (an exception becomes
  // WEFT_E_INTERNAL).
  using Transform = std::function<Answer(const boost::json::object &sent)>;

  // Embedded: opens the validators' stores and keys in data_dir and starts them. Remote: connects to config.nodes.
  // Starts the workers. Throws Error.
  Runtime(const ChainConfig &config, plugin::Host host, const std::string &data_dir);
  ~Runtime();
  Runtime(const Runtime &) = delete;
  Runtime &operator=(const Runtime &) = delete;

  // Queues a verb; deadline_ms 0 means kDefaultDeadline. Returns the operation id cancel() takes.
  uint64_t post(plugin::Completion done, uint32_t deadline_ms, Work work);
  // Remote mode: asks the network `node_op` with `fields` from the calling thread, no worker involved; the node's
  // answer (its result object, serialized) completes the operation on the connection's thread. The connection's
  // timeout is the operation's deadline. Returns the operation id cancel() takes (0 if it completed at once).
  uint64_t ask_remote(plugin::Completion done, uint32_t deadline_ms, const std::string &node_op,
                      boost::json::object fields);
  void cancel(uint64_t op_id);
  void close();

  // Makes op_id wait for the commit of tx_hash (register before the transaction enters the pool).
  void await_tx(uint64_t op_id, const Hash &tx_hash, Transform transform = {});
  void forget_tx(uint64_t op_id);
  // Embedded: admits a signed transaction at the validator clients talk to and gossips it to the others.
  Hash submit(const Transaction &tx) { return network_->front().submit(tx); }

  // Remote mode: no validator here; verbs go to the network over the connections, taken in turn.
  bool remote() const { return network_ == nullptr; }
  net::NodeClient &node();
  // Remote mode: submits a signed transaction for op_id and returns; the node's answer at commit (or its failure)
  // completes the operation. Throws Error(WEFT_E_CANCELLED) if the operation has already finished.
  void submit_remote(uint64_t op_id, const Transaction &tx, Transform transform = {});
  // Remote mode: the network's height for a new transaction's block limit, asked at most every kHeightMaxAge.
  uint64_t remote_height(uint64_t op_id);
  static constexpr std::chrono::milliseconds kHeightMaxAge{500};
  // Remote mode: WeCrossProxy.locks (resource -> holder) as the network last answered it. A cached answer younger
  // than kHeightMaxAge is reused unless fresh: a stale "unlocked" only lets a send reach the chain, which refuses it
  // anyway; a lock seen is checked again fresh before a send is refused.
  boost::json::object remote_locks(uint64_t op_id, bool fresh);
  // Remote mode: whether the network's contracts have WeCrossProxy.startexec (its chain_info lists the feature
  // "xa-startexec"). Asked of the network once, at the first need; an upgraded network is seen after a reopen.
  bool remote_starts_in_step(uint64_t op_id);
  // Time left before op_id's deadline (zero if it has passed or the op is gone).
  std::chrono::milliseconds remaining(uint64_t op_id);

  Ledger &ledger() { return network_->front().ledger(); }
  EmbeddedNetwork &network() { return *network_; }
  // The contract configured for a resource (its methods), or nullptr; for checks before a transaction is signed.
  const Contract *contract(const std::string &resource) const;
  const plugin::Host &host() const { return host_; }
  const ChainConfig &config() const { return config_; }
  // subscribe_v2 streams; close() ends them.
  Subscriptions &subscriptions() { return *subscriptions_; }

  static constexpr std::chrono::milliseconds kDefaultDeadline{60000};
  // Remote mode's workers only sign and make short reads; waits for commits hold no worker.
  static constexpr size_t kRemoteWorkers = 8;

private:
  using Clock = std::chrono::steady_clock;
  struct Op {
    plugin::Completion done;
    Clock::time_point deadline;
    std::optional<Hash> tx; // set while waiting for a commit
    Transform transform;    // set with tx, when the verb reshapes the committed answer
  };
  struct Task {
    uint64_t op_id;
    Work work;
  };

  void run_worker();
  void check_remote_chain();
  void on_committed(const ExecutedBlock &block);
  void on_expired(const std::vector<Hash> &hashes);
  // Removes an operation from the book; empty if it already finished (first finisher wins).
  std::optional<Op> take(uint64_t op_id);
  std::optional<Op> take_locked(uint64_t op_id);
  void finish(uint64_t op_id, int32_t status, const std::string &message_or_json, const std::string &details = "");
  // Completes a taken operation with its transaction's sent answer, through its transform if it has one.
  static void complete_sent(Op &op, const boost::json::object &sent);

  ChainConfig config_;
  plugin::Host host_;
  std::unique_ptr<EmbeddedNetwork> network_;
  std::unique_ptr<net::IoLoop> host_loop_; // remote mode: the host's event loop, when it lends one; outlives links_
  std::vector<std::unique_ptr<net::NodeClient>> links_; // remote mode: remote_connections, each from another node
  std::atomic<size_t> next_link_{0};
  Contracts contracts_; // the configured resources and the XA proxy
  std::unique_ptr<Subscriptions> subscriptions_;
  // Remote mode: the last height seen, and when it was asked (a block limit 500 ahead tolerates a stale one).
  std::mutex height_mu_;
  uint64_t height_ = 0;
  Clock::time_point height_at_{};
  std::mutex locks_mu_;
  boost::json::object locks_;
  Clock::time_point locks_at_{};
  std::atomic<int> starts_in_step_{-1}; // remote_starts_in_step's answer: -1 not asked yet, 0 no, 1 yes

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool closed_ = false;
  uint64_t next_id_ = 1;
  std::map<uint64_t, Op> ops_;
  std::set<std::pair<Clock::time_point, uint64_t>> deadlines_;
  std::deque<Task> tasks_;
  std::unordered_map<Hash, uint64_t, HashKey> waiting_; // tx hash -> op
  std::vector<std::thread> workers_;
};

} // namespace weft::refchain
