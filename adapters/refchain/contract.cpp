#include "contract.h"

#include "error.h"
#include "transaction.h"

#include <boost/json.hpp>

#include <algorithm>

namespace weft::refchain {

std::string MethodSpec::arity_text() const {
  return std::string("takes ") + (variadic ? "at least " : "") + std::to_string(arity) + " argument" +
         (arity == 1 ? "" : "s");
}

std::optional<std::string> check_htlc_assets(const std::vector<ResourceConfig> &resources) {
  for (const auto &r : resources) {
    if (r.contract != "htlc") {
      if (!r.asset.empty()) return "resource " + r.name + ": only an htlc resource takes \"asset\"";
      continue;
    }
    auto asset = std::find_if(resources.begin(), resources.end(), [&](const auto &a) { return a.name == r.asset; });
    if (r.asset.empty() || asset == resources.end() || asset->contract != "asset")
      return "resource " + r.name + ": an htlc needs \"asset\" naming an asset resource on the same chain, got \"" +
             r.asset + "\"";
  }
  return std::nullopt;
}

Contracts make_contracts(const std::vector<ResourceConfig> &resources, const std::optional<Address> &coordinator) {
  Contracts out;
  if (auto problem = check_htlc_assets(resources)) throw Error(WEFT_E_INVALID_ARGUMENT, *problem);
  for (const auto &r : resources) {
    if (r.name == kXaProxyResource)
      throw Error(WEFT_E_INVALID_ARGUMENT,
                  std::string("resource name ") + kXaProxyResource + " is reserved for the chain's XA proxy");
    auto c = r.contract == "htlc" ? make_htlc_contract(r.name, r.asset) : make_contract(r.contract);
    if (!c) throw Error(WEFT_E_INVALID_ARGUMENT, "resource " + r.name + ": unknown contract \"" + r.contract + "\"");
    if (!out.emplace(r.name, std::move(c)).second)
      throw Error(WEFT_E_INVALID_ARGUMENT, "resource " + r.name + " is configured twice");
  }
  out.emplace(kXaProxyResource, make_xa_proxy_contract(coordinator));
  return out;
}

void Context::require_writable() const {
  if (!writable_) throw ContractError(kStatusBadArguments, "a read-only call cannot write state");
}

void Context::require_proxy() const {
  if (resource_ != kXaProxyResource) throw std::logic_error("only the XA proxy reaches into other namespaces");
}

void Context::put(const std::string &key, std::string value) {
  require_writable();
  state_.put(resource_, key, std::move(value));
}

void Context::emit(std::string name, std::string data_json) {
  if (name.empty() || name.size() > kMaxNameBytes)
    throw ContractError(kStatusBadArguments, "an event name must be 1-" + std::to_string(kMaxNameBytes) + " bytes");
  if (data_json.size() > kMaxTxBytes) throw ContractError(kStatusBadArguments, "event " + name + ": data too large");
  boost::system::error_code ec;
  auto v = boost::json::parse(data_json, ec);
  if (ec || !v.is_object()) throw ContractError(kStatusBadArguments, "event " + name + ": data must be a JSON object");
  if (events_.size() >= kMaxEvents)
    throw ContractError(kStatusBadArguments,
                        "a transaction may emit at most " + std::to_string(kMaxEvents) + " events");
  events_.push_back({resource_, std::move(name), std::move(data_json)});
}

void Context::emit(std::string name, const std::map<std::string, std::string> &fields) {
  boost::json::object o;
  for (const auto &[k, v] : fields)
    o[k] = v;
  emit(std::move(name), boost::json::serialize(o));
}

void Context::erase(const std::string &key) {
  require_writable();
  state_.erase(resource_, key);
}

const Contract *Context::contract(std::string_view resource) const {
  auto it = contracts_.find(resource);
  return it == contracts_.end() ? nullptr : it->second.get();
}

std::optional<std::string> Context::get_at(const std::string &resource, const std::string &key) const {
  require_proxy();
  return state_.get(resource, key);
}

void Context::restore_at(const std::string &resource, const std::string &key, const std::optional<std::string> &value) {
  require_proxy();
  require_writable();
  if (value)
    state_.put(resource, key, *value);
  else
    state_.erase(resource, key);
}

StateEntries Context::scan_at(const std::string &resource, const std::string &prefix) const {
  require_proxy();
  return state_.scan(resource, prefix);
}

std::vector<std::string> Context::invoke(const Call &call, StateWrites *before) {
  const Contract *c = contract(call.resource);
  if (!c) throw ContractError(kStatusUnknownResource, "no resource named " + call.resource);
  const MethodSpec *m = c->find(call.method);
  if (!m) throw ContractError(kStatusUnknownMethod, call.resource + " has no method " + call.method);
  if (!m->accepts(call.args.size()))
    throw ContractError(kStatusBadArguments,
                        call.method + " " + m->arity_text() + ", got " + std::to_string(call.args.size()));
  if (m->writes) {
    require_writable();
    // Reads are never blocked; writes only by another transaction's lock.
    if (auto holder = xa_lock_holder(state_, call.resource); holder && *holder != call.xa_xid)
      throw ContractError(kStatusBusy, busy_message(call.resource, *holder));
  }
  StateOverlay nested = StateOverlay::over(state_);
  Context inner(contracts_, nested, block_, call.as, tx_hash_, writable_ && m->writes);
  inner.resource_ = call.resource;
  inner.xa_xid_ = call.xa_xid;
  auto result = c->invoke(inner, call.method, call.args);
  if (events_.size() + inner.events_.size() > kMaxEvents)
    throw ContractError(kStatusBadArguments,
                        "a transaction may emit at most " + std::to_string(kMaxEvents) + " events");
  if (before)
    for (const auto &[k, v] : nested.writes())
      before->emplace(k, state_.get(k.first, k.second));
  nested.merge_into(state_);
  events_.insert(events_.end(), std::make_move_iterator(inner.events_.begin()),
                 std::make_move_iterator(inner.events_.end()));
  return result;
}

std::string busy_message(const std::string &resource, const std::string &holder) {
  return "resource " + resource + " " + std::string(kBusyMessageMarker) + holder;
}

const MethodSpec *Contract::find(std::string_view method) const {
  for (const auto &m : methods())
    if (m.name == method) return &m;
  return nullptr;
}

std::unique_ptr<Contract> make_contract(std::string_view kind) {
  if (kind == "kv") return make_kv_contract();
  if (kind == "asset") return make_asset_contract();
  return nullptr;
}

} // namespace weft::refchain
