// The hash-time-lock contract (kind "htlc"): escrows amounts of one asset resource under (sender, id) until the
// receiver claims them with the secret before the timelock, or anyone refunds them to the sender at or after it.
// Amounts move with the asset's own transfer, to and from the escrow address no key controls, so the asset's
// supply never changes. Times are the including block's timestamp (Unix ms). The spec is docs/htlc.md, "Contract
// semantics". State keys in its namespace:
//   lock/<sender address>/<id>   the lock's record: a JSON object (receiver, amount, hash, timelock, state, secret,
//                                lockBlock, endBlock) in a fixed field order
#include "contract.h"

#include "error.h"

#include <boost/json.hpp>

namespace weft::refchain {

namespace json = boost::json;

Address htlc_escrow_address(std::string_view name) {
  Hash h = sha256(view("weft-htlc-escrow:" + std::string(name)));
  Address a{};
  std::copy(h.begin(), h.begin() + a.size(), a.begin());
  return a;
}

namespace {

// A 32-byte value as "0x" + 64 hex digits (either case in, lowercase out).
Hash parse_hash32(const std::string &text, const char *what) {
  if (text.size() != 66 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X'))
    throw ContractError(kStatusBadArguments, std::string(what) + " must be 0x followed by 64 hex digits, got \"" +
                                                 text.substr(0, 70) + "\"");
  try {
    return hash_from_hex(text);
  } catch (const std::exception &) {
    throw ContractError(kStatusBadArguments, std::string(what) + " must be 0x followed by 64 hex digits, got \"" +
                                                 text.substr(0, 70) + "\"");
  }
}

Address parse_party(const std::string &text, const char *what) {
  try {
    return parse_address(text);
  } catch (const std::exception &) {
    throw ContractError(kStatusBadArguments, std::string(what) + " must be 0x followed by 40 hex digits, got \"" +
                                                 text.substr(0, 50) + "\"");
  }
}

uint64_t parse_u64(const std::string &text, const char *what) {
  try {
    return parse_amount(text);
  } catch (const ContractError &e) {
    throw ContractError(kStatusBadArguments, std::string(what) + ": " + e.what());
  }
}

struct Lock {
  std::string receiver, amount, hash, state = "none", secret;
  uint64_t timelock = 0, lock_block = 0, end_block = 0;

  std::string encode() const {
    return json::serialize(json::object{{"receiver", receiver},
                                        {"amount", amount},
                                        {"hash", hash},
                                        {"timelock", timelock},
                                        {"state", state},
                                        {"secret", secret},
                                        {"lockBlock", lock_block},
                                        {"endBlock", end_block}});
  }
  static Lock decode(const std::string &text) {
    json::object o = json::parse(text).as_object();
    Lock l;
    l.receiver = o.at("receiver").as_string();
    l.amount = o.at("amount").as_string();
    l.hash = o.at("hash").as_string();
    l.timelock = o.at("timelock").to_number<uint64_t>();
    l.state = o.at("state").as_string();
    l.secret = o.at("secret").as_string();
    l.lock_block = o.at("lockBlock").to_number<uint64_t>();
    l.end_block = o.at("endBlock").to_number<uint64_t>();
    return l;
  }
};

class HtlcContract final : public Contract {
public:
  HtlcContract(std::string name, std::string asset) : asset_(std::move(asset)), escrow_(htlc_escrow_address(name)) {}

  std::string_view kind() const override { return "htlc"; }
  const std::vector<MethodSpec> &methods() const override {
    static const std::vector<MethodSpec> specs = {
        {"lock", 5, true}, {"claim", 3, true}, {"refund", 2, true}, {"status", 2, false}};
    return specs;
  }

  std::vector<std::string> invoke(Context &ctx, std::string_view method,
                                  const std::vector<std::string> &args) const override {
    if (method == "lock") return lock(ctx, args);
    std::string sender = address_text(parse_party(args[0], "sender"));
    std::string id = to_hex(parse_hash32(args[1], "id"));
    if (method == "status") return {status_json(ctx, sender, id)};
    if (method == "claim") return claim(ctx, sender, id, args[2]);
    return refund(ctx, sender, id);
  }

private:
  static std::string key(const std::string &sender, const std::string &id) { return "lock/" + sender + "/" + id; }

  void pay(Context &ctx, const Address &from, const Address &to, const std::string &amount) const {
    ctx.invoke({asset_, "transfer", {address_text(to), amount}, from, ctx.xa_xid()});
  }

  std::vector<std::string> lock(Context &ctx, const std::vector<std::string> &args) const {
    std::string sender = address_text(ctx.sender());
    std::string id = to_hex(parse_hash32(args[0], "id"));
    Address receiver = parse_party(args[1], "receiver");
    uint64_t amount = parse_u64(args[2], "amount");
    if (amount == 0) throw ContractError(kStatusBadArguments, "amount must be greater than zero");
    std::string hash = to_hex(parse_hash32(args[3], "hash"));
    uint64_t timelock = parse_u64(args[4], "timelock");
    if (auto existing = ctx.get(key(sender, id)))
      throw ContractError(kStatusHtlcDuplicate, "HTLC lock " + id + " of " + sender + " exists already (" +
                                                    Lock::decode(*existing).state + "); choose another id");
    if (timelock <= ctx.block_time_ms())
      throw ContractError(kStatusHtlcExpired, "timelock " + std::to_string(timelock) + " is not after the block time " +
                                                  std::to_string(ctx.block_time_ms()));
    pay(ctx, ctx.sender(), escrow_, std::to_string(amount));
    Lock l{address_text(receiver), std::to_string(amount), hash, "locked", "", timelock, ctx.block_number(), 0};
    ctx.put(key(sender, id), l.encode());
    ctx.emit("locked", json::serialize(json::object{{"sender", sender},
                                                    {"id", id},
                                                    {"receiver", l.receiver},
                                                    {"amount", l.amount},
                                                    {"hash", hash},
                                                    {"timelock", timelock}}));
    return {"locked"};
  }

  // The lock, which must be locked still; throws kStatusHtlcNotLocked otherwise.
  static Lock locked(Context &ctx, const std::string &sender, const std::string &id, const char *verb) {
    auto text = ctx.get(key(sender, id));
    if (!text)
      throw ContractError(kStatusHtlcNotLocked,
                          std::string("cannot ") + verb + ": no HTLC lock " + id + " of " + sender);
    Lock l = Lock::decode(*text);
    if (l.state != "locked")
      throw ContractError(kStatusHtlcNotLocked, std::string("cannot ") + verb + ": HTLC lock " + id + " of " + sender +
                                                    " is already " + l.state);
    return l;
  }

  std::vector<std::string> claim(Context &ctx, const std::string &sender, const std::string &id,
                                 const std::string &secret_text) const {
    Hash secret = parse_hash32(secret_text, "secret");
    Lock l = locked(ctx, sender, id, "claim");
    if (ctx.block_time_ms() >= l.timelock)
      throw ContractError(kStatusHtlcExpired, "cannot claim HTLC lock " + id + " of " + sender + ": its timelock " +
                                                  std::to_string(l.timelock) + " has passed (block time " +
                                                  std::to_string(ctx.block_time_ms()) + "); it can only be refunded");
    if (to_hex(sha256(secret)) != l.hash)
      throw ContractError(kStatusHtlcWrongSecret, "cannot claim HTLC lock " + id + " of " + sender +
                                                      ": sha256(secret) is not its hash " + l.hash);
    pay(ctx, escrow_, parse_address(l.receiver), l.amount);
    l.state = "claimed";
    l.secret = to_hex(secret);
    l.end_block = ctx.block_number();
    ctx.put(key(sender, id), l.encode());
    ctx.emit(
        "claimed",
        json::serialize(json::object{
            {"sender", sender}, {"id", id}, {"receiver", l.receiver}, {"amount", l.amount}, {"secret", l.secret}}));
    return {"claimed"};
  }

  std::vector<std::string> refund(Context &ctx, const std::string &sender, const std::string &id) const {
    Lock l = locked(ctx, sender, id, "refund");
    if (ctx.block_time_ms() < l.timelock)
      throw ContractError(kStatusHtlcNotExpired, "cannot refund HTLC lock " + id + " of " + sender +
                                                     " before its timelock " + std::to_string(l.timelock) +
                                                     " (block time " + std::to_string(ctx.block_time_ms()) + ")");
    pay(ctx, escrow_, parse_address(sender), l.amount);
    l.state = "refunded";
    l.end_block = ctx.block_number();
    ctx.put(key(sender, id), l.encode());
    ctx.emit("refunded", json::serialize(json::object{{"sender", sender}, {"id", id}, {"amount", l.amount}}));
    return {"refunded"};
  }

  static std::string status_json(Context &ctx, const std::string &sender, const std::string &id) {
    Lock l;
    if (auto text = ctx.get(key(sender, id))) l = Lock::decode(*text);
    json::object o{{"sender", sender},       {"id", id},
                   {"receiver", l.receiver}, {"amount", l.amount.empty() ? "0" : l.amount},
                   {"hash", l.hash},         {"timelock", l.timelock},
                   {"state", l.state}};
    if (l.state == "claimed") o["secret"] = l.secret;
    o["lockBlock"] = l.lock_block;
    o["endBlock"] = l.end_block;
    return json::serialize(o);
  }

  std::string asset_;
  Address escrow_;
};

} // namespace

std::unique_ptr<Contract> make_htlc_contract(const std::string &name, const std::string &asset) {
  return std::make_unique<HtlcContract>(name, asset);
}

} // namespace weft::refchain
