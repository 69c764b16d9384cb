#include "htlc_commands.h"

#include "render.h"
#include "resource_path.h"
#include "text_format.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <openssl/rand.h>
#include <openssl/sha.h>

#include <charconv>
#include <optional>
#include <variant>

namespace weft::console {

namespace json = boost::json;

namespace {

using Args = std::span<const std::string>;

std::string hex(const unsigned char *p, size_t n) {
  static const char *d = "0123456789abcdef";
  std::string out = "0x";
  for (size_t i = 0; i < n; ++i) {
    out += d[p[i] >> 4];
    out += d[p[i] & 15];
  }
  return out;
}


bool integer(const std::string &s, long long &out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

Outcome usage_error(const char *command, const std::string &why, const char *usage) {
  return failed(kExitUsage, "error: " + std::string(command) + ": " + why + " (usage: " + usage + ")\n");
}

std::string swap_text(const json::value &d) {
  std::string out = "swap " + field_text(d, "id") + "\n  state: " + field_text(d, "state") + "\n";
  if (field_text(d, "note") != "-" && !field_text(d, "note").empty()) out += "  note:  " + field_text(d, "note") + "\n";
  for (const char *side : {"initiator", "participant"})
    if (const auto *o = d.as_object().if_contains(side); o && o->is_object())
      out += "  " + std::string(side) + ": " + field_text(*o, "path") + " " + field_text(*o, "amount") + " from " +
             field_text(*o, "sender") + " to " + field_text(*o, "receiver") + ", timelock " +
             field_text(*o, "timelock") + (o->as_object().contains("state") ? ", lock " + field_text(*o, "state") : "") +
             "\n";
  if (const auto *p = d.as_object().if_contains("progress"); p && p->is_object()) {
    static const std::pair<const char *, const char *> kSteps[] = {
        {"initiatorLock", "initiator's lock"},
        {"participantLock", "participant's lock"},
        {"participantClaim", "claim on the participant's chain (reveals the secret)"},
        {"initiatorClaim", "counterpart claim on the initiator's chain"},
        {"participantRefund", "participant's refund"},
        {"initiatorRefund", "initiator's refund"}};
    for (const auto &[key, what] : kSteps)
      if (const auto *step = p->as_object().if_contains(key))
        out += "  " + std::string(what) + ": " +
               (step->as_object().contains("txHash") ? field_text(*step, "txHash") : "failed: " + field_text(*step, "error")) +
               "\n";
  }
  return out;
}

} // namespace

Outcome run_new_htlc_proposal(Args args, const Transport &transport, const Options &options) {
  const char *use = "newHTLCProposal INIT_PATH INIT_ACCOUNT[/RECEIVE] INIT_AMOUNT INIT_TIMELOCK PART_PATH "
                    "PART_ACCOUNT[/RECEIVE] PART_AMOUNT PART_TIMELOCK HASH [SECRET]";
  if (args.size() != 9 && args.size() != 10) return usage_error("newHTLCProposal", "expects 9 or 10 arguments", use);
  long long ti = 0, tp = 0;
  if (!is_resource_path(args[0]) || !is_resource_path(args[4]))
    return usage_error("newHTLCProposal", "the paths must be zone.chain.resource", use);
  if (!integer(args[3], ti) || !integer(args[7], tp))
    return usage_error("newHTLCProposal", "timelocks are Unix milliseconds of chain time", use);
  // ACCOUNT or ACCOUNT/RECEIVE_ACCOUNT: the party's account on its own chain, and the one it receives with on the
  // other side's chain when that differs (a Fabric identity and a secp256k1 account, say).
  auto side = [](const std::string &path, const std::string &account, const std::string &amount, long long t) {
    json::object o{{"path", path}, {"amount", amount}, {"timelock", t}};
    auto slash = account.find('/');
    o["account"] = account.substr(0, slash);
    if (slash != std::string::npos) o["receiveAccount"] = account.substr(slash + 1);
    return o;
  };
  json::object data{{"initiator", side(args[0], args[1], args[2], ti)},
                    {"participant", side(args[4], args[5], args[6], tp)},
                    {"hash", args[8]}};
  if (args.size() == 10) data["secret"] = args[9];
  auto answer = ask_router(transport, RpcRequest{"POST", "/weft/htlc/newProposal", std::move(data)});
  if (auto *o = std::get_if<Outcome>(&answer)) return std::move(*o);
  const json::value &d = std::get<json::value>(answer);
  if (options.json) return printed(json::serialize(d) + "\n");
  if (!d.is_object()) return malformed("data is not a swap, got " + json::serialize(d));
  return printed("proposal accepted: " + swap_text(d));
}

Outcome run_gen_secret_and_hash(Args args) {
  if (!args.empty()) return failed(kExitUsage, "error: genSecretAndHash takes no arguments\n");
  unsigned char secret[32], hash[32];
  if (RAND_bytes(secret, sizeof secret) != 1) return failed(kExitFailure, "error: no randomness available\n");
  SHA256(secret, sizeof secret, hash);
  std::string out = "secret: " + hex(secret, 32) + "\nhash:   " + hex(hash, 32) + "\n";
  OPENSSL_cleanse(secret, sizeof secret);
  return printed(out);
}

Outcome run_gen_timelock(Args args, const Transport &transport, const Options &options) {
  const char *use = "genTimelock INIT_CHAIN PART_CHAIN [EXTRA_S]";
  if (args.size() < 2 || args.size() > 3) return usage_error("genTimelock", "expects two chain paths", use);
  if (!is_chain_path(args[0]) || !is_chain_path(args[1]))
    return usage_error("genTimelock", "the chains must be zone.chain", use);
  long long extra_s = 60;
  if (args.size() == 3 && (!integer(args[2], extra_s) || extra_s < 0))
    return usage_error("genTimelock", "EXTRA_S must be a number of seconds", use);
  auto answer = ask_router(transport, RpcRequest{"GET", "/weft/htlc/safety?initiator=" + url_encode(args[0]) +
                                                     "&participant=" + url_encode(args[1]),
                                          nullptr});
  if (auto *o = std::get_if<Outcome>(&answer)) return std::move(*o);
  const json::value &d = std::get<json::value>(answer);
  if (options.json) return printed(json::serialize(d) + "\n");
  const json::object *o = d.if_object();
  auto number = [o](const char *key) -> std::optional<long long> {
    const json::value *v = o ? o->if_contains(key) : nullptr;
    if (v == nullptr || !v->is_number()) return std::nullopt;
    boost::system::error_code ec;
    long long n = v->to_number<long long>(ec);
    return ec ? std::nullopt : std::optional<long long>(n);
  };
  auto now_p = number("participantNowMs"), window = number("minWindowMs"), delta = number("deltaMs");
  if (!now_p || !window || !delta)
    return malformed("no participantNowMs, minWindowMs and deltaMs, got " + json::serialize(d));
  long long tp = *now_p + *window + extra_s * 1000, ti = tp + *delta + extra_s * 1000;
  return printed("participant timelock: " + std::to_string(tp) + "\ninitiator timelock:   " + std::to_string(ti) +
                 "\n(delta " + std::to_string(*delta) + " ms: " + field_text(d, "parts") + ")\n");
}

Outcome run_check_transfer_status(Args args, const Transport &transport, const Options &options) {
  if (args.size() != 1) return usage_error("checkTransferStatus", "expects the swap's ID", "checkTransferStatus ID");
  auto answer = ask_router(transport, RpcRequest{"POST", "/weft/htlc/status", json::object{{"id", args[0]}}});
  if (auto *o = std::get_if<Outcome>(&answer)) return std::move(*o);
  const json::value &d = std::get<json::value>(answer);
  if (options.json) return printed(json::serialize(d) + "\n");
  if (!d.is_object()) return malformed("data is not a swap, got " + json::serialize(d));
  return printed(swap_text(d));
}

} // namespace weft::console
