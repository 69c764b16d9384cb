#include "bcos_answers.h"

#include <algorithm>

namespace weft::bcos {

namespace json = boost::json;

namespace {

std::string str_of(const json::object &o, const char *key) {
  const auto *v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::string with_0x(std::string s) {
  if (!s.empty() && !s.starts_with("0x")) s = "0x" + s;
  return s;
}

} // namespace

std::optional<uint64_t> number_of(const json::value *v) {
  if (v == nullptr) return std::nullopt;
  if (v->is_uint64()) return v->as_uint64();
  if (v->is_int64() && v->as_int64() >= 0) return static_cast<uint64_t>(v->as_int64());
  if (!v->is_string()) return std::nullopt;
  const std::string_view s(v->as_string());
  auto u = s.starts_with("0x") || s.starts_with("0X") ? U256::from_hex(s) : U256::from_decimal(s);
  if (!u.ok() || !u->fits_u64()) return std::nullopt;
  return u->low_u64();
}

std::string status_name(Version v, uint64_t status) {
  if (status == 0) return "Success";
  if (v == Version::V3) {
    switch (status) {
    case 16:
      return "RevertInstruction";
    case 3:
      return "NotEnoughCash";
    case 2:
      return "OutOfGasLimit";
    default:
      return "status " + std::to_string(status);
    }
  }
  static const char *const kNames[] = {"None",
                                       "Unknown",
                                       "BadRLP",
                                       "InvalidFormat",
                                       "OutOfGasIntrinsic",
                                       "InvalidSignature",
                                       "InvalidNonce",
                                       "NotEnoughCash",
                                       "OutOfGasBase",
                                       "BlockGasLimitReached",
                                       "BadInstruction",
                                       "BadJumpDestination",
                                       "OutOfGas",
                                       "OutOfStack",
                                       "StackUnderflow",
                                       "NonceCheckFail",
                                       "BlockLimitCheckFail",
                                       "FilterCheckFail",
                                       "NoDeployPermission",
                                       "NoCallPermission",
                                       "NoTxPermission",
                                       "PrecompiledError",
                                       "RevertInstruction",
                                       "InvalidZeroSignatureFormat",
                                       "AddressAlreadyUsed",
                                       "PermissionDenied",
                                       "CallAddressError",
                                       "GasOverflow",
                                       "TxPoolIsFull",
                                       "TransactionRefused",
                                       "ContractFrozen",
                                       "AccountFrozen"};
  if (status < std::size(kNames)) return kNames[status];
  return "status " + std::to_string(status);
}

const BcosResource *resource_at(const Resources &resources, const std::string &address_hex) {
  auto a = evm::parse_address(address_hex);
  if (!a.ok()) return nullptr;
  for (auto it = resources.rbegin(); it != resources.rend(); ++it)
    if (it->address == *a) return &*it;
  return nullptr;
}

json::object block_answer(const json::object &b, uint64_t n) {
  json::array txs;
  if (const auto *t = b.if_contains("transactions"); t != nullptr && t->is_array())
    for (const auto &h : t->as_array()) {
      if (h.is_string())
        txs.push_back(h);
      else if (h.is_object())
        txs.push_back(json::string(str_of(h.as_object(), "hash")));
    }
  std::string parent = str_of(b, "parentHash");
  if (const auto *pi = b.if_contains("parentInfo");
      parent.empty() && pi != nullptr && pi->is_array() && !pi->as_array().empty() && pi->as_array()[0].is_object())
    parent = str_of(pi->as_array()[0].as_object(), "blockHash");
  std::string txroot = str_of(b, "transactionsRoot");
  if (txroot.empty()) txroot = str_of(b, "txsRoot");
  json::object out{{"number", number_of(b.if_contains("number")).value_or(n)},
                   {"hash", str_of(b, "hash")},
                   {"parentHash", parent},
                   {"timestamp", number_of(b.if_contains("timestamp")).value_or(0)}, // ms on both versions
                   {"transactionsRoot", txroot},
                   {"receiptsRoot", str_of(b, "receiptsRoot")},
                   {"stateRoot", str_of(b, "stateRoot")},
                   {"sealer", number_of(b.if_contains("sealer")).value_or(0)},
                   {"txCount", txs.size()},
                   {"transactions", std::move(txs)}};
  if (const auto *s = b.if_contains("sealerList"); s != nullptr && s->is_array()) out["sealerList"] = *s;
  if (const auto *s = b.if_contains("signatureList"); s != nullptr && s->is_array()) out["signatureList"] = *s;
  return out;
}

json::object receipt_answer(const json::object &r, Version version, const Resources &resources) {
  const uint64_t status = number_of(r.if_contains("status")).value_or(UINT64_MAX);
  const std::string to = str_of(r, "to");
  const BcosResource *res = to.empty() ? nullptr : resource_at(resources, to);
  auto output = evm::from_hex(str_of(r, "output"));
  json::object out{{"txHash", str_of(r, "transactionHash")},
                   {"blockNumber", number_of(r.if_contains("blockNumber")).value_or(0)},
                   {"errorCode", status},
                   {"message", status_name(version, status)},
                   {"from", str_of(r, "from")},
                   {"to", with_0x(to)},
                   {"gasUsed", number_of(r.if_contains("gasUsed")).value_or(0)},
                   {"output", str_of(r, "output")},
                   {"result", json::array{}}};
  if (const auto *v = r.if_contains("blockHash"); v != nullptr && v->is_string()) out["blockHash"] = *v;
  if (const auto *v = r.if_contains("transactionIndex")) out["index"] = number_of(v).value_or(0);
  if (const auto *v = r.if_contains("contractAddress"); v != nullptr && v->is_string()) out["contractAddress"] = *v;
  const evm::abi::Function *fn = nullptr;
  if (res != nullptr) {
    out["resource"] = res->name;
    auto input = evm::from_hex(str_of(r, "input"));
    if (input.ok() && input->size() >= 4)
      for (const auto &f : res->abi->functions)
        if (std::equal(f.selector.begin(), f.selector.end(), input->begin())) {
          fn = &f;
          out["method"] = f.name;
          auto args = evm::abi::decode_values(f.inputs, std::span<const uint8_t>(*input).subspan(4));
          json::array a;
          if (args.ok())
            for (auto &s : *args)
              a.push_back(json::string(s));
          out["args"] = std::move(a);
          break;
        }
  }
  if (status == 0 && fn != nullptr && output.ok() && !output->empty()) {
    auto values = evm::abi::decode_values(fn->outputs, *output);
    json::array result;
    if (values.ok())
      for (auto &v : *values)
        result.push_back(json::string(v));
    out["result"] = std::move(result);
  } else if (status != 0) {
    // The reason the receipt carries: a 3.x message, or revert data in the output (Error(string) under the
    // chain's hasher).
    const std::string message = str_of(r, "message");
    std::optional<std::string> reason;
    if (output.ok() && !output->empty()) reason = evm::abi::decode_revert(*output, res ? res->abi.get() : nullptr);
    if (reason)
      out["message"] = status_name(version, status) + ": " + *reason;
    else if (!message.empty())
      out["message"] = message;
  }
  json::array events;
  const json::value *logs = r.if_contains("logs");
  if (logs == nullptr) logs = r.if_contains("logEntries");
  if (logs != nullptr && logs->is_array())
    for (const auto &lv : logs->as_array()) {
      if (!lv.is_object()) continue;
      const auto &l = lv.as_object();
      json::object e{{"address", with_0x(str_of(l, "address"))}};
      const BcosResource *emitter = resource_at(resources, str_of(l, "address"));
      std::vector<Hash256> topics;
      json::array raw_topics;
      if (const auto *t = l.if_contains("topics"); t != nullptr && t->is_array())
        for (const auto &tv : t->as_array()) {
          if (!tv.is_string()) continue;
          raw_topics.push_back(tv);
          auto b = evm::from_hex(std::string_view(tv.as_string()));
          if (b.ok() && b->size() == 32) {
            Hash256 h;
            std::copy(b->begin(), b->end(), h.begin());
            topics.push_back(h);
          }
        }
      auto data = evm::from_hex(str_of(l, "data"));
      if (emitter != nullptr && data.ok()) {
        e["resource"] = emitter->name;
        auto decoded = evm::abi::decode_log(*emitter->abi, topics, *data);
        if (decoded.ok()) {
          e["name"] = decoded->event;
          json::object fields;
          for (auto &[k, v] : decoded->fields)
            fields[k] = v;
          e["data"] = std::move(fields);
        }
      }
      if (!e.contains("name")) {
        e["topics"] = std::move(raw_topics);
        e["data"] = str_of(l, "data");
      }
      events.push_back(std::move(e));
    }
  out["events"] = std::move(events);
  return out;
}

} // namespace weft::bcos
