#include "contract.h"

namespace weft::refchain {

void ContractState::put(const std::string &key, std::string value) {
  if (!writable_) throw ContractError(kStatusBadArguments, "a read-only call cannot write state");
  state_.put(resource_, key, std::move(value));
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
