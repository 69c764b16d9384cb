#include "chain_service.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>
#include <boost/json/serialize.hpp>

#include <chrono>

#include "chain_call.h"
#include "rpc/adapter_status.h"

namespace weft {

namespace asio = boost::asio;
namespace json = boost::json;

Result<std::shared_ptr<Chain>> ChainService::open_chain(const std::string &path) const {
  auto c = registry_.chain(path);
  if (!c) return Error{code::kUriPath, "chain not found: " + path};
  if (!c->handle()) {
    auto st = c->status();
    return Error{code::kChainUnreachable,
                 "chain " + path + " is not available: " + (st.reason.empty() ? "still opening" : st.reason)};
  }
  return c;
}

asio::awaitable<Result<std::string>> ChainService::invoke(std::shared_ptr<Chain> chain, Verb verb, std::string request,
                                                          uint32_t deadline_ms) {
  auto handle = chain->handle();
  if (!handle) co_return Error{code::kChainUnreachable, "chain " + chain->path + " is not open"};
  auto t0 = std::chrono::steady_clock::now();
  AdapterAnswer a = co_await async_invoke(handle, verb, std::move(request), deadline_ms ? deadline_ms : timeout_ms_,
                                          asio::use_awaitable);
  if (observer_)
    observer_(chain->path, verb, !a.ok(), std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  if (!a.ok()) co_return error_from_answer(a, verb);
  co_return std::move(a.data);
}

asio::awaitable<AdapterAnswer> ChainService::invoke_answer(std::shared_ptr<Chain> chain, Verb verb,
                                                          std::string request, uint32_t deadline_ms) {
  auto handle = chain->handle();
  if (!handle) co_return AdapterAnswer{WEFT_E_UNAVAILABLE, "chain " + chain->path + " is not open", ""};
  auto t0 = std::chrono::steady_clock::now();
  AdapterAnswer a = co_await async_invoke(handle, verb, std::move(request), deadline_ms ? deadline_ms : timeout_ms_,
                                          asio::use_awaitable);
  if (observer_)
    observer_(chain->path, verb, !a.ok(), std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  co_return a;
}

asio::awaitable<Result<TxOutcome>> ChainService::transact(std::shared_ptr<Chain> chain, TxRequest req, bool send) {
  json::array args;
  for (auto &a : req.args) args.emplace_back(a);
  std::string body = json::serialize(json::object{{"resource", req.resource},
                                                  {"method", req.method},
                                                  {"args", std::move(args)},
                                                  {"account", req.account},
                                                  {"options", std::move(req.options)}});
  auto r = co_await invoke(chain, send ? Verb::SendTransaction : Verb::Call, std::move(body));
  if (!r.ok()) co_return r.error();
  auto out = parse_tx_outcome(*r, chain->path);
  // A committed transaction tells the chain's height for free: status and metrics need not wait for the watch.
  if (out.ok() && send && out->block_number > 0) chain->raise_height(static_cast<uint64_t>(out->block_number));
  co_return out;
}

asio::awaitable<Result<uint64_t>> ChainService::height(std::shared_ptr<Chain> chain, uint32_t deadline_ms) {
  auto r = co_await invoke(chain, Verb::BlockHeight, "{}", deadline_ms);
  if (!r.ok()) co_return r.error();
  co_return parse_height(*r, chain->path);
}

asio::awaitable<std::vector<std::optional<Result<uint64_t>>>>
ChainService::heights(std::vector<std::shared_ptr<Chain>> chains, uint32_t deadline_ms) {
  // Each query runs as its own coroutine on this coroutine's executor (a strand), so the counter needs no lock;
  // the timer is only a wake-up: cancelled when the last query ends.
  struct Gather {
    std::vector<std::optional<Result<uint64_t>>> out;
    size_t left;
    asio::steady_timer done;
    Gather(size_t n, asio::any_io_executor ex) : out(n), left(n), done(ex, asio::steady_timer::time_point::max()) {}
  };
  auto ex = co_await asio::this_coro::executor;
  auto g = std::make_shared<Gather>(chains.size(), ex);
  for (size_t i = 0; i < chains.size(); ++i) {
    if (!chains[i]->handle()) {
      g->out[i] = Error{code::kChainUnreachable, "not open"};
      --g->left;
      continue;
    }
    asio::co_spawn(
        ex,
        [this, g, i, chain = chains[i], deadline_ms]() -> asio::awaitable<void> {
          auto h = co_await height(chain, deadline_ms);
          if (h.ok()) chain->set_height(*h);
          g->out[i] = std::move(h);
          if (--g->left == 0) g->done.cancel();
        },
        [](std::exception_ptr e) {
          if (e) spdlog::error("height query ended by an exception");
        });
  }
  if (g->left > 0) co_await g->done.async_wait(asio::as_tuple(asio::use_awaitable));
  co_return std::move(g->out);
}

asio::awaitable<Result<ChainInfo>> ChainService::info(std::shared_ptr<Chain> chain) {
  auto r = co_await invoke(chain, Verb::ChainInfo, "{}");
  if (!r.ok()) co_return r.error();
  co_return parse_chain_info(*r, chain->path);
}

asio::awaitable<Result<Block>> ChainService::block(std::shared_ptr<Chain> chain, uint64_t number) {
  std::string req = json::serialize(json::object{{"number", number}});
  auto r = co_await invoke(chain, Verb::GetBlock, std::move(req));
  if (!r.ok()) co_return r.error();
  co_return parse_block(*r, chain->path);
}

asio::awaitable<Result<Receipt>> ChainService::receipt(std::shared_ptr<Chain> chain, std::string hash) {
  std::string req = json::serialize(json::object{{"hash", hash}});
  auto r = co_await invoke(chain, Verb::GetReceipt, std::move(req));
  if (!r.ok()) co_return r.error();
  co_return parse_receipt(*r, chain->path);
}

asio::awaitable<Result<json::object>> ChainService::proof(std::shared_ptr<Chain> chain, std::string hash) {
  std::string req = json::serialize(json::object{{"hash", hash}});
  auto r = co_await invoke(chain, Verb::GetProof, std::move(req));
  if (!r.ok()) co_return r.error();
  co_return parse_object(*r, chain->path);
}

asio::awaitable<Result<std::string>> ChainService::address(std::shared_ptr<Chain> chain, std::string account) {
  std::string req = json::serialize(json::object{{"account", account}});
  auto r = co_await invoke(chain, Verb::AccountInfo, std::move(req));
  if (!r.ok()) co_return r.error();
  co_return parse_address(*r, chain->path);
}

} // namespace weft
