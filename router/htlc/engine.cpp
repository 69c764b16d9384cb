#include "engine.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <openssl/rand.h>
#include <openssl/sha.h>

#include <spdlog/spdlog.h>

#include <weft/text.hpp>

#include <algorithm>
#include <atomic>
#include <deque>
#include <vector>

#include "accounts/key_vault.h"
#include "core/failpoint.h"
#include "store/async_write.h"

namespace weft::htlc {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

constexpr int kBadProposal = 70101; // a field of the proposal is missing or malformed
constexpr int kUnsafe = 70102;      // the timelocks break the safety rule
constexpr int kNotFound = 70404;
constexpr int kConflict = 70409;    // cancel after a lock, or the like
constexpr int kPermission = 70506;
constexpr int kNoVault = 70503;     // a secret given, but no master key to seal it with

std::int64_t local_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool terminal(const std::string &state) {
  return state == "completed" || state == "refunded" || state == "failed" || state == "cancelled";
}

bool is_hex32(const std::string &s) {
  return s.size() == 66 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && text::is_hex(std::string_view(s).substr(2));
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string hex(const unsigned char *p, size_t n) {
  static const char *d = "0123456789abcdef";
  std::string out = "0x";
  for (size_t i = 0; i < n; ++i) {
    out += d[p[i] >> 4];
    out += d[p[i] & 15];
  }
  return out;
}

std::vector<std::uint8_t> unhex(const std::string &s) {
  std::vector<std::uint8_t> out;
  for (size_t i = 2; i + 1 < s.size(); i += 2) out.push_back(static_cast<std::uint8_t>(std::stoi(s.substr(i, 2), nullptr, 16)));
  return out;
}

std::string sha256_hex(const std::vector<std::uint8_t> &bytes) {
  unsigned char md[32];
  SHA256(bytes.data(), bytes.size(), md);
  return hex(md, 32);
}

std::string str(const json::object &o, const char *key) {
  auto *v = o.if_contains(key);
  if (!v) return "";
  if (v->is_string()) return std::string(v->as_string());
  if (v->is_number()) return std::to_string(v->to_number<std::int64_t>());
  return "";
}

std::int64_t num(const json::object &o, const char *key) {
  auto *v = o.if_contains(key);
  if (!v) return 0;
  if (v->is_number()) return v->to_number<std::int64_t>();
  if (v->is_string()) {
    try {
      return std::stoll(std::string(v->as_string()));
    } catch (...) {
      return 0;
    }
  }
  return 0;
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer t(ex, d);
  co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
}

bool decimal_amount(const std::string &s) {
  return !s.empty() && s.size() <= 20 && std::all_of(s.begin(), s.end(), ::isdigit) && !(s.size() > 1 && s[0] == '0') &&
         s != "0";
}

} // namespace

struct Engine::Swap {
  store::HtlcSwapRecord rec;
  json::object proposal;
  json::object progress;
  std::shared_ptr<asio::steady_timer> timer; // the driver's wait; a wake-up cancels it (on the strand)
  bool woken = false;
  bool running = false;
};

struct Engine::Shared {
  std::atomic<bool> stopping{false};
};

Engine::Engine(store::Store &store, const Registry &registry, ChainService &chains, accounts::KeyVault *vault,
               Options options, asio::any_io_executor executor)
    : store_(store), registry_(registry), chains_(chains), vault_(vault), options_(options),
      executor_(std::move(executor)), shared_(std::make_shared<Shared>()) {}

Engine::~Engine() { stop(); }

void Engine::stop() {
  if (shared_->stopping.exchange(true)) return;
  {
    std::lock_guard lock(mu_); // under mu_, so the watcher cannot miss the wake between its check and its wait
  }
  watch_cv_.notify_all();
  if (watcher_.joinable()) watcher_.join(); // a subscription on its way finishes first, and is undone below
  std::map<std::string, std::uint64_t> subs;
  {
    std::lock_guard lock(mu_);
    subs.swap(watched_);
  }
  for (const auto &[key, sub] : subs) {
    auto chain = registry_.chain(key.substr(0, key.find('/')));
    if (chain && chain->handle()) chain->handle()->unsubscribe(sub);
  }
}

asio::awaitable<Status> Engine::durable(store::Store::WriteFn fn) {
  auto s = co_await store::durable_write(store_, std::move(fn));
  co_return s;
}

asio::awaitable<Status> Engine::save(SwapPtr s, std::string state, std::string note) {
  std::string progress, id;
  {
    std::lock_guard lock(mu_);
    progress = json::serialize(s->progress);
    id = s->rec.id;
    if (note.empty()) note = s->rec.note;
  }
  auto w = store::htlc_update(id, state, progress, note, local_ms());
  Status st = co_await durable(std::move(w));
  if (st.ok()) {
    std::lock_guard lock(mu_);
    s->rec.state = state;
    s->rec.note = note;
    s->rec.updated_ms = local_ms();
  }
  co_return st;
}

Status Engine::recover() {
  auto rows = store::htlc_unfinished(store_);
  if (!rows.ok()) return rows.error();
  for (auto &r : *rows) {
    auto s = std::make_shared<Swap>();
    boost::system::error_code ec;
    json::value p = json::parse(r.proposal, ec);
    json::value g = json::parse(r.progress, ec);
    if (!p.is_object()) {
      spdlog::error("HTLC {}: its proposal in the store is not JSON; left as it is", r.id);
      continue;
    }
    s->proposal = p.as_object();
    s->progress = g.is_object() ? g.as_object() : json::object{};
    s->rec = std::move(r);
    {
      std::lock_guard lock(mu_);
      open_[s->rec.id] = s;
    }
    spdlog::info("HTLC {}: resuming from {}", s->rec.id, s->rec.state);
    spawn(s);
  }
  asio::co_spawn(executor_, clock_loop(), [](std::exception_ptr) {});
  return Ok{};
}

void Engine::spawn(SwapPtr s) {
  {
    std::lock_guard lock(mu_);
    if (s->running) return;
    s->running = true;
  }
  watch(str(s->proposal.at("initiator").as_object(), "chain"), str(s->proposal.at("initiator").as_object(), "resource"));
  watch(str(s->proposal.at("participant").as_object(), "chain"),
        str(s->proposal.at("participant").as_object(), "resource"));
  asio::co_spawn(executor_, drive(s), [id = s->rec.id](std::exception_ptr e) {
    if (e) spdlog::error("HTLC {}: its driver ended by an exception", id);
  });
}

// Events of an HTLC resource wake the swap they name at once; without them (or after a gap) polling still finds out.
void Engine::watch(const std::string &chain_path, const std::string &resource) {
  std::string key = chain_path + "/" + resource;
  {
    std::lock_guard lock(mu_);
    if (watched_.count(key) || watching_.count(key) || shared_->stopping) return;
    watching_.insert(key);
    to_watch_.push_back(key);
    if (!watcher_.joinable()) watcher_ = std::thread([this] { watcher_loop(); });
  }
  watch_cv_.notify_one();
}

void Engine::watcher_loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    watch_cv_.wait(lock, [&] { return shared_->stopping || !to_watch_.empty(); });
    if (shared_->stopping) return;
    std::string key = std::move(to_watch_.front());
    to_watch_.pop_front();
    lock.unlock();
    subscribe_now(key);
    lock.lock();
    watching_.erase(key);
  }
}

void Engine::subscribe_now(const std::string &key) {
  const auto slash = key.find('/');
  const std::string chain_path = key.substr(0, slash), resource = key.substr(slash + 1);
  auto chain = registry_.chain(chain_path);
  auto handle = chain ? chain->handle() : nullptr;
  if (!handle || !handle->supports_subscribe()) return;
  std::uint64_t sub = 0;
  std::string req = json::serialize(json::object{{"kind", "events"}, {"resource", resource}, {"from", nullptr}});
  auto on_record = [this, shared = shared_](std::string_view record) {
    if (shared->stopping) return;
    boost::system::error_code ec;
    json::value v = json::parse(record, ec);
    if (ec || !v.is_object()) return;
    const auto &o = v.as_object();
    if (str(o, "kind") != "event") return;
    const auto *d = o.if_contains("data");
    if (!d || !d->is_object()) return;
    std::string id = lower(str(d->as_object(), "id"));
    asio::post(executor_, [this, shared, id] {
      if (!shared->stopping) wake(id);
    });
  };
  AdapterAnswer a = handle->subscribe(req, on_record, sub);
  if (!a.ok()) {
    spdlog::debug("HTLC: no event stream from {} {}: {}; polling", chain_path, resource, a.message);
    return;
  }
  // The stream starts now, and a swap on this resource may have acted before it did: each takes one look at once
  // rather than wait for its next poll.
  std::vector<std::string> on_it;
  {
    std::lock_guard lock(mu_);
    watched_[key] = sub;
    for (const auto &[id, s] : open_)
      for (const char *side : {"initiator", "participant"}) {
        const auto &p = s->proposal.at(side).as_object();
        if (str(p, "chain") == chain_path && str(p, "resource") == resource) on_it.push_back(id);
      }
  }
  for (auto &id : on_it)
    asio::post(executor_, [this, shared = shared_, id = std::move(id)] {
      if (!shared->stopping) wake(id);
    });
}

void Engine::wake(const std::string &id) {
  SwapPtr s;
  {
    std::lock_guard lock(mu_);
    auto it = open_.find(id);
    if (it == open_.end()) return;
    s = it->second;
    s->woken = true;
  }
  if (s->timer) s->timer->cancel(); // on the strand, as the driver's wait
}

asio::awaitable<void> Engine::drive(SwapPtr s) {
  auto backoff = options_.poll;
  while (!shared_->stopping) {
    bool done = false;
    try {
      done = co_await step(s);
    } catch (const std::exception &e) {
      spdlog::error("HTLC {}: {}", s->rec.id, e.what());
    }
    if (done) break;
    bool acted = false;
    {
      std::lock_guard lock(mu_);
      acted = s->woken;
      s->woken = false;
    }
    if (acted) continue;
    auto ex = co_await asio::this_coro::executor;
    auto t = std::make_shared<asio::steady_timer>(ex, backoff);
    s->timer = t;
    co_await t->async_wait(asio::as_tuple(asio::use_awaitable));
    backoff = options_.poll;
  }
  std::lock_guard lock(mu_);
  s->running = false;
  if (terminal(s->rec.state)) open_.erase(s->rec.id);
}

asio::awaitable<json::object> Engine::lock_status(std::shared_ptr<Chain> chain, json::object side, std::string id) {
  std::string body =
      json::serialize(json::object{{"resource", str(side, "resource")}, {"sender", str(side, "sender")}, {"id", id}});
  AdapterAnswer a = co_await chains_.invoke_answer(chain, Verb::HtlcStatus, std::move(body), 10000);
  if (!a.ok()) co_return json::object{{"state", "unknown"}, {"error", a.message}};
  boost::system::error_code ec;
  json::value v = json::parse(a.data, ec);
  if (ec || !v.is_object()) co_return json::object{{"state", "unknown"}, {"error", "malformed status"}};
  co_return v.as_object();
}

namespace {
// Who signs a party's claim on the other side's chain: its account there (swaps proposed before receiveAccount
// existed have only the one account).
std::string claimer(const json::object &side) {
  const auto *r = side.if_contains("receiveAccount");
  return r && r->is_string() ? std::string(r->get_string()) : str(side, "account");
}
} // namespace

// One look at both chains and at most one action; true once the swap has ended.
asio::awaitable<bool> Engine::step(SwapPtr s) {
  json::object I, P;
  std::string id, state;
  std::optional<std::vector<std::uint8_t>> held_secret;
  {
    std::lock_guard lock(mu_);
    I = s->proposal.at("initiator").as_object();
    P = s->proposal.at("participant").as_object();
    id = s->rec.id;
    state = s->rec.state;
  }
  if (terminal(state)) co_return true;
  watch(str(I, "chain"), str(I, "resource")); // a chain that was down at the start is watched once it is up
  watch(str(P, "chain"), str(P, "resource"));
  auto chain_i = registry_.chain(str(I, "chain"));
  auto chain_p = registry_.chain(str(P, "chain"));
  if (!chain_i || !chain_p) co_return false;

  json::object si = co_await lock_status(chain_i, I, id);
  json::object sp = co_await lock_status(chain_p, P, id);
  std::string a = str(si, "state"), b = str(sp, "state");
  if (a == "unknown" || b == "unknown") co_return false;

  auto matches = [&](const json::object &st, const json::object &side) {
    return lower(str(st, "receiver")) == lower(str(side, "receiver")) && str(st, "amount") == str(side, "amount") &&
           lower(str(st, "hash")) == lower(str(s->proposal, "hash")) && num(st, "timelock") == num(side, "timelock");
  };
  auto clock_i = clock_of(chain_i->path), clock_p = clock_of(chain_p->path);
  std::int64_t now_i = clock_i.ok() ? chain_now(*clock_i) : local_ms();
  std::int64_t now_p = clock_p.ok() ? chain_now(*clock_p) : local_ms();

  auto act = [&](std::shared_ptr<Chain> chain, Verb verb, json::object body) -> asio::awaitable<AdapterAnswer> {
    std::string text = json::serialize(body);
    AdapterAnswer r = co_await chains_.invoke_answer(chain, verb, std::move(text), 30000);
    co_return r;
  };
  auto record = [&](const std::string &what, const AdapterAnswer &r) {
    std::lock_guard lock(mu_);
    json::object o{{"ok", r.ok()}};
    if (r.ok()) {
      boost::system::error_code ec;
      json::value v = json::parse(r.data, ec);
      if (!ec && v.is_object()) o["txHash"] = str(v.as_object(), "txHash");
    } else {
      o["error"] = r.message;
    }
    s->progress[what] = std::move(o);
  };
  auto secret_of = [&](const json::object &st) { return lower(str(st, "secret")); };
  auto finish = [&](std::string end, std::string note) -> asio::awaitable<bool> {
    Status st = co_await save(s, end, std::move(note));
    co_return st.ok();
  };

  // The secret is public once either side is claimed: claim the other side with it at once.
  if (b == "claimed" || a == "claimed") {
    std::string secret = b == "claimed" ? secret_of(sp) : secret_of(si);
    if (a == "claimed" && b == "claimed") co_return co_await finish("completed", "both sides claimed");
    if (b == "claimed" && a == "locked") {
      if (now_i >= num(I, "timelock")) co_return co_await finish("failed", "the initiator's lock expired before the counterpart claim");
      if (state != "claiming_initiator" && !(co_await save(s, "claiming_initiator")).ok()) co_return false;
      failpoint::hit("htlc.before_counterpart_claim");
      json::object body{{"resource", str(I, "resource")}, {"sender", str(I, "sender")}, {"id", id},
                             {"secret", secret}, {"account", claimer(P)}};
      auto r = co_await act(chain_i, Verb::HtlcUnlock, std::move(body));
      record("initiatorClaim", r);
      co_return false; // the next look sees it claimed
    }
    if (a == "claimed" && b == "locked") {
      if (now_p >= num(P, "timelock")) co_return co_await finish("failed", "the participant's lock expired first");
      json::object body{{"resource", str(P, "resource")}, {"sender", str(P, "sender")}, {"id", id},
                             {"secret", secret}, {"account", claimer(I)}};
      auto r = co_await act(chain_p, Verb::HtlcUnlock, std::move(body));
      record("participantClaim", r);
      co_return false;
    }
    co_return co_await finish("failed", "one side claimed, the other " + (b == "claimed" ? a : b));
  }

  bool refunding = state == "refunding";
  // Nothing locked yet.
  if (a == "none") {
    if (b != "none")
      co_return co_await finish("cancelled", "the participant's chain already holds a lock under this id that does not "
                                             "match the proposal; nothing was locked for the swap");
    if (state == "cancelled") co_return true;
    if (refunding || now_i >= num(I, "timelock")) co_return co_await finish("refunded", "nothing was locked");
    if (state != "locking_initiator" && !(co_await save(s, "locking_initiator")).ok()) co_return false;
    json::object body{{"resource", str(I, "resource")}, {"id", id}, {"receiver", str(I, "receiver")},
                           {"amount", str(I, "amount")}, {"hash", str(s->proposal, "hash")},
                           {"timelock", num(I, "timelock")}, {"account", str(I, "account")}};
    auto r = co_await act(chain_i, Verb::HtlcLock, std::move(body));
    record("initiatorLock", r);
    if (!r.ok() && r.status == WEFT_E_REJECTED)
      co_return co_await finish("failed", "the initiator's chain refused its lock: " + r.message);
    co_return false;
  }
  if (a == "locked" && !matches(si, I))
    co_return co_await finish("failed", "the initiator's lock does not match the proposal");

  // Refunds: a locked side whose time has come, once the swap cannot complete.
  auto refund = [&](std::shared_ptr<Chain> chain, const json::object &side, std::string what) -> asio::awaitable<void> {
    json::object body{{"resource", str(side, "resource")}, {"sender", str(side, "sender")}, {"id", id},
                           {"account", str(side, "account")}};
    auto r = co_await act(chain, Verb::HtlcRefund, std::move(body));
    record(what, r);
  };
  if (b == "refunded" || refunding) {
    if (!refunding && !(co_await save(s, "refunding", "the participant's lock was refunded")).ok()) co_return false;
    if (b == "locked" && now_p >= num(P, "timelock")) co_await refund(chain_p, P, "participantRefund");
    if (a == "locked" && now_i >= num(I, "timelock")) co_await refund(chain_i, I, "initiatorRefund");
    if (a != "locked" && b != "locked") co_return co_await finish("refunded", "both sides refunded after expiry");
    co_return false;
  }
  if (a == "refunded" && b == "none") co_return co_await finish("refunded", "the initiator was refunded");

  if (a == "locked" && b == "none") {
    // The participant locks only while there is time for both claims before its timelock.
    std::int64_t needed = 2 * (clock_p.ok() ? clock_p->interval_ms : 1000) + options_.margin.count();
    if (now_p + needed >= num(P, "timelock")) {
      Status st = co_await save(s, "refunding", "too late for the participant to lock safely");
      co_return false;
    }
    if (state != "locking_participant" && !(co_await save(s, "locking_participant")).ok()) co_return false;
    json::object body{{"resource", str(P, "resource")}, {"id", id}, {"receiver", str(P, "receiver")},
                           {"amount", str(P, "amount")}, {"hash", str(s->proposal, "hash")},
                           {"timelock", num(P, "timelock")}, {"account", str(P, "account")}};
    auto r = co_await act(chain_p, Verb::HtlcLock, std::move(body));
    record("participantLock", r);
    if (!r.ok() && r.status == WEFT_E_REJECTED)
      co_await save(s, "refunding", "the participant's chain refused its lock: " + r.message);
    co_return false;
  }
  if (a == "locked" && b == "locked") {
    if (!matches(sp, P)) {
      co_await save(s, "refunding", "the participant's lock does not match the proposal");
      co_return false;
    }
    // Both locks are final (BFT chains: once included). The secret, if the router holds it, claims the participant's
    // lock for the initiator, which reveals it on that chain.
    if (!s->rec.secret_sealed.empty() && vault_ != nullptr && now_p < num(P, "timelock")) {
      accounts::SealedKey sealed;
      sealed.key_version = static_cast<std::uint32_t>(s->rec.secret_version);
      std::copy_n(s->rec.secret_nonce.begin(), std::min<size_t>(12, s->rec.secret_nonce.size()), sealed.nonce.begin());
      sealed.ciphertext = s->rec.secret_sealed;
      auto opened = vault_->open_secret(sealed, id);
      if (!opened.ok()) {
        spdlog::error("HTLC {}: the sealed secret does not open: {}", id, opened.error().message);
        co_return false;
      }
      auto bytes = opened->bytes();
      std::string secret = hex(bytes.data(), bytes.size());
      if (state != "claiming_participant" && !(co_await save(s, "claiming_participant")).ok()) co_return false;
      json::object body{{"resource", str(P, "resource")}, {"sender", str(P, "sender")}, {"id", id},
                             {"secret", secret}, {"account", claimer(I)}};
      auto r = co_await act(chain_p, Verb::HtlcUnlock, std::move(body));
      record("participantClaim", r);
      co_return false;
    }
    if (state != "participant_locked" && state != "claiming_participant" &&
        !(co_await save(s, "participant_locked")).ok())
      co_return false;
    if (now_p >= num(P, "timelock")) co_await save(s, "refunding", "the secret was not revealed before expiry");
    co_return false;
  }
  if (a == "refunded" && b == "locked") {
    if (now_p >= num(P, "timelock")) co_await refund(chain_p, P, "participantRefund");
    co_return false;
  }
  co_return false;
}

asio::awaitable<Result<json::object>> Engine::propose(Actor who, json::object req, AccountResolver resolve) {
  auto side_of = [&](const char *name) -> Result<json::object> {
    const auto *v = req.if_contains(name);
    if (!v || !v->is_object()) return Error{kBadProposal, std::string("data.") + name + " must be an object"};
    const auto &o = v->as_object();
    std::string path = str(o, "path"), account = str(o, "account"), amount = str(o, "amount");
    auto dot = path.rfind('.');
    if (dot == std::string::npos || std::count(path.begin(), path.end(), '.') != 2)
      return Error{kBadProposal, std::string(name) + ".path must be zone.chain.resource"};
    auto res = registry_.resource(path);
    if (!res) return Error{kBadProposal, "Resource not found: " + path};
    if (!decimal_amount(amount)) return Error{kBadProposal, std::string(name) + ".amount must be a positive integer"};
    const auto *t = o.if_contains("timelock");
    if (!t || !t->is_number() || t->to_number<std::int64_t>() <= 0)
      return Error{kBadProposal, std::string(name) + ".timelock must be Unix milliseconds of chain time"};
    const auto *r = o.if_contains("receiveAccount");
    if (r && !r->is_string())
      return Error{kBadProposal, std::string(name) + ".receiveAccount must name an account (keyID or router account)"};
    auto handle = resolve(res->chain_path, account);
    if (!handle.ok()) return handle.error();
    return json::object{{"path", path},       {"chain", res->chain_path},
                        {"resource", res->name}, {"account", *handle},
                        {"named", account},   {"receiveNamed", r ? std::string(r->get_string()) : account},
                        {"amount", amount},   {"timelock", t->to_number<std::int64_t>()}};
  };
  auto I = side_of("initiator");
  if (!I.ok()) co_return I.error();
  auto P = side_of("participant");
  if (!P.ok()) co_return P.error();
  if (str(*I, "chain") == str(*P, "chain"))
    co_return Error{kBadProposal, "the two sides must be on different chains"};
  // Each party also has an account on the other side's chain: the one it receives with there, and which signs its
  // claim there. `receiveAccount` names it; without it, `account` is resolved again for that chain (a user's default
  // for the other chain's type, or the same router account). Chains of different key types (a Fabric identity and a
  // secp256k1 address) need it named.
  for (auto [side, other, name] : {std::tuple{&*I, &*P, "initiator"}, std::tuple{&*P, &*I, "participant"}}) {
    std::string named = str(*side, "receiveNamed");
    auto handle = resolve(str(*other, "chain"), named);
    if (!handle.ok()) {
      bool named_it = req.at(name).as_object().contains("receiveAccount");
      co_return Error{handle.error().code, std::string(name) + "'s account on " + str(*other, "chain") + ": " +
                                               handle.error().message +
                                               (named_it ? "" : std::string("; name it with ") + name + ".receiveAccount")};
    }
    (*side)["receiveAccount"] = *handle;
  }
  std::string hash = lower(str(req, "hash"));
  if (!is_hex32(hash)) co_return Error{kBadProposal, "hash must be 0x and 64 hex digits: sha256 of the secret"};
  std::string secret = lower(str(req, "secret"));
  if (!secret.empty()) {
    if (!is_hex32(secret)) co_return Error{kBadProposal, "secret must be 0x and 64 hex digits (32 bytes)"};
    if (sha256_hex(unhex(secret)) != hash) co_return Error{kBadProposal, "sha256(secret) is not the hash"};
    if (vault_ == nullptr)
      co_return Error{kNoVault, "the router has no master key (router.master_key_file) to seal the secret with"};
  }
  // Addresses: each account on its own chain, and the other party's on it (the receiver).
  auto chain_i = registry_.chain(str(*I, "chain")), chain_p = registry_.chain(str(*P, "chain"));
  auto addr = [&](std::shared_ptr<Chain> c, std::string account) -> asio::awaitable<Result<std::string>> {
    auto r = co_await chains_.address(c, std::move(account));
    co_return r;
  };
  auto named_error = [](const Error &e, const char *side, const std::string &chain, const char *field) {
    return Error{e.code, std::string(side) + "'s " + field + " has no address on " + chain + ": " + e.message};
  };
  auto sender_i = co_await addr(chain_i, str(*I, "account"));
  if (!sender_i.ok()) co_return named_error(sender_i.error(), "initiator", chain_i->path, "account");
  auto receiver_i = co_await addr(chain_i, str(*P, "receiveAccount"));
  if (!receiver_i.ok()) co_return named_error(receiver_i.error(), "participant", chain_i->path, "receiveAccount");
  auto sender_p = co_await addr(chain_p, str(*P, "account"));
  if (!sender_p.ok()) co_return named_error(sender_p.error(), "participant", chain_p->path, "account");
  auto receiver_p = co_await addr(chain_p, str(*I, "receiveAccount"));
  if (!receiver_p.ok()) co_return named_error(receiver_p.error(), "initiator", chain_p->path, "receiveAccount");
  (*I)["sender"] = lower(*sender_i);
  (*I)["receiver"] = lower(*receiver_i);
  (*P)["sender"] = lower(*sender_p);
  (*P)["receiver"] = lower(*receiver_p);

  // The lock id on both chains: the proposer's (WeCross's proposals carry one), or a fresh random one. A taken id is
  // refused before the timelocks are judged: that answer is the more specific one, and costs no reading of clocks.
  std::string id = lower(str(req, "id"));
  if (id.empty()) {
    unsigned char idb[32];
    if (RAND_bytes(idb, 32) != 1) co_return Error{code::kInternal, "no randomness for a swap id"};
    id = hex(idb, 32);
  } else if (!is_hex32(id)) {
    co_return Error{kBadProposal, "id must be 0x and 64 hex digits"};
  }
  auto existing = store::htlc_get(store_, id);
  if (!existing.ok()) co_return existing.error();
  if (*existing) co_return Error{kConflict, "a swap with id " + id + " exists already"};
  // The safety rule, with the chains' clocks as measured now.
  co_await measure(chain_i);
  co_await measure(chain_p);
  auto gap = safety(chain_i->path, chain_p->path);
  if (!gap.ok()) co_return gap.error();
  std::int64_t delta = num(*gap, "deltaMs"), t_i = num(*I, "timelock"), t_p = num(*P, "timelock");
  std::int64_t now_p = num(*gap, "participantNowMs");
  if (t_i < t_p + delta)
    co_return Error{kUnsafe, "unsafe timelocks: the initiator's " + std::to_string(t_i) + " must be at least the participant's " +
                                 std::to_string(t_p) + " + delta " + std::to_string(delta) + " ms (" +
                                 json::serialize(gap->at("parts")) + "), i.e. >= " + std::to_string(t_p + delta)};
  if (t_p < now_p + options_.min_window.count())
    co_return Error{kUnsafe, "unsafe timelocks: the participant's " + std::to_string(t_p) + " must be at least its chain's now " +
                                 std::to_string(now_p) + " + min_window " + std::to_string(options_.min_window.count()) +
                                 " ms, i.e. >= " + std::to_string(now_p + options_.min_window.count())};

  auto s = std::make_shared<Swap>();
  s->rec.id = id;
  s->rec.user = who.name;
  s->rec.user_id = who.user_id;
  s->rec.created_ms = s->rec.updated_ms = local_ms();
  s->proposal = json::object{{"initiator", *I}, {"participant", *P}, {"hash", hash}, {"deltaMs", delta}};
  s->rec.proposal = json::serialize(s->proposal);
  if (!secret.empty()) {
    auto sealed = vault_->seal_secret(unhex(secret), s->rec.id);
    if (!sealed.ok()) co_return sealed.error();
    s->rec.secret_version = sealed->key_version;
    s->rec.secret_nonce.assign(sealed->nonce.begin(), sealed->nonce.end());
    s->rec.secret_sealed = sealed->ciphertext;
  }
  secret.assign(secret.size(), '\0');
  auto insert = store::htlc_insert(s->rec);
  Status st = co_await durable(std::move(insert));
  if (!st.ok()) co_return Error{code::kStore, "the swap could not be stored: " + st.error().message};
  {
    std::lock_guard lock(mu_);
    open_[s->rec.id] = s;
  }
  spdlog::info("HTLC {}: proposed by {}: {} {} on {} for {} {} on {}", s->rec.id, who.name, str(*I, "amount"),
               str(*I, "resource"), str(*I, "chain"), str(*P, "amount"), str(*P, "resource"), str(*P, "chain"));
  spawn(s);
  std::lock_guard lock(mu_);
  co_return swap_json(*s);
}

json::object Engine::swap_json(const Swap &s) const {
  auto side = [](const json::object &o) {
    const auto *r = o.if_contains("receiveNamed");
    return json::object{{"path", o.at("path")},         {"account", o.at("named")},
                        {"receiveAccount", r ? *r : o.at("named")}, {"sender", o.at("sender")},
                        {"receiver", o.at("receiver")}, {"amount", o.at("amount")}, {"timelock", o.at("timelock")}};
  };
  return json::object{{"id", s.rec.id},
                      {"username", s.rec.user},
                      {"state", s.rec.state},
                      {"note", s.rec.note},
                      {"initiator", side(s.proposal.at("initiator").as_object())},
                      {"participant", side(s.proposal.at("participant").as_object())},
                      {"hash", s.proposal.at("hash")},
                      {"deltaMs", s.proposal.contains("deltaMs") ? s.proposal.at("deltaMs") : json::value(0)},
                      {"routerHoldsSecret", !s.rec.secret_sealed.empty()},
                      {"progress", s.progress},
                      {"createdTimestamp", s.rec.created_ms},
                      {"updatedTimestamp", s.rec.updated_ms}};
}

Result<json::object> Engine::get(const Actor &who, const std::string &id) {
  {
    std::lock_guard lock(mu_);
    if (auto it = open_.find(id); it != open_.end()) {
      if (!who.admin && it->second->rec.user_id != who.user_id) return Error{kPermission, "swap " + id + " is another user's"};
      return swap_json(*it->second);
    }
  }
  auto r = store::htlc_get(store_, id);
  if (!r.ok()) return r.error();
  if (!*r) return Error{kNotFound, "no HTLC swap " + id};
  if (!who.admin && (*r)->user_id != who.user_id) return Error{kPermission, "swap " + id + " is another user's"};
  Swap s;
  s.rec = std::move(**r);
  boost::system::error_code ec;
  json::value p = json::parse(s.rec.proposal, ec);
  json::value g = json::parse(s.rec.progress, ec);
  if (!p.is_object()) return Error{code::kStore, "swap " + id + " has a malformed proposal in the store"};
  s.proposal = p.as_object();
  s.progress = g.is_object() ? g.as_object() : json::object{};
  return swap_json(s);
}

Result<json::object> Engine::list(const Actor &who, std::int64_t offset, std::int64_t size) {
  if (size < 1 || size > 1024 || offset < 0) return Error{kBadProposal, "offset must be >= 0 and size 1 to 1024"};
  auto rows = store::htlc_list(store_, who.admin ? -1 : who.user_id, offset, size);
  if (!rows.ok()) return rows.error();
  json::array out;
  for (auto &r : *rows) {
    auto one = get(who, r.id);
    if (one.ok()) out.push_back(std::move(*one));
  }
  return json::object{{"proposals", std::move(out)}, {"offset", offset + static_cast<std::int64_t>(rows->size())},
                      {"finished", static_cast<std::int64_t>(rows->size()) < size}};
}

asio::awaitable<Result<json::object>> Engine::status(Actor who, std::string id) {
  auto swap = get(who, id);
  if (!swap.ok()) co_return swap.error();
  json::object out{{"id", id}, {"state", swap->at("state")}, {"note", swap->at("note")},
                   {"progress", swap->at("progress")}};
  for (const char *name : {"initiator", "participant"}) {
    const auto &side = swap->at(name).as_object();
    std::string path = str(side, "path");
    auto chain = registry_.chain(path.substr(0, path.rfind('.')));
    json::object view{{"path", path}};
    if (chain) {
      json::object lock{{"resource", path.substr(path.rfind('.') + 1)}, {"sender", side.at("sender")}};
      json::object st = co_await lock_status(chain, std::move(lock), id);
      if (str(st, "state") == "unknown" && st.contains("error")) {
        view["error"] = st.at("error");
      } else {
        view = std::move(st);
        view.erase("secret"); // public on that chain once claimed, but never repeated by the router
        view["path"] = path;
      }
    }
    out[name] = std::move(view);
  }
  co_return out;
}

asio::awaitable<Result<json::object>> Engine::cancel(Actor who, std::string id) {
  SwapPtr s;
  {
    std::lock_guard lock(mu_);
    auto it = open_.find(id);
    if (it != open_.end()) s = it->second;
  }
  if (!s) {
    auto g = get(who, id);
    if (!g.ok()) co_return g.error();
    co_return Error{kConflict, "swap " + id + " has ended: " + str(*g, "state")};
  }
  if (!who.admin && s->rec.user_id != who.user_id) co_return Error{kPermission, "swap " + id + " is another user's"};
  if (s->rec.state != "proposed")
    co_return Error{kConflict, "swap " + id + " is " + s->rec.state + ": it can only be cancelled before any lock; "
                                                                      "it ends by claims or refunds"};
  Status st = co_await save(s, "cancelled", "cancelled by " + who.name + " before any lock");
  if (!st.ok()) co_return st.error();
  std::lock_guard lock(mu_);
  co_return swap_json(*s);
}

// ---- clocks ----

asio::awaitable<void> Engine::measure(std::shared_ptr<Chain> chain) {
  if (!chain || !chain->handle()) co_return;
  std::int64_t before = local_ms();
  AdapterAnswer a = co_await chains_.invoke_answer(chain, Verb::ChainInfo, "{}", 5000);
  std::int64_t after = local_ms();
  if (!a.ok()) co_return;
  boost::system::error_code ec;
  json::value v = json::parse(a.data, ec);
  if (ec || !v.is_object()) co_return;
  const auto &o = v.as_object();
  // A chain still at its genesis block has no time of its own yet (block 0's time is 0): no sample.
  if (num(o, "height") <= 0 || num(o, "blockTime") <= 0) co_return;
  ChainClock c;
  c.known = true;
  c.interval_ms = std::max<std::int64_t>(1, num(o, "blockIntervalMs"));
  c.finality_ms = num(o, "finalityBlocks") * c.interval_ms;
  c.lead_ms = o.contains("timestampLeadMs") ? num(o, "timestampLeadMs") : options_.default_lead.count();
  c.idle_ms = std::max(c.interval_ms, num(o, "emptyBlockIntervalMs"));
  // The head was made at most idle_ms before it was read: its time minus our midpoint is a lower bound of the
  // chain's lead over our clock; the newest samples' maximum follows the chain.
  std::int64_t offset = num(o, "blockTime") - (before + after) / 2;
  std::lock_guard lock(mu_);
  auto &old = clocks_[chain->path];
  old.samples.push_back(offset);
  while (old.samples.size() > 5) old.samples.pop_front();
  old.offset_ms = *std::max_element(old.samples.begin(), old.samples.end());
  old.interval_ms = c.interval_ms;
  old.finality_ms = c.finality_ms;
  old.lead_ms = c.lead_ms;
  old.idle_ms = c.idle_ms;
  old.known = true;
}

asio::awaitable<void> Engine::clock_loop() {
  while (!shared_->stopping) {
    for (const auto &c : registry_.chains()) co_await measure(c);
    co_await sleep_for(options_.clock_sample);
  }
}

asio::awaitable<Result<json::object>> Engine::measured_safety(std::string initiator_chain,
                                                              std::string participant_chain) {
  auto ci = registry_.chain(initiator_chain), cp = registry_.chain(participant_chain);
  if (!ci || !cp)
    co_return Error{code::kUriPath, "chain " + (ci ? participant_chain : initiator_chain) + " is not configured"};
  co_await measure(ci);
  co_await measure(cp);
  co_return safety(initiator_chain, participant_chain);
}

Result<ChainClock> Engine::clock_of(const std::string &chain_path) const {
  std::lock_guard lock(mu_);
  auto it = clocks_.find(chain_path);
  if (it == clocks_.end() || !it->second.known)
    return Error{code::kChainUnreachable, "the clock of " + chain_path + " is not known yet (is it up?)"};
  return it->second;
}

std::int64_t Engine::chain_now(const ChainClock &c) const { return local_ms() + c.offset_ms; }

Result<json::object> Engine::safety(const std::string &initiator_chain, const std::string &participant_chain) {
  auto ci = clock_of(initiator_chain);
  if (!ci.ok()) return ci.error();
  auto cp = clock_of(participant_chain);
  if (!cp.ok()) return cp.error();
  std::int64_t skew = std::llabs(ci->offset_ms - cp->offset_ms) + std::max(ci->idle_ms, cp->idle_ms);
  json::object parts{{"participantFinalityMs", cp->finality_ms + cp->interval_ms},
                     {"engineDelayMs", options_.poll.count()},
                     {"initiatorClaimInclusionMs", 2 * ci->interval_ms},
                     {"proposerLeadMs", ci->lead_ms + cp->lead_ms},
                     {"clockSkewMs", skew},
                     {"marginMs", options_.margin.count()}};
  std::int64_t delta = 0;
  for (const auto &[k, v] : parts) delta += v.to_number<std::int64_t>();
  return json::object{{"deltaMs", delta},
                      {"parts", std::move(parts)},
                      {"initiatorNowMs", chain_now(*ci)},
                      {"participantNowMs", chain_now(*cp)},
                      {"minWindowMs", options_.min_window.count()}};
}

} // namespace weft::htlc
