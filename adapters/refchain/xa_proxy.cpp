// The XA proxy (resource WeCrossProxy): two-phase transactions over a chain's business resources. start locks the
// resources for an XA transaction id, exec runs a step on a held resource as the step's sender and keeps an undo
// log of the values the transaction overwrote, commit drops the log, rollback writes it back; both release the
// locks and leave a tombstone, so a finished id never starts again. startexec is start and exec in one transaction:
// the step's sender brings a start ticket the coordinator signed (xa_start_ticket_digest), so only the coordinator
// decides what is locked, and the branch costs no block of its own. State keys in its namespace:
//   coordinator                      address text (trust on first use when no coordinator is configured)
//   lock/<resource>                  the xid holding the resource
//   xa/<xid>/status                  processing | committed | rolledback
//   xa/<xid>/resources               the locked resources (list encoding)
//   xa/<xid>/step/<seq, 20 digits>   seq u64 | resource str | method str | args list | tx hash 32 | result list
//   xa/<xid>/undo/<resource>/<key>   "A" (the key was absent) or "P" + the value before the xid first wrote it
// An xid has no '/', so "xa/<xid>/" is a prefix of exactly that transaction's keys.
#include "contract.h"

#include <boost/json.hpp>

#include <algorithm>
#include <set>

namespace weft::refchain {

namespace json = boost::json;

std::optional<std::string> xa_lock_holder(const StateOverlay &state, const std::string &resource) {
  return state.get(kXaProxyResource, "lock/" + resource);
}

bool is_xa_id(std::string_view text) {
  auto ok = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == ':' || c == '-';
  };
  return !text.empty() && text.size() <= 128 && std::all_of(text.begin(), text.end(), ok);
}

namespace {

constexpr size_t kMaxListItem = 1u << 24;

void check_xid(const std::string &xid) {
  if (!is_xa_id(xid))
    throw ContractError(kStatusBadArguments, "XA transaction id \"" + xid.substr(0, 40) +
                                                 "\" must be 1-128 characters of A-Z a-z 0-9 _ . : -");
}

uint64_t parse_seq(const std::string &text) {
  if (text.empty() || text.size() > 20 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    throw ContractError(kStatusBadArguments, "XA step seq \"" + text.substr(0, 40) + "\" is not a decimal number");
  uint64_t v = 0;
  for (char c : text) {
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) throw ContractError(kStatusBadArguments, "XA step seq exceeds 2^64-1");
    v = v * 10 + d;
  }
  return v;
}

std::string encode_list(const std::vector<std::string> &items) {
  Writer w;
  w.u32(static_cast<uint32_t>(items.size()));
  for (const auto &s : items)
    w.str(s);
  const Bytes &b = w.bytes();
  return std::string(b.begin(), b.end());
}

std::vector<std::string> read_list(Reader &r, const char *what) {
  uint32_t n = r.u32(what);
  std::vector<std::string> out;
  for (uint32_t i = 0; i < n; ++i)
    out.push_back(r.str(kMaxListItem, what));
  return out;
}

std::vector<std::string> decode_list(const std::string &text) {
  Reader r(view(text));
  auto out = read_list(r, "XA resource list");
  r.expect_end("XA resource list");
  return out;
}

struct Step {
  uint64_t seq = 0;
  std::string resource, method;
  std::vector<std::string> args;
  Hash hash{};
  std::vector<std::string> result;

  std::string encode() const {
    Writer w;
    w.u64(seq);
    w.str(resource);
    w.str(method);
    w.raw(view(encode_list(args)));
    w.raw(hash);
    w.raw(view(encode_list(result)));
    const Bytes &b = w.bytes();
    return std::string(b.begin(), b.end());
  }
  static Step decode(const std::string &text) {
    Reader r(view(text));
    Step s;
    s.seq = r.u64("XA step");
    s.resource = r.str(kMaxListItem, "XA step");
    s.method = r.str(kMaxListItem, "XA step");
    s.args = read_list(r, "XA step");
    s.hash = r.fixed<32>("XA step");
    s.result = read_list(r, "XA step");
    r.expect_end("XA step");
    return s;
  }
  json::object to_json() const {
    return {{"seq", seq},           {"resource", resource},
            {"method", method},     {"args", json::array(args.begin(), args.end())},
            {"hash", to_hex(hash)}, {"result", json::array(result.begin(), result.end())}};
  }
};

std::string xa_key(const std::string &xid, std::string_view what) {
  return "xa/" + xid + "/" + std::string(what);
}

std::string seq_key(const std::string &xid, uint64_t seq) {
  std::string digits = std::to_string(seq);
  return xa_key(xid, "step/") + std::string(20 - digits.size(), '0') + digits;
}

std::string undo_prefix(const std::string &xid) {
  return xa_key(xid, "undo/");
}

class XaProxyContract final : public Contract {
public:
  explicit XaProxyContract(std::optional<Address> coordinator) : pinned_(coordinator) {}

  std::string_view kind() const override { return "xa-proxy"; }
  const std::vector<MethodSpec> &methods() const override {
    static const std::vector<MethodSpec> specs = {
        {"start", 2, true, true}, {"exec", 4, true, true},   {"startexec", 6, true, true},
        {"commit", 1, true},      {"rollback", 1, true},     {"status", 1, false},
        {"stateDigest", 1, false}, {"locks", 0, false},
    };
    return specs;
  }

  std::vector<std::string> invoke(Context &ctx, std::string_view method,
                                  const std::vector<std::string> &args) const override {
    if (method == "locks") return {locks(ctx)};
    if (method == "stateDigest") return {state_digest(ctx, args[0])};
    check_xid(args[0]);
    if (method == "status") return {status_json(ctx, args[0])};
    if (method == "start") return start(ctx, args[0], {args.begin() + 1, args.end()});
    if (method == "exec") return exec(ctx, args);
    if (method == "startexec") return start_exec(ctx, args);
    if (method == "commit") return commit(ctx, args[0]);
    return rollback(ctx, args[0]);
  }

private:
  // The sender must be the coordinator; with none pinned or recorded, `establish` makes the sender it.
  void require_coordinator(Context &ctx, bool establish) const { require_coordinator(ctx, ctx.sender(), establish); }
  void require_coordinator(Context &ctx, const Address &who, bool establish) const {
    std::string me = address_text(who);
    std::optional<std::string> coordinator;
    if (pinned_)
      coordinator = address_text(*pinned_);
    else
      coordinator = ctx.get("coordinator");
    if (!coordinator) {
      if (establish) {
        ctx.put("coordinator", me);
        return;
      }
      throw ContractError(kStatusNotCoordinator, "this chain has no XA coordinator yet; " + me + " is not it");
    }
    if (*coordinator != me)
      throw ContractError(kStatusNotCoordinator,
                          "only the XA coordinator " + *coordinator + " may do this; " + me + " is not it");
  }

  std::vector<std::string> start(Context &ctx, const std::string &xid, std::vector<std::string> resources) const {
    require_coordinator(ctx, true);
    return begin(ctx, xid, resources);
  }

  // startexec: xid, seq, resource, method, the ticket's resources (comma-separated), the ticket's signature (65
  // bytes r || s || recovery id, hex), then the step's arguments. The ticket's signer must be the coordinator (or
  // becomes it, as a first start's sender does); the step runs as this transaction's sender, as exec does.
  std::vector<std::string> start_exec(Context &ctx, const std::vector<std::string> &args) const {
    const std::string &xid = args[0];
    std::vector<std::string> resources;
    for (size_t at = 0;;) {
      size_t comma = args[4].find(',', at);
      resources.push_back(args[4].substr(at, comma == std::string::npos ? std::string::npos : comma - at));
      if (comma == std::string::npos) break;
      at = comma + 1;
    }
    Signature sig{};
    Bytes raw;
    try {
      raw = from_hex(args[5]);
    } catch (const std::exception &) {
    }
    if (raw.size() != sig.size())
      throw ContractError(kStatusBadArguments, "the XA start ticket's signature must be 65 bytes of hex");
    std::copy(raw.begin(), raw.end(), sig.begin());
    Address signer{};
    try {
      signer = address_of(recover_signer(xa_start_ticket_digest(ctx.chain_id(), xid, resources), sig));
    } catch (const std::exception &) {
      throw ContractError(kStatusNotCoordinator, "the XA start ticket's signature is not valid");
    }
    require_coordinator(ctx, signer, true);
    begin(ctx, xid, resources);
    std::vector<std::string> step{args[0], args[1], args[2], args[3]};
    step.insert(step.end(), args.begin() + 6, args.end());
    return exec(ctx, step);
  }

  std::vector<std::string> begin(Context &ctx, const std::string &xid,
                                 const std::vector<std::string> &resources) const {
    std::set<std::string> wanted;
    for (const auto &r : resources) {
      if (r == kXaProxyResource) throw ContractError(kStatusBadArguments, "the XA proxy itself cannot be locked");
      if (!ctx.contract(r)) throw ContractError(kStatusUnknownResource, "no resource named " + r);
      if (!wanted.insert(r).second) throw ContractError(kStatusBadArguments, "resource " + r + " is named twice");
    }
    auto status = ctx.get(xa_key(xid, "status"));
    if (status == "processing") {
      auto held = decode_list(*ctx.get(xa_key(xid, "resources")));
      if (std::set<std::string>(held.begin(), held.end()) == wanted) return {"processing"}; // a repeated start
      throw ContractError(kStatusXaConflict, "XA transaction " + xid + " is already processing with other resources");
    }
    if (status) throw ContractError(kStatusXaFinished, "XA transaction " + xid + " is already " + *status);
    for (const auto &r : resources)
      if (auto holder = ctx.get("lock/" + r)) throw ContractError(kStatusBusy, busy_message(r, *holder));
    for (const auto &r : resources)
      ctx.put("lock/" + r, xid);
    ctx.put(xa_key(xid, "status"), "processing");
    ctx.put(xa_key(xid, "resources"), encode_list(resources));
    return {"processing"};
  }

  // The resources a processing transaction holds; throws for any other state.
  static std::vector<std::string> processing(Context &ctx, const std::string &xid) {
    auto status = ctx.get(xa_key(xid, "status"));
    if (!status) throw ContractError(kStatusXaUnknown, "no XA transaction " + xid);
    if (*status != "processing")
      throw ContractError(kStatusXaFinished, "XA transaction " + xid + " is already " + *status);
    return decode_list(*ctx.get(xa_key(xid, "resources")));
  }

  static std::vector<std::string> exec(Context &ctx, const std::vector<std::string> &args) {
    const std::string &xid = args[0], &resource = args[2], &method = args[3];
    uint64_t seq = parse_seq(args[1]);
    std::vector<std::string> call_args(args.begin() + 4, args.end());
    auto held = processing(ctx, xid);
    if (std::find(held.begin(), held.end(), resource) == held.end())
      throw ContractError(kStatusXaConflict, "XA transaction " + xid + " does not hold resource " + resource);
    std::string key = seq_key(xid, seq);
    if (auto recorded = ctx.get(key)) {
      Step s = Step::decode(*recorded);
      if (s.resource == resource && s.method == method && s.args == call_args) return s.result; // a repeated step
      throw ContractError(kStatusXaConflict, "step " + std::to_string(seq) + " of XA transaction " + xid +
                                                 " was already recorded as " + s.resource + "." + s.method +
                                                 " with other arguments");
    }
    StateWrites before;
    Step s{seq, resource, method, call_args, ctx.tx_hash(), {}};
    s.result = ctx.invoke({resource, method, call_args, ctx.sender(), xid}, &before);
    for (const auto &[k, old] : before) {
      std::string undo = undo_prefix(xid) + k.first + "/" + k.second;
      if (!ctx.get(undo)) ctx.put(undo, old ? "P" + *old : "A"); // the first touch holds the original
    }
    ctx.put(key, s.encode());
    return s.result;
  }

  // Ends a processing transaction: rollback writes the undo log back first; both drop it and release the locks.
  static void finish(Context &ctx, const std::string &xid, const std::vector<std::string> &held, bool restore) {
    std::string prefix = undo_prefix(xid);
    for (const auto &[k, v] : ctx.scan(prefix)) {
      if (restore) {
        std::string rest = k.substr(prefix.size());
        auto slash = rest.find('/'); // resource names have no '/'
        std::optional<std::string> old;
        if (v.size() > 0 && v[0] == 'P') old = v.substr(1);
        ctx.restore_at(rest.substr(0, slash), rest.substr(slash + 1), old);
      }
      ctx.erase(k);
    }
    for (const auto &r : held)
      if (ctx.get("lock/" + r) == xid) ctx.erase("lock/" + r);
    ctx.put(xa_key(xid, "status"), restore ? "rolledback" : "committed");
  }

  std::vector<std::string> commit(Context &ctx, const std::string &xid) const {
    require_coordinator(ctx, false);
    auto status = ctx.get(xa_key(xid, "status"));
    if (!status) throw ContractError(kStatusXaUnknown, "no XA transaction " + xid);
    if (*status == "committed") return {"committed"};
    if (*status == "rolledback")
      throw ContractError(kStatusXaFinished, "XA transaction " + xid + " is already rolled back");
    finish(ctx, xid, decode_list(*ctx.get(xa_key(xid, "resources"))), false);
    return {"committed"};
  }

  std::vector<std::string> rollback(Context &ctx, const std::string &xid) const {
    require_coordinator(ctx, true);
    auto status = ctx.get(xa_key(xid, "status"));
    if (!status) {
      // A tombstone: a start of this id that arrives late is refused rather than locking for nobody.
      ctx.put(xa_key(xid, "status"), "rolledback");
      ctx.put(xa_key(xid, "resources"), encode_list({}));
      return {"rolledback"};
    }
    if (*status == "rolledback") return {"rolledback"};
    if (*status == "committed")
      throw ContractError(kStatusXaFinished, "rollback of XA transaction " + xid + " refused: committed");
    finish(ctx, xid, decode_list(*ctx.get(xa_key(xid, "resources"))), true);
    return {"rolledback"};
  }

  static std::string status_json(Context &ctx, const std::string &xid) {
    auto status = ctx.get(xa_key(xid, "status"));
    json::array resources, steps;
    if (auto list = ctx.get(xa_key(xid, "resources")))
      for (auto &r : decode_list(*list))
        resources.emplace_back(r);
    for (const auto &[k, v] : ctx.scan(xa_key(xid, "step/")))
      steps.push_back(Step::decode(v).to_json());
    return json::serialize(json::object{{"xaTransactionID", xid},
                                        {"status", status.value_or("none")},
                                        {"resources", std::move(resources)},
                                        {"steps", std::move(steps)}});
  }

  static std::string locks(Context &ctx) {
    json::object out;
    for (const auto &[k, v] : ctx.scan("lock/"))
      out[k.substr(5)] = v;
    return json::serialize(out);
  }

  // SHA-256 over u32 count | per key (in key order) key str | value str: equal digests, equal namespaces.
  static std::string state_digest(Context &ctx, const std::string &resource) {
    if (!ctx.contract(resource)) throw ContractError(kStatusUnknownResource, "no resource named " + resource);
    auto entries = ctx.scan_at(resource, "");
    Writer w;
    w.u32(static_cast<uint32_t>(entries.size()));
    for (const auto &[k, v] : entries) {
      w.str(k);
      w.str(v);
    }
    return to_hex(sha256(w.bytes()));
  }

  std::optional<Address> pinned_;
};

} // namespace

Hash xa_start_ticket_digest(uint64_t chain_id, const std::string &xid, const std::vector<std::string> &resources) {
  Writer w;
  w.raw(view(std::string_view("weft-xa-start")));
  w.u64(chain_id);
  w.str(xid);
  w.u32(static_cast<uint32_t>(resources.size()));
  for (const auto &r : resources)
    w.str(r);
  return sha256(w.bytes());
}

std::unique_ptr<Contract> make_xa_proxy_contract(std::optional<Address> coordinator) {
  return std::make_unique<XaProxyContract>(coordinator);
}

} // namespace weft::refchain
