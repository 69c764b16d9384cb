// The XA coordinator: two-phase transactions across chains (docs/xa.md). Its log lives in the router store and is
// written, and synced, before each action it announces is sent to a chain: the start (with the paths), each step,
// the decision, and each chain's acknowledgement of it. Presumed abort: a transaction without a logged commit
// decision is rolled back on every chain it names; one with a decision is driven to its end, retrying a chain that
// does not answer until it does. A chain that refuses the decision leaves the transaction "heuristic" for a human.
//
// Thread-safety: every public member may be called from any I/O thread; the in-memory state is under one mutex
// that is never held across a co_await.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <weft/error.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "chains/chain_service.h"
#include "chains/registry.h"
#include "store/xa_log.h"

namespace weft::xa {

struct Options {
  std::chrono::milliseconds open_timeout{std::chrono::minutes(10)}; // a transaction open longer is rolled back
  std::chrono::milliseconds retry_initial{200};  // a chain that did not answer a decision is asked again...
  std::chrono::milliseconds retry_max{5000};     // ...the wait doubling up to this
  std::chrono::milliseconds answer_wait{10000};  // how long commit/rollback wait for chains before answering
  uint32_t action_deadline_ms = 30000;           // one chain action's deadline
  bool start_in_step = true; // a chain whose adapter offers it starts its branch in the first step (docs/xa.md)
};

// Who asks: the logged-in user (or, without login, an anonymous admin).
struct Actor {
  std::string name;
  std::int64_t user_id = 0;
  bool admin = true;
};

// A WeCross XAResponse: status 0, or -1 with what each failing chain said.
struct XaAnswer {
  int status = 0;
  boost::json::array chain_errors; // [{"path":"zone.chain","message":...}]
  boost::json::object json() const;
};

// A step's request, as the resource route parsed it (the account already chosen).
struct StepRequest {
  std::string xid;
  std::int64_t seq = 0;
  std::string path; // zone.chain.resource
  TxRequest tx;
};

class Coordinator {
public:
  Coordinator(store::Store &store, const Registry &registry, ChainService &chains, Options options,
              boost::asio::any_io_executor executor);
  ~Coordinator();
  Coordinator(const Coordinator &) = delete;
  Coordinator &operator=(const Coordinator &) = delete;

  // Reads the unfinished transactions from the log and starts driving each to its end (presumed abort), and the
  // open-timeout sweep. Call once, before the RPC serves; fails only if the log cannot be read.
  Status recover();
  // Stops the background drivers (their transactions stay in the log for the next start).
  void stop();
  // A chain came up: the transactions waiting for it are driven again at once. Thread-safe, cheap.
  void chain_up(const std::string &chain_path);

  boost::asio::awaitable<Result<XaAnswer>> start(Actor who, std::string xid, std::vector<std::string> paths);
  boost::asio::awaitable<Result<XaAnswer>> commit(Actor who, std::string xid, std::vector<std::string> paths);
  boost::asio::awaitable<Result<XaAnswer>> rollback(Actor who, std::string xid, std::vector<std::string> paths);
  // {"xaResponse","xaTransaction","chains":[...],"differences":[...]}
  boost::asio::awaitable<Result<boost::json::object>> get(Actor who, std::string xid, std::vector<std::string> paths);
  // {"xaList","nextOffsets","finished"}; offsets by chain path.
  boost::asio::awaitable<Result<boost::json::object>> list(Actor who, std::int64_t size,
                                                           std::map<std::string, std::int64_t> offsets,
                                                           std::string chain_filter);
  // A step: an XA sendTransaction. The answer is the chain's TransactionResponse JSON.
  boost::asio::awaitable<Result<boost::json::object>> step(Actor who, StepRequest req);
  // A call inside a transaction: Ok when the id is open, the caller may act on it and the path is one of it. For a
  // read (`read`), a branch whose start was deferred to its first step is started here first, so what it reads is
  // locked, as after an eager start.
  boost::asio::awaitable<Status> prepare_call(Actor who, std::string xid, std::string path, bool read);
  // An admin clears a heuristic transaction after looking at it.
  boost::asio::awaitable<Result<boost::json::object>> resolve(Actor who, std::string xid, std::string note);

  // The unfinished transaction that holds a resource path, or "" (a plain write to it is refused: its lock on the
  // chain may still be waiting for the transaction's first step there).
  std::string holder(const std::string &path) const;

  // Transactions by status as the log holds them (for /metrics).
  std::map<std::string, std::int64_t> counts();

private:
  struct Tx;
  using TxPtr = std::shared_ptr<Tx>;
  struct Inflight;

  Result<TxPtr> find_open(const std::string &xid) const;
  boost::asio::awaitable<Status> durable(store::Store::WriteFn fn);
  boost::asio::awaitable<Result<XaAnswer>> decide(Actor who, std::string xid, std::vector<std::string> paths,
                                                  bool commit);
  boost::asio::awaitable<Status> resolve_unknown_steps(TxPtr tx);
  boost::asio::awaitable<bool> round(TxPtr tx);
  // Whether the chain's adapter starts a branch inside its first step (chain_info's xaStartInStep); a "yes" is kept
  // until the chain comes up again, a "no" for 30 s.
  boost::asio::awaitable<bool> starts_in_step(std::shared_ptr<Chain> chain);
  boost::asio::awaitable<void> drive_loop(TxPtr tx);
  boost::asio::awaitable<void> sweep_loop();
  void spawn_driver(TxPtr tx);
  // Marks the transaction finished and frees what it held; forget: out of open_ too (else its end's write does it).
  void finish_locked(Tx &tx, bool forget = true);
  XaAnswer answer_of(const Tx &tx);
  boost::json::object transaction_json(const store::XaRecord &r, const std::map<std::int64_t, store::XaStepRecord> &steps);

  store::Store &store_;
  const Registry &registry_;
  ChainService &chains_;
  Options options_;
  boost::asio::any_io_executor executor_; // a strand: background drivers and the sweep run here
  struct Shared;
  std::shared_ptr<Shared> shared_; // stop flag and timers, shared with background coroutines

  mutable std::mutex mu_;
  std::map<std::string, TxPtr> open_;            // unfinished, and finished until their end is logged; by id
  std::size_t ending_ = 0;                       // ends queued to the log whose callbacks have not run
  std::condition_variable ended_;
  std::map<std::string, std::string> holders_;   // resource path -> id of the unfinished transaction holding it
  // chain path -> what starts_in_step learned, and until when a "no" holds (a chain may gain a proxy that can)
  std::map<std::string, std::pair<bool, std::chrono::steady_clock::time_point>> start_in_step_;
};

} // namespace weft::xa
