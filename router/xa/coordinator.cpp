#include "coordinator.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <spdlog/spdlog.h>

#include <weft/text.hpp>

#include <algorithm>
#include <atomic>
#include <functional>

#include "core/failpoint.h"
#include "store/async_write.h"
#include "rpc/adapter_status.h"

namespace weft::xa {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool valid_xid(const std::string &id) {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '-' || c == '.' || c == ':';
  });
}

std::vector<std::string> split_path(const std::string &p) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t dot = p.find('.', start);
    parts.push_back(p.substr(start, dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return parts;
}

std::string chain_of(const std::string &resource_path) {
  return resource_path.substr(0, resource_path.rfind('.'));
}

std::string json_text(const std::vector<std::string> &v) {
  json::array a;
  for (const auto &s : v) a.emplace_back(s);
  return json::serialize(a);
}

std::vector<std::string> strings_of(const std::string &text) {
  std::vector<std::string> out;
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_array()) return out;
  for (const auto &e : v.as_array())
    if (e.is_string()) out.emplace_back(e.as_string());
  return out;
}

// The log's note on a chain the decision reached without a message: the branch's start was never sent there.
constexpr const char *kNeverStarted = "never started: no step reached this chain";

// Several log writes as one store transaction (one fsync).
store::Store::WriteFn all_writes(std::vector<store::Store::WriteFn> writes) {
  return [writes = std::move(writes)](store::WriteTx &w) -> Status {
    for (const auto &fn : writes)
      if (auto st = fn(w); !st.ok()) return st;
    return Ok{};
  };
}

json::object chain_error(const std::string &chain, const std::string &message) {
  return json::object{{"path", chain}, {"message", message}};
}

// Runs jobs concurrently on the caller's executor (a strand) and returns their results in order.
template <class T>
asio::awaitable<std::vector<T>> all_of(std::vector<std::function<asio::awaitable<T>()>> jobs) {
  struct Gather {
    std::vector<std::optional<T>> out;
    size_t left;
    asio::steady_timer done;
    Gather(size_t n, asio::any_io_executor ex) : out(n), left(n), done(ex, asio::steady_timer::time_point::max()) {}
  };
  auto ex = co_await asio::this_coro::executor;
  auto g = std::make_shared<Gather>(jobs.size(), ex);
  for (size_t i = 0; i < jobs.size(); ++i) {
    auto job = std::move(jobs[i]);
    asio::co_spawn(
        ex,
        [g, i, job = std::move(job)]() -> asio::awaitable<void> {
          T r = co_await job();
          g->out[i] = std::move(r);
          if (--g->left == 0) g->done.cancel();
        },
        [](std::exception_ptr e) {
          if (e) spdlog::error("XA: a chain action ended by an exception");
        });
  }
  if (g->left > 0) co_await g->done.async_wait(asio::as_tuple(asio::use_awaitable));
  std::vector<T> out;
  for (auto &o : g->out) out.push_back(o ? std::move(*o) : T{});
  co_return out;
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer t(ex, d);
  co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
}

} // namespace

json::object XaAnswer::json() const {
  return json::object{{"status", status}, {"chainErrorMessages", chain_errors}};
}

// One chain's branch of a transaction, as this router process knows it.
struct Branch {
  std::vector<std::string> names; // the resources it locks on that chain
  bool lazy = false;    // its start rides on its first step (a start ticket), or on a read's start
  bool sent = false;    // a start, or a step that carries one, went to the chain: the decision must go there too
  bool started = false; // the chain confirmed the branch (its start, or a step with the ticket, succeeded)
};

struct Coordinator::Tx {
  store::XaRecord rec; // chains included; steps live in `steps`
  std::map<std::int64_t, store::XaStepRecord> steps;
  std::set<std::string> paths;
  std::map<std::string, Branch> branches; // by chain path
  std::chrono::steady_clock::time_point opened = std::chrono::steady_clock::now();
  std::map<std::string, std::string> last_error; // chain -> what it said when a decision did not reach it
  int inflight = 0;     // steps being sent
  bool starting = true; // its start is being sent to the chains
  bool driving = false; // a round or a driver runs for it
  bool finished = false;
  std::shared_ptr<asio::steady_timer> wait; // the driver's backoff, while it waits (cancelled on the strand)
};

// Counts one step (or a read's start) as in flight for as long as it lives: a commit waits for none to be.
struct Coordinator::Inflight {
  Coordinator *self;
  TxPtr tx;
  ~Inflight() {
    std::lock_guard lock(self->mu_);
    --tx->inflight;
  }
};

struct Coordinator::Shared {
  std::atomic<bool> stopping{false};
  std::atomic<int> running{0}; // background coroutines alive
};

Coordinator::Coordinator(store::Store &store, const Registry &registry, ChainService &chains, Options options,
                         asio::any_io_executor executor)
    : store_(store), registry_(registry), chains_(chains), options_(options), executor_(std::move(executor)),
      shared_(std::make_shared<Shared>()) {}

Coordinator::~Coordinator() {
  stop();
  // The callbacks of ends queued to the log touch open_: wait for them (the store answers each, even at its close).
  std::unique_lock lock(mu_);
  ended_.wait(lock, [this] { return ending_ == 0; });
}

void Coordinator::stop() {
  shared_->stopping = true;
  // Background coroutines notice at their next wake-up (at most retry_max or a chain action's deadline); the
  // io_context's stop ends those still waiting. Their transactions stay in the log for the next start.
}

asio::awaitable<Status> Coordinator::durable(store::Store::WriteFn fn) {
  auto s = co_await store::durable_write(store_, std::move(fn));
  co_return s;
}

Status Coordinator::recover() {
  auto open = store::xa_unfinished(store_);
  if (!open.ok()) return open.error();
  size_t n = 0;
  for (auto &rec : *open) {
    auto tx = std::make_shared<Tx>();
    tx->starting = false;
    for (auto &s : rec.steps) tx->steps[s.seq] = std::move(s);
    rec.steps.clear();
    for (const auto &p : strings_of(rec.paths)) tx->paths.insert(p);
    for (const auto &c : rec.chains) tx->branches[c.chain].sent = true; // whatever it was, the decision goes there
    tx->rec = std::move(rec);
    if (tx->rec.status == "heuristic") continue; // waits for an admin; holds nothing
    {
      std::lock_guard lock(mu_);
      for (const auto &p : tx->paths) holders_[p] = tx->rec.id;
      open_[tx->rec.id] = tx;
    }
    ++n;
    if (!tx->rec.decision.empty()) {
      spdlog::info("XA {}: decision {} logged; driving it to the end", tx->rec.id, tx->rec.decision);
      tx->driving = true;
      spawn_driver(tx);
    } else {
      // Presumed abort: the decision is written by the driver's first step on the strand (below).
      spdlog::info("XA {}: no decision logged before the router stopped; rolling it back", tx->rec.id);
      tx->driving = true;
      auto shared = shared_;
      ++shared->running;
      asio::co_spawn(
          executor_,
          [this, tx, shared]() -> asio::awaitable<void> {
            for (auto wait = options_.retry_initial; !shared->stopping;) {
              auto w = store::xa_set_status(tx->rec.id, "rollingback", "rollback", 0, now_ms(),
                                            "rolled back on recovery: the router stopped before a commit decision");
              Status s = co_await durable(std::move(w));
              if (s.ok()) break;
              spdlog::error("XA {}: cannot log the rollback decision: {}", tx->rec.id, s.error().message);
              co_await sleep_for(wait);
              wait = std::min(wait * 2, options_.retry_max);
            }
            {
              std::lock_guard lock(mu_);
              tx->rec.decision = "rollback";
              tx->rec.status = "rollingback";
              tx->rec.rollback_ms = now_ms();
            }
            failpoint::hit("xa.after_decision");
            --shared->running;
            if (!shared->stopping) spawn_driver(tx);
          },
          [](std::exception_ptr) {});
    }
  }
  if (n > 0) spdlog::info("XA: {} unfinished transaction(s) found in the log", n);
  auto shared = shared_;
  ++shared->running;
  asio::co_spawn(executor_, sweep_loop(), [shared](std::exception_ptr) { --shared->running; });
  return Ok{};
}

void Coordinator::spawn_driver(TxPtr tx) {
  auto shared = shared_;
  ++shared->running;
  asio::co_spawn(executor_, drive_loop(std::move(tx)), [shared](std::exception_ptr e) {
    --shared->running;
    if (e) spdlog::error("XA: a driver ended by an exception");
  });
}

asio::awaitable<void> Coordinator::drive_loop(TxPtr tx) {
  auto wait = options_.retry_initial;
  auto ex = co_await asio::this_coro::executor;
  while (!shared_->stopping) {
    bool done = co_await round(tx);
    if (done) break;
    // The wait ends early when one of its chains comes up (chain_up), so recovery runs as soon as they are open.
    auto timer = std::make_shared<asio::steady_timer>(ex, wait);
    {
      std::lock_guard lock(mu_);
      tx->wait = timer;
    }
    co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
    {
      std::lock_guard lock(mu_);
      tx->wait.reset();
    }
    wait = std::min(wait * 2, options_.retry_max);
  }
  std::lock_guard lock(mu_);
  tx->driving = false;
}

asio::awaitable<void> Coordinator::sweep_loop() {
  while (!shared_->stopping) {
    co_await sleep_for(std::chrono::milliseconds(1000));
    std::vector<TxPtr> late;
    {
      std::lock_guard lock(mu_);
      auto now = std::chrono::steady_clock::now();
      for (auto &[id, tx] : open_)
        if (tx->rec.decision.empty() && !tx->starting && now - tx->opened > options_.open_timeout)
          late.push_back(tx);
    }
    for (auto &tx : late) {
      {
        std::lock_guard lock(mu_);
        tx->rec.note = "rolled back: open longer than " +
                       std::to_string(std::chrono::duration_cast<std::chrono::seconds>(options_.open_timeout).count()) +
                       " s";
      }
      spdlog::warn("XA {}: open longer than {} s; rolling it back", tx->rec.id,
                   std::chrono::duration_cast<std::chrono::seconds>(options_.open_timeout).count());
      Actor system{"router", 0, true};
      std::vector<std::string> every_path; // named: see start()
      auto r = co_await decide(system, tx->rec.id, std::move(every_path), false);
      if (!r.ok()) spdlog::warn("XA {}: timeout rollback: {}", tx->rec.id, r.error().message);
    }
  }
}

void Coordinator::chain_up(const std::string &chain_path) {
  std::vector<std::shared_ptr<asio::steady_timer>> timers;
  {
    std::lock_guard lock(mu_);
    start_in_step_.erase(chain_path); // an adapter reopened may offer something else
    for (auto &[id, tx] : open_) {
      if (!tx->wait) continue;
      for (const auto &c : tx->rec.chains)
        if (c.chain == chain_path && c.state == "open") timers.push_back(tx->wait);
    }
  }
  if (timers.empty()) return;
  // The drivers' timers live on the strand: cancel them there, as their waits do.
  asio::post(executor_, [timers = std::move(timers)] {
    for (const auto &t : timers) t->cancel();
  });
}

asio::awaitable<bool> Coordinator::starts_in_step(std::shared_ptr<Chain> chain) {
  if (!options_.start_in_step) co_return false;
  auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mu_);
    if (auto it = start_in_step_.find(chain->path); it != start_in_step_.end() && now < it->second.second)
      co_return it->second.first;
  }
  auto info = co_await chains_.info(chain);
  if (!info.ok()) co_return false; // not known now: this start runs on its own, and the next one asks again
  bool yes = info->xa_start_in_step;
  std::lock_guard lock(mu_);
  auto until = yes ? std::chrono::steady_clock::time_point::max() : now + std::chrono::seconds(30);
  start_in_step_[chain->path] = {yes, until};
  co_return yes;
}

std::string Coordinator::holder(const std::string &path) const {
  std::lock_guard lock(mu_);
  auto it = holders_.find(path);
  return it == holders_.end() ? std::string() : it->second;
}

Result<Coordinator::TxPtr> Coordinator::find_open(const std::string &xid) const {
  std::lock_guard lock(mu_);
  auto it = open_.find(xid);
  if (it == open_.end()) return Error{code::kXaNotFound, "no open XA transaction " + xid};
  return it->second;
}

// One attempt to bring the decision to every chain that has not acknowledged it. True once the transaction ended.
asio::awaitable<bool> Coordinator::round(TxPtr tx) {
  std::vector<std::string> todo;
  std::set<std::string> confirmed; // chains where a step succeeded: the only ones with anything to commit
  bool commit = false;
  std::string id;
  {
    std::lock_guard lock(mu_);
    if (tx->finished) co_return true;
    commit = tx->rec.decision == "commit";
    id = tx->rec.id;
    for (const auto &c : tx->rec.chains)
      if (c.state == "open") todo.push_back(c.chain);
    for (const auto &[seq, st] : tx->steps)
      if (st.outcome == "ok") confirmed.insert(chain_of(st.path));
  }
  struct Reached {
    std::string path, state, message; // state "": not acknowledged, ask again later
  };
  std::vector<std::function<asio::awaitable<Reached>()>> jobs;
  for (const auto &path : todo) {
    // A branch with nothing to commit (no step succeeded on it; every outcome is known before a commit decision)
    // is released by a rollback: the same end for its locks, and a tombstone where a deferred start may still
    // arrive, or never did. The rule reads only the log, so a driver after a restart sends the same verb.
    bool release = commit && !confirmed.count(path);
    jobs.push_back([this, path, commit, release, id]() -> asio::awaitable<Reached> {
      auto chain = registry_.chain(path);
      AdapterAnswer a;
      if (!chain) {
        a = AdapterAnswer{WEFT_E_UNAVAILABLE, "chain " + path + " is no longer configured", ""};
      } else {
        std::string body = json::serialize(json::object{{"xaTransactionID", id}, {"account", chain->default_account}});
        a = co_await chains_.invoke_answer(chain, commit && !release ? Verb::XaCommit : Verb::XaRollback,
                                           std::move(body), options_.action_deadline_ms);
      }
      failpoint::hit(commit ? "xa.after_commit_chain" : "xa.after_rollback_chain");
      Reached r{path, "", a.message};
      if (a.ok())
        r.state = "done";
      else if ((!commit || release) && a.status == WEFT_E_UNSUPPORTED)
        r.state = "done"; // a chain without XA never started the branch: nothing to undo
      else if (a.status == WEFT_E_REJECTED || a.status == WEFT_E_INVALID_ARGUMENT ||
               (commit && a.status == WEFT_E_NOT_FOUND))
        r.state = "refused";
      if (a.ok()) r.message.clear();
      co_return r;
    });
  }
  std::vector<Reached> reached;
  if (!jobs.empty()) reached = co_await all_of<Reached>(std::move(jobs));
  // What the chains acknowledged, and the transaction's end when every chain has, go to the log in ONE write.
  std::string final_status, note;
  std::vector<Reached> changed;
  {
    std::lock_guard lock(mu_);
    if (tx->finished) co_return true;
    bool refused = false, open = false;
    for (const auto &c : tx->rec.chains) {
      std::string state = c.state, message = c.message;
      for (const auto &r : reached)
        if (r.path == c.chain) {
          if (r.state.empty()) {
            tx->last_error[c.chain] = r.message;
          } else {
            state = r.state;
            message = r.message;
            changed.push_back(r);
          }
        }
      if (state == "open") open = true;
      if (state == "refused") {
        refused = true;
        note += (note.empty() ? "" : "; ") + c.chain + " refused the " + tx->rec.decision + ": " + message;
      }
    }
    if (!open) {
      final_status = refused ? "heuristic" : commit ? "committed" : "rolledback";
      if (!refused) note = tx->rec.note;
    }
  }
  if (changed.empty() && final_status.empty()) co_return false;
  // What the chains acknowledged, into the transaction in memory; under mu_.
  auto apply_changed = [&] {
    for (auto &c : tx->rec.chains)
      for (const auto &r : changed)
        if (r.path == c.chain) {
          c.state = r.state;
          c.message = r.message;
          tx->last_error.erase(c.chain);
        }
  };
  std::vector<store::Store::WriteFn> writes;
  for (const auto &r : changed) writes.push_back(store::xa_set_chain(id, r.path, r.state, r.message));
  if (!final_status.empty())
    writes.push_back(store::xa_set_status(id, final_status, commit ? "commit" : "rollback", 0, 0, note));
  if (final_status == "committed" || final_status == "rolledback") {
    // The end is written lazily and not waited for: recovery does not need it. Without it the log still says
    // decided, so a restart sends the decision again, and every chain answers a repeated commit or rollback as done.
    // Until it is written the transaction stays in open_ (finished), so get and list show the end at once.
    {
      std::lock_guard lock(mu_);
      apply_changed();
      tx->rec.status = final_status;
      tx->rec.note = note;
      finish_locked(*tx, false);
      ++ending_;
    }
    auto logged = [this, tx, id](Status s) {
      std::lock_guard lock(mu_);
      if (s.ok()) {
        if (auto it = open_.find(id); it != open_.end() && it->second == tx) open_.erase(it);
      } else {
        spdlog::error("XA {}: its end could not be logged ({}); the next start of the router ends it again", id,
                      s.error().message);
      }
      if (--ending_ == 0) ended_.notify_all();
    };
    if (Status queued = store_.write_async(all_writes(std::move(writes)), logged, store::Store::Sync::kLazy);
        !queued.ok())
      logged(queued);
    failpoint::hit("xa.after_done");
    co_return true;
  }
  // Progress short of the end, or a heuristic end (an admin resolves it from the log, and /metrics counts it from
  // there): durable before anything goes on.
  Status s = co_await durable(all_writes(std::move(writes)));
  if (!s.ok()) {
    spdlog::error("XA {}: the log could not record the chains' answers: {}", id, s.error().message);
    std::lock_guard lock(mu_);
    for (const auto &r : changed) tx->last_error[r.path] = "the log could not record it: " + s.error().message;
    co_return false;
  }
  {
    std::lock_guard lock(mu_);
    apply_changed();
  }
  if (final_status.empty()) co_return false;
  failpoint::hit("xa.after_done");
  spdlog::error("XA {} is heuristic: {}; an admin must look (weft xa resolve)", id, note);
  std::lock_guard lock(mu_);
  tx->rec.status = final_status;
  tx->rec.note = note;
  finish_locked(*tx);
  co_return true;
}

void Coordinator::finish_locked(Tx &tx, bool forget) {
  tx.finished = true;
  for (const auto &p : tx.paths) {
    auto it = holders_.find(p);
    if (it != holders_.end() && it->second == tx.rec.id) holders_.erase(it);
  }
  if (forget) open_.erase(tx.rec.id);
}

XaAnswer Coordinator::answer_of(const Tx &tx) {
  XaAnswer a;
  bool wanted = tx.finished && (tx.rec.status == (tx.rec.decision == "commit" ? "committed" : "rolledback"));
  a.status = wanted ? 0 : -1;
  for (const auto &c : tx.rec.chains) {
    if (c.state == "refused")
      a.chain_errors.push_back(chain_error(c.chain, "refused the " + tx.rec.decision + ": " + c.message +
                                                        "; the transaction is heuristic, an admin must look"));
    else if (c.state == "open") {
      auto it = tx.last_error.find(c.chain);
      a.chain_errors.push_back(chain_error(
          c.chain, "decided: " + tx.rec.decision + "; not acknowledged yet (" +
                       (it != tx.last_error.end() ? it->second : std::string("in progress")) +
                       "); the router keeps asking until it answers"));
    }
  }
  return a;
}

asio::awaitable<Result<XaAnswer>> Coordinator::start(Actor who, std::string xid, std::vector<std::string> paths) {
  if (!valid_xid(xid))
    co_return Error{code::kXaPostData, "xaTransactionID '" + xid.substr(0, 64) +
                                           "' must be 1 to 128 characters of letters, digits, _ - . :"};
  if (paths.empty()) co_return Error{code::kXaFieldMissing, "paths must name at least one resource zone.chain.resource"};
  auto tx = std::make_shared<Tx>();
  std::map<std::string, std::vector<std::string>> by_chain;
  for (const auto &p : paths) {
    auto parts = split_path(p);
    if (parts.size() != 3 || !text::is_name(parts[0]) || !text::is_name(parts[1]) || !text::is_name(parts[2]))
      co_return Error{code::kXaPostData, "'" + p + "' is not a resource path zone.chain.resource"};
    auto res = registry_.resource(p);
    if (!res || parts[2] == "WeCrossProxy") co_return Error{code::kXaPostData, "Resource not found: " + p};
    if (tx->paths.insert(p).second) by_chain[res->chain_path].push_back(parts[2]);
  }
  XaAnswer refused;
  for (const auto &[chain_path, names] : by_chain) {
    auto chain = registry_.chain(chain_path);
    if (!chain || !chain->handle()) {
      refused.chain_errors.push_back(chain_error(chain_path, "chain " + chain_path + " is not open"));
      continue;
    }
    // A chain that takes a start ticket in a step starts its branch there: no block of its own before the step.
    Branch &b = tx->branches[chain_path];
    b.names = names;
    b.lazy = co_await starts_in_step(chain);
    if (!b.lazy) continue;
    // What xa_start would refuse at once, the router refuses from the listing: a resource that says it cannot
    // take part (an EVM contract without xaCompensation).
    for (const auto &n : names) {
      auto r = registry_.resource(chain_path + "." + n);
      const json::value *xa = r ? r->properties.if_contains("xa") : nullptr;
      if (xa != nullptr && xa->is_bool() && !xa->as_bool())
        refused.chain_errors.push_back(chain_error(
            chain_path, "resource " + chain_path + "." + n +
                            " cannot take part in XA transactions: its contract declares no xaCompensation "
                            "(docs/xa.md)"));
    }
  }
  if (!refused.chain_errors.empty()) {
    refused.status = -1;
    co_return refused;
  }
  // The id is unique over the whole log, finished transactions included.
  auto in_log = store_.read([&](store::ReadTx &rtx) -> Result<bool> { return store::xa_exists(rtx, xid); });
  if (!in_log.ok()) co_return Error{code::kXaLog, "the XA log cannot be read: " + in_log.error().message};
  bool exists = *in_log;
  {
    std::lock_guard lock(mu_);
    if (exists || open_.count(xid))
      co_return Error{code::kXaConflict, "XA transaction " + xid + " already exists; start a new one with a new id"};
    for (const auto &p : tx->paths)
      if (auto it = holders_.find(p); it != holders_.end())
        refused.chain_errors.push_back(chain_error(
            chain_of(p), "resource " + p + " is held by XA transaction " + it->second + "; retry when it ends"));
    if (!refused.chain_errors.empty()) {
      refused.status = -1;
      co_return refused;
    }
    tx->rec.id = xid;
    tx->rec.user = who.name;
    tx->rec.user_id = who.user_id;
    tx->rec.started_ms = now_ms();
    tx->rec.paths = json_text(std::vector<std::string>(tx->paths.begin(), tx->paths.end()));
    for (const auto &[chain_path, names] : by_chain) tx->rec.chains.push_back({chain_path, json_text(names), "open", ""});
    for (const auto &p : tx->paths) holders_[p] = xid;
    open_[xid] = tx;
  }
  auto insert = store::xa_insert(tx->rec);
  Status logged = co_await durable(std::move(insert));
  if (!logged.ok()) {
    std::lock_guard lock(mu_);
    finish_locked(*tx);
    co_return Error{code::kXaLog, "the XA log could not record the start of " + xid + ": " + logged.error().message};
  }
  failpoint::hit("xa.after_start_log");

  std::vector<std::function<asio::awaitable<std::string>()>> jobs;
  std::vector<std::string> eager;
  {
    std::lock_guard lock(mu_);
    for (auto &[chain_path, b] : tx->branches)
      if (!b.lazy) {
        b.sent = true;
        eager.push_back(chain_path);
      }
  }
  for (const auto &chain_path : eager) {
    const auto &names = by_chain[chain_path];
    jobs.push_back([this, xid, chain_path, names]() -> asio::awaitable<std::string> {
      auto chain = registry_.chain(chain_path);
      json::array res;
      for (const auto &n : names) res.emplace_back(n);
      std::string body = json::serialize(
          json::object{{"xaTransactionID", xid}, {"resources", std::move(res)}, {"account", chain->default_account}});
      AdapterAnswer a = co_await chains_.invoke_answer(chain, Verb::XaStart, std::move(body),
                                                       options_.action_deadline_ms);
      failpoint::hit("xa.after_start_chain");
      co_return a.ok() ? std::string() : (a.message.empty() ? "start failed" : a.message);
    });
  }
  std::vector<std::string> results;
  if (!jobs.empty()) results = co_await all_of<std::string>(std::move(jobs));
  XaAnswer out;
  for (size_t i = 0; i < eager.size(); ++i)
    if (!results[i].empty()) out.chain_errors.push_back(chain_error(eager[i], results[i]));
  {
    std::lock_guard lock(mu_);
    for (size_t i = 0; i < eager.size(); ++i)
      if (results[i].empty()) tx->branches[eager[i]].started = true;
    tx->starting = false;
    tx->opened = std::chrono::steady_clock::now();
  }
  if (out.chain_errors.empty()) co_return out;
  // Weft rolls back the chains that started (WeCross would commit them): nothing of a failed start remains.
  out.status = -1;
  {
    std::lock_guard lock(mu_);
    tx->rec.note = "rolled back: the start failed on " + std::to_string(out.chain_errors.size()) + " chain(s)";
  }
  // Named before the co_await: GCC 12 destroys braced temporaries of a co_await expression twice.
  Actor as_admin{who.name, who.user_id, true};
  std::vector<std::string> every_path;
  auto r = co_await decide(std::move(as_admin), xid, std::move(every_path), false);
  if (!r.ok()) out.chain_errors.push_back(chain_error("", "rollback after the failed start: " + r.error().message));
  co_return out;
}

asio::awaitable<Result<XaAnswer>> Coordinator::commit(Actor who, std::string xid, std::vector<std::string> paths) {
  auto r = co_await decide(std::move(who), std::move(xid), std::move(paths), true);
  co_return r;
}

asio::awaitable<Result<XaAnswer>> Coordinator::rollback(Actor who, std::string xid, std::vector<std::string> paths) {
  auto r = co_await decide(std::move(who), std::move(xid), std::move(paths), false);
  co_return r;
}

asio::awaitable<Result<XaAnswer>> Coordinator::decide(Actor who, std::string xid, std::vector<std::string> paths,
                                                      bool commit) {
  const std::string wanted = commit ? "commit" : "rollback";
  auto found = find_open(xid);
  if (!found.ok()) {
    auto rec = store::xa_get(store_, xid);
    if (!rec.ok()) co_return rec.error();
    if (!*rec) co_return Error{code::kXaNotFound, "no XA transaction " + xid};
    const auto &r = **rec;
    if (!who.admin && r.user_id != who.user_id)
      co_return Error{code::kXaPermission, "XA transaction " + xid + " belongs to another user"};
    if ((commit && r.status == "committed") || (!commit && r.status == "rolledback")) co_return XaAnswer{};
    co_return Error{code::kXaConflict, "XA transaction " + xid + " has ended: " + r.status +
                                           (r.note.empty() ? "" : " (" + r.note + ")")};
  }
  TxPtr tx = *found;
  {
    std::lock_guard lock(mu_);
    if (!who.admin && tx->rec.user_id != who.user_id)
      co_return Error{code::kXaPermission, "XA transaction " + xid + " belongs to another user"};
    for (const auto &p : paths) {
      bool known = tx->paths.count(p) > 0;
      for (const auto &c : tx->rec.chains) known = known || c.chain == p;
      if (!known)
        co_return Error{code::kXaPostData, "path " + p + " is not part of XA transaction " + xid +
                                              "; " + wanted + " acts on every chain the transaction started on"};
    }
    if (tx->starting && commit) co_return Error{code::kXaBusy, "XA transaction " + xid + " is still starting"};
    if (!tx->rec.decision.empty() && tx->rec.decision != wanted)
      co_return Error{code::kXaConflict, "XA transaction " + xid + " is already decided: " + tx->rec.decision};
    if (commit && tx->rec.decision.empty() && tx->inflight > 0)
      co_return Error{code::kXaBusy, "a step of XA transaction " + xid + " is still being sent; commit after it answers"};
  }
  if (tx->rec.decision.empty()) {
    if (commit) {
      Status known = co_await resolve_unknown_steps(tx);
      if (!known.ok()) co_return known.error();
    }
    std::int64_t at = now_ms();
    {
      std::lock_guard lock(mu_);
      if (tx->rec.decision.empty()) {
        if (commit && tx->inflight > 0)
          co_return Error{code::kXaBusy,
                          "a step of XA transaction " + xid + " is still being sent; commit after it answers"};
        tx->rec.decision = wanted;
        tx->rec.status = commit ? "committing" : "rollingback";
        (commit ? tx->rec.commit_ms : tx->rec.rollback_ms) = at;
      } else if (tx->rec.decision != wanted) {
        co_return Error{code::kXaConflict, "XA transaction " + xid + " is already decided: " + tx->rec.decision};
      }
    }
    // A chain that was never sent anything (its start deferred to a step that never came) has no branch: the
    // decision is logged as reaching it, in the same write, and nothing is sent there.
    std::vector<std::string> untouched;
    {
      std::lock_guard lock(mu_);
      for (const auto &c : tx->rec.chains)
        if (auto b = tx->branches.find(c.chain); c.state == "open" && b != tx->branches.end() && !b->second.sent)
          untouched.push_back(c.chain);
    }
    std::vector<store::Store::WriteFn> writes;
    writes.push_back(store::xa_set_status(xid, commit ? "committing" : "rollingback", wanted, commit ? at : 0,
                                          commit ? 0 : at, tx->rec.note));
    for (const auto &c : untouched) writes.push_back(store::xa_set_chain(xid, c, "done", kNeverStarted));
    Status s = co_await durable(all_writes(std::move(writes)));
    if (!s.ok()) {
      std::lock_guard lock(mu_);
      tx->rec.decision.clear();
      tx->rec.status = "processing";
      co_return Error{code::kXaLog, "the XA log could not record the decision: " + s.error().message};
    }
    {
      std::lock_guard lock(mu_);
      for (auto &c : tx->rec.chains)
        if (std::find(untouched.begin(), untouched.end(), c.chain) != untouched.end()) {
          c.state = "done";
          c.message = kNeverStarted;
        }
    }
    failpoint::hit("xa.after_decision");
  }
  bool inline_round = false;
  {
    std::lock_guard lock(mu_);
    if (!tx->driving) inline_round = tx->driving = true;
  }
  if (inline_round) {
    bool done = co_await round(tx);
    if (!done) {
      spawn_driver(tx); // keeps `driving` set
    } else {
      std::lock_guard lock(mu_);
      tx->driving = false;
    }
  } else {
    auto until = std::chrono::steady_clock::now() + options_.answer_wait;
    for (;;) {
      {
        std::lock_guard lock(mu_);
        if (tx->finished || std::chrono::steady_clock::now() >= until) break;
      }
      co_await sleep_for(std::chrono::milliseconds(20));
    }
  }
  std::lock_guard lock(mu_);
  co_return answer_of(*tx);
}

asio::awaitable<Status> Coordinator::resolve_unknown_steps(TxPtr tx) {
  std::map<std::string, std::vector<store::XaStepRecord>> by_chain;
  std::string id;
  {
    std::lock_guard lock(mu_);
    id = tx->rec.id;
    for (const auto &[seq, s] : tx->steps)
      if (s.outcome == "pending" || s.outcome == "unknown") by_chain[chain_of(s.path)].push_back(s);
  }
  if (by_chain.empty()) co_return Ok{};
  std::vector<std::string> still;
  for (auto &[chain_path, steps] : by_chain) {
    auto chain = registry_.chain(chain_path);
    std::map<std::int64_t, json::object> on_chain;
    if (chain) {
      std::string body = json::serialize(json::object{{"xaTransactionID", id}});
      AdapterAnswer a = co_await chains_.invoke_answer(chain, Verb::XaStatus, std::move(body));
      if (a.ok()) {
        boost::system::error_code ec;
        json::value v = json::parse(a.data, ec);
        if (!ec && v.is_object())
          if (auto *st = v.as_object().if_contains("steps"); st && st->is_array())
            for (const auto &e : st->as_array())
              if (e.is_object())
                if (auto *q = e.as_object().if_contains("seq"); q && q->is_number())
                  on_chain[q->to_number<std::int64_t>()] = e.as_object();
      }
    }
    for (auto &s : steps) {
      json::object answer;
      if (auto it = on_chain.find(s.seq); it != on_chain.end()) {
        const auto &e = it->second;
        answer = json::object{{"errorCode", 0},
                              {"message", "Success"},
                              {"hash", e.contains("hash") ? e.at("hash") : json::value("")},
                              {"extraHashes", nullptr},
                              {"blockNumber", 0},
                              {"result", e.contains("result") ? e.at("result") : json::array{}},
                              {"timestamp", 0}};
        s.outcome = "ok";
      } else if (!s.hash.empty() && chain) {
        std::string body = json::serialize(json::object{{"hash", s.hash}});
        AdapterAnswer a = co_await chains_.invoke_answer(chain, Verb::GetReceipt, std::move(body));
        auto receipt = a.ok() ? parse_receipt(a.data, chain_path) : Result<Receipt>(Error{});
        if (!receipt.ok()) {
          still.push_back(std::to_string(s.seq) + " (" + s.hash + ")");
          continue;
        }
        json::array result;
        for (const auto &x : receipt->result) result.emplace_back(x);
        answer = json::object{{"errorCode", receipt->error_code}, {"message", receipt->message},
                              {"hash", s.hash},                  {"extraHashes", nullptr},
                              {"blockNumber", receipt->block_number}, {"result", std::move(result)},
                              {"timestamp", receipt->timestamp}};
        s.outcome = receipt->error_code == 0 ? "ok" : "failed";
      } else {
        still.push_back(std::to_string(s.seq) + (s.hash.empty() ? " (never acknowledged)" : " (" + s.hash + ")"));
        continue;
      }
      s.answer = json::serialize(answer);
      auto w = store::xa_put_step(id, s);
      Status logged = co_await durable(std::move(w));
      if (!logged.ok()) co_return Error{code::kXaLog, "the XA log could not record a step: " + logged.error().message};
      std::lock_guard lock(mu_);
      tx->steps[s.seq] = s;
    }
  }
  if (still.empty()) co_return Ok{};
  std::string list;
  for (const auto &s : still) list += (list.empty() ? "" : ", ") + s;
  co_return Error{code::kXaUnknownStep, "XA transaction " + id + ": the outcome of step(s) " + list +
                                            " on their chain is not known yet; commit again later, or roll back"};
}

asio::awaitable<Result<json::object>> Coordinator::step(Actor who, StepRequest req) {
  auto found = find_open(req.xid);
  if (!found.ok()) {
    auto rec = store::xa_get(store_, req.xid);
    if (rec.ok() && *rec)
      co_return Error{code::kXaConflict, "XA transaction " + req.xid + " has ended (" + (*rec)->status +
                                             "); a step cannot join it"};
    co_return Error{code::kXaNotFound, "no open XA transaction " + req.xid + "; start it first"};
  }
  TxPtr tx = *found;
  store::XaStepRecord step;
  step.seq = req.seq;
  step.path = req.path;
  step.method = req.tx.method;
  step.args = json_text(req.tx.args);
  step.user = who.name;
  step.at_ms = now_ms();
  bool resend = false;
  std::vector<std::string> ticket; // the branch's resources when its start rides on this step
  const std::string chain_path = chain_of(req.path);
  {
    std::lock_guard lock(mu_);
    if (!who.admin && tx->rec.user_id != who.user_id)
      co_return Error{code::kXaPermission, "XA transaction " + req.xid + " belongs to another user"};
    if (tx->finished) // its end not yet in the log: answered as the log will answer
      co_return Error{code::kXaConflict, "XA transaction " + req.xid + " has ended (" + tx->rec.status +
                                             "); a step cannot join it"};
    if (tx->starting) co_return Error{code::kXaBusy, "XA transaction " + req.xid + " is still starting"};
    if (!tx->rec.decision.empty())
      co_return Error{code::kXaConflict, "XA transaction " + req.xid + " is decided (" + tx->rec.decision +
                                             "); no more steps"};
    if (!tx->paths.count(req.path))
      co_return Error{code::kXaPostData, "resource " + req.path + " is not part of XA transaction " + req.xid +
                                             "; start a transaction that names it"};
    if (auto it = tx->steps.find(req.seq); it != tx->steps.end()) {
      const auto &old = it->second;
      if (old.path != step.path || old.method != step.method || old.args != step.args)
        co_return Error{code::kXaConflict, "seq " + std::to_string(req.seq) + " of XA transaction " + req.xid +
                                               " is already a different step (" + old.path + " " + old.method +
                                               "); use a new seq"};
      if (old.outcome == "ok" || old.outcome == "failed") {
        boost::system::error_code ec;
        json::value v = json::parse(old.answer, ec);
        if (!ec && v.is_object()) co_return v.as_object(); // the recorded answer, not a second execution
      }
      resend = true; // its outcome is unknown: the chain's proxy answers a repeated seq from its record
      step.hash = old.hash;
    }
    Branch &b = tx->branches[chain_path];
    if (b.lazy && !b.started) ticket = b.names; // every step until one succeeds carries it; a repeat is harmless
    b.sent = true;
    ++tx->inflight;
    tx->steps[req.seq] = step;
  }
  Inflight done{this, tx};
  if (!resend) {
    // Queued, not awaited: recovery does not need it. Without a logged decision the transaction is rolled back on
    // every chain the start record names, and a chain's proxy undoes every step it executed, logged here or not;
    // a step that reaches the chain after that meets the tombstone. The store writes in order, so the record lands
    // before the step's outcome and before any decision of this transaction, which is awaited; it needs no fsync
    // of its own either, since the decision's fsync takes every earlier write of the log along.
    Status queued = store_.write_async(
        store::xa_put_step(req.xid, step),
        [xid = req.xid, seq = req.seq](Status st) {
          if (!st.ok()) spdlog::warn("XA {}: step {} not logged ({})", xid, seq, st.error().message);
        },
        store::Store::Sync::kLazy);
    if (!queued.ok()) {
      std::lock_guard lock(mu_);
      tx->steps.erase(req.seq);
      co_return Error{code::kXaLog, "the XA log could not record the step: " + queued.error().message};
    }
    failpoint::hit("xa.after_step_log");
  }
  auto chain = registry_.chain(chain_path);
  if (!chain) co_return Error{code::kChainUnreachable, "chain " + chain_path + " is not configured"};
  req.tx.options["XA_TRANSACTION_ID"] = req.xid;
  req.tx.options["XA_TRANSACTION_SEQ"] = req.seq;
  if (!ticket.empty())
    req.tx.options["XA_START"] =
        json::object{{"resources", json::array(ticket.begin(), ticket.end())}, {"account", chain->default_account}};
  json::array args;
  for (auto &a : req.tx.args) args.emplace_back(a);
  std::string body = json::serialize(json::object{{"resource", req.tx.resource},
                                                  {"method", req.tx.method},
                                                  {"args", std::move(args)},
                                                  {"account", req.tx.account},
                                                  {"options", req.tx.options}});
  AdapterAnswer a = co_await chains_.invoke_answer(chain, Verb::SendTransaction, std::move(body));
  failpoint::hit("xa.after_step_chain");
  Result<json::object> out = Error{};
  if (a.ok()) {
    auto parsed = parse_tx_outcome(a.data, chain->path);
    if (!parsed.ok()) {
      step.outcome = "unknown";
      out = parsed.error();
    } else {
      json::array result;
      for (const auto &s : parsed->result) result.emplace_back(s);
      json::object o{{"errorCode", parsed->error_code}, {"message", parsed->message},
                     {"hash", parsed->hash},            {"extraHashes", parsed->extra_hashes},
                     {"blockNumber", parsed->block_number}, {"result", std::move(result)},
                     {"timestamp", parsed->timestamp}};
      step.outcome = parsed->error_code == 0 ? "ok" : "failed";
      step.hash = parsed->hash;
      step.answer = json::serialize(o);
      if (parsed->block_number > 0) chain->raise_height(static_cast<uint64_t>(parsed->block_number));
      out = std::move(o);
    }
  } else {
    // A signed transaction that timed out names its hash: its outcome is unknown until the chain tells.
    std::string hash;
    boost::system::error_code ec;
    json::value d = json::parse(a.data, ec);
    if (!ec && d.is_object())
      if (auto *h = d.as_object().if_contains("hash"); h && h->is_string()) hash = std::string(h->as_string());
    step.outcome = hash.empty() ? "failed" : "unknown";
    step.hash = hash;
    out = error_from_answer(a, Verb::SendTransaction);
  }
  {
    std::lock_guard lock(mu_);
    tx->steps[req.seq] = step;
    if (step.outcome == "ok") tx->branches[chain_path].started = true;
  }
  // The outcome is queued lazily, not waited for: the answer does not need it durable, since a step logged
  // "pending" is settled from its chain (xa_status, then its receipt) before any decision, and the store writes in
  // order, so it lands before a later decision of this transaction and is synced with it.
  auto queued = store_.write_async(
      store::xa_put_step(req.xid, step),
      [xid = req.xid, seq = req.seq](Status s) {
        if (!s.ok())
          spdlog::warn("XA {}: step {} outcome not logged ({}); settled from its chain at commit", xid, seq,
                       s.error().message);
      },
      store::Store::Sync::kLazy);
  if (!queued.ok()) spdlog::warn("XA {}: step {} outcome not logged: {}", req.xid, req.seq, queued.error().message);
  co_return out;
}

asio::awaitable<Status> Coordinator::prepare_call(Actor who, std::string xid, std::string path, bool read) {
  TxPtr tx;
  std::vector<std::string> names;
  const std::string chain_path = chain_of(path);
  {
    std::unique_lock lock(mu_);
    auto it = open_.find(xid);
    if (it == open_.end()) {
      lock.unlock();
      auto rec = store::xa_get(store_, xid);
      if (rec.ok() && *rec)
        co_return Error{code::kXaConflict, "XA transaction " + xid + " has ended (" + (*rec)->status + ")"};
      co_return Error{code::kXaNotFound, "no open XA transaction " + xid + "; start it first"};
    }
    tx = it->second;
    if (!who.admin && tx->rec.user_id != who.user_id)
      co_return Error{code::kXaPermission, "XA transaction " + xid + " belongs to another user"};
    // Ended, its end not yet in the log: answered as the log will answer.
    if (tx->finished)
      co_return Error{code::kXaConflict, "XA transaction " + xid + " has ended (" + tx->rec.status + ")"};
    if (!tx->paths.count(path))
      co_return Error{code::kXaPostData, "resource " + path + " is not part of XA transaction " + xid};
    auto b = tx->branches.find(chain_path);
    if (!read || b == tx->branches.end() || !b->second.lazy || b->second.started) co_return Ok{};
    if (!tx->rec.decision.empty())
      co_return Error{code::kXaConflict, "XA transaction " + xid + " is decided (" + tx->rec.decision + ")"};
    // A read locks first, as a start would have: the deferred start runs now, on this chain alone.
    b->second.sent = true;
    names = b->second.names;
    ++tx->inflight;
  }
  Inflight done{this, tx};
  auto chain = registry_.chain(chain_path);
  if (!chain) co_return Error{code::kChainUnreachable, "chain " + chain_path + " is not configured"};
  std::string body = json::serialize(json::object{{"xaTransactionID", xid},
                                                  {"resources", json::array(names.begin(), names.end())},
                                                  {"account", chain->default_account}});
  AdapterAnswer a = co_await chains_.invoke_answer(chain, Verb::XaStart, std::move(body), options_.action_deadline_ms);
  failpoint::hit("xa.after_start_chain");
  if (!a.ok()) co_return error_from_answer(a, Verb::XaStart);
  std::lock_guard lock(mu_);
  tx->branches[chain_path].started = true;
  co_return Ok{};
}

json::object Coordinator::transaction_json(const store::XaRecord &r,
                                           const std::map<std::int64_t, store::XaStepRecord> &steps) {
  json::array paths;
  for (const auto &p : strings_of(r.paths)) paths.emplace_back(p);
  json::array list;
  for (const auto &[seq, s] : steps)
    list.push_back(json::object{{"xaTransactionSeq", seq},
                                {"username", s.user},
                                {"path", s.path},
                                {"timestamp", s.at_ms},
                                {"method", s.method},
                                {"args", s.args},
                                {"outcome", s.outcome}});
  json::object o{{"xaTransactionID", r.id}, {"username", r.user},       {"status", r.status},
                 {"startTimestamp", r.started_ms}, {"paths", std::move(paths)}, {"xaTransactionSteps", std::move(list)}};
  if (r.commit_ms) o["commitTimestamp"] = r.commit_ms;
  if (r.rollback_ms) o["rollbackTimestamp"] = r.rollback_ms;
  if (!r.note.empty()) o["note"] = r.note;
  return o;
}

asio::awaitable<Result<json::object>> Coordinator::get(Actor who, std::string xid, std::vector<std::string> paths) {
  store::XaRecord rec;
  std::map<std::int64_t, store::XaStepRecord> steps;
  if (auto found = find_open(xid); found.ok()) {
    std::lock_guard lock(mu_);
    rec = (*found)->rec;
    steps = (*found)->steps;
  } else {
    auto r = store::xa_get(store_, xid);
    if (!r.ok()) co_return r.error();
    if (!*r) co_return Error{code::kXaNotFound, "no XA transaction " + xid};
    rec = std::move(**r);
    for (auto &s : rec.steps) steps[s.seq] = std::move(s);
    rec.steps.clear();
  }
  if (!who.admin && rec.user_id != who.user_id)
    co_return Error{code::kXaPermission, "XA transaction " + xid + " belongs to another user"};
  for (const auto &p : paths) {
    bool known = false;
    for (const auto &c : rec.chains) known = known || c.chain == p || chain_of(p) == c.chain;
    if (!known) co_return Error{code::kXaPostData, "path " + p + " is not part of XA transaction " + xid};
  }
  // Each chain's own view, asked at once; differences from the log are shown, not hidden.
  std::vector<std::function<asio::awaitable<AdapterAnswer>()>> jobs;
  for (const auto &c : rec.chains) {
    jobs.push_back([this, path = c.chain, xid]() -> asio::awaitable<AdapterAnswer> {
      auto chain = registry_.chain(path);
      if (!chain) co_return AdapterAnswer{WEFT_E_UNAVAILABLE, "chain " + path + " is not configured", ""};
      std::string body = json::serialize(json::object{{"xaTransactionID", xid}});
      AdapterAnswer a = co_await chains_.invoke_answer(chain, Verb::XaStatus, std::move(body), 5000);
      co_return a;
    });
  }
  auto answers = co_await all_of<AdapterAnswer>(std::move(jobs));
  XaAnswer head;
  json::array chains, differences;
  std::string expect = rec.status == "committed" ? "committed" : rec.status == "rolledback" ? "rolledback" : "";
  for (size_t i = 0; i < rec.chains.size(); ++i) {
    const auto &c = rec.chains[i];
    json::object entry{{"path", c.chain}, {"logged", c.state}};
    if (!c.message.empty()) entry["message"] = c.message;
    const AdapterAnswer &a = answers[i];
    if (!a.ok()) {
      head.status = -1;
      head.chain_errors.push_back(chain_error(c.chain, a.message));
      entry["onChain"] = "unknown";
    } else {
      boost::system::error_code ec;
      json::value v = json::parse(a.data, ec);
      std::string on_chain = "unknown";
      std::set<std::int64_t> chain_steps;
      if (!ec && v.is_object()) {
        const auto &o = v.as_object();
        if (auto *s = o.if_contains("status"); s && s->is_string()) on_chain = std::string(s->as_string());
        if (auto *st = o.if_contains("steps"); st && st->is_array())
          for (const auto &e : st->as_array())
            if (e.is_object())
              if (auto *q = e.as_object().if_contains("seq"); q && q->is_number())
                chain_steps.insert(q->to_number<std::int64_t>());
      }
      entry["onChain"] = on_chain;
      entry["steps"] = chain_steps.size();
      // A branch with no successful step may never have started (its start deferred to a step), or was released
      // by a rollback at commit: "none" or "rolledback" there is what the log expects.
      bool any_ok = false;
      for (const auto &[seq, s] : steps) any_ok = any_ok || (chain_of(s.path) == c.chain && s.outcome == "ok");
      bool branchless = !any_ok && (on_chain == "none" || (on_chain == "rolledback" && rec.decision == "commit"));
      if (!expect.empty() && on_chain != expect && !branchless)
        differences.emplace_back("the log says " + rec.status + ", " + c.chain + " says " + on_chain);
      if (expect.empty() && rec.decision.empty() && on_chain != "processing" && on_chain != "unknown" && !branchless)
        differences.emplace_back("the log says processing, " + c.chain + " says " + on_chain);
      for (const auto &[seq, s] : steps) {
        if (chain_of(s.path) != c.chain) continue;
        bool there = chain_steps.count(seq) > 0;
        if (s.outcome == "ok" && !there && on_chain != "rolledback")
          differences.emplace_back("step " + std::to_string(seq) + " succeeded by the log but " + c.chain +
                                   " has no record of it");
        if (s.outcome == "failed" && there)
          differences.emplace_back("step " + std::to_string(seq) + " is " + s.outcome + " in the log but " + c.chain +
                                   " recorded it");
      }
    }
    chains.push_back(std::move(entry));
  }
  co_return json::object{{"xaResponse", head.json()},
                         {"xaTransaction", transaction_json(rec, steps)},
                         {"chains", std::move(chains)},
                         {"differences", std::move(differences)}};
}

asio::awaitable<Result<json::object>> Coordinator::list(Actor who, std::int64_t size,
                                                        std::map<std::string, std::int64_t> offsets,
                                                        std::string chain_filter) {
  if (size <= 0 || size > 1024) co_return Error{code::kXaPostData, "size must be 1 to 1024"};
  std::vector<std::string> chain_paths;
  for (const auto &c : registry_.chains())
    if (chain_filter.empty() || c->path == chain_filter) chain_paths.push_back(c->path);
  for (const auto &[c, off] : offsets)
    if (off < 0) co_return Error{code::kXaPostData, "offset of " + c + " must not be negative"};
  // Each chain's transactions, newest first, from its offset; merged newest first, each id once.
  std::map<std::string, std::vector<store::XaListEntry>> lists;
  std::map<std::string, size_t> pos;
  for (const auto &c : chain_paths) {
    auto l = store::xa_list_chain(store_, c, offsets.count(c) ? offsets[c] : 0, size);
    if (!l.ok()) co_return l.error();
    lists[c] = std::move(*l);
    pos[c] = 0;
  }
  auto newer = [](const store::XaListEntry &a, const store::XaListEntry &b) {
    return a.started_ms != b.started_ms ? a.started_ms > b.started_ms : a.id > b.id;
  };
  json::array items;
  std::set<std::string> seen;
  while (static_cast<std::int64_t>(items.size()) < size) {
    const store::XaListEntry *best = nullptr;
    for (const auto &c : chain_paths)
      if (pos[c] < lists[c].size() && (!best || newer(lists[c][pos[c]], *best))) best = &lists[c][pos[c]];
    if (!best) break;
    store::XaListEntry pick = *best;
    for (const auto &c : chain_paths)
      if (pos[c] < lists[c].size() && lists[c][pos[c]].id == pick.id) ++pos[c];
    if (!seen.insert(pick.id).second) continue;
    auto rec = store::xa_get(store_, pick.id);
    if (!rec.ok()) co_return rec.error();
    if (!*rec) continue;
    const auto &r = **rec;
    if (!who.admin && r.user_id != who.user_id) continue;
    std::string status = r.status;
    {
      std::lock_guard lock(mu_);
      if (auto it = open_.find(r.id); it != open_.end()) status = it->second->rec.status;
    }
    json::array paths;
    for (const auto &p : strings_of(r.paths)) paths.emplace_back(p);
    items.push_back(json::object{{"xaTransactionID", r.id},
                                 {"username", r.user},
                                 {"status", status},
                                 {"timestamp", r.started_ms},
                                 {"paths", std::move(paths)}});
  }
  json::object next;
  bool finished = true;
  for (const auto &c : chain_paths) {
    std::int64_t start = offsets.count(c) ? offsets[c] : 0;
    next[c] = start + static_cast<std::int64_t>(pos[c]);
    if (pos[c] < lists[c].size() || static_cast<std::int64_t>(lists[c].size()) == size) finished = false;
  }
  co_return json::object{{"xaList", std::move(items)}, {"nextOffsets", std::move(next)}, {"finished", finished}};
}

asio::awaitable<Result<json::object>> Coordinator::resolve(Actor who, std::string xid, std::string note) {
  if (!who.admin) co_return Error{code::kXaPermission, "only an admin may resolve a heuristic XA transaction"};
  auto rec = store::xa_get(store_, xid);
  if (!rec.ok()) co_return rec.error();
  if (!*rec) co_return Error{code::kXaNotFound, "no XA transaction " + xid};
  if ((*rec)->status != "heuristic")
    co_return Error{code::kXaConflict, "XA transaction " + xid + " is " + (*rec)->status +
                                           "; only a heuristic one is resolved by hand"};
  std::string text = "resolved by " + (who.name.empty() ? std::string("an admin") : who.name) +
                     (note.empty() ? "" : ": " + note) + " (was: " + (*rec)->note + ")";
  auto w = store::xa_set_status(xid, "resolved", (*rec)->decision, 0, 0, text);
  Status s = co_await durable(std::move(w));
  if (!s.ok()) co_return Error{code::kXaLog, "the XA log could not record it: " + s.error().message};
  spdlog::info("XA {}: {}", xid, text);
  co_return json::object{{"xaTransactionID", xid}, {"status", "resolved"}, {"note", text}};
}

std::map<std::string, std::int64_t> Coordinator::counts() {
  std::map<std::string, std::int64_t> out;
  for (const char *s : {"processing", "committing", "rollingback", "committed", "rolledback", "heuristic", "resolved"})
    out[s] = 0;
  auto c = store::xa_status_counts(store_);
  if (c.ok())
    for (const auto &[status, n] : *c) out[status] = n;
  return out;
}

} // namespace weft::xa
