// The key-value contract: set(key, value) writes, get(key) reads. An unset key reads as [""]: the empty string, so
// a client cannot tell "unset" from "set to empty" — the same as WeCross's HelloWorld-style stubs.
#include "contract.h"

namespace weft::refchain {

namespace {
class KvContract final : public Contract {
public:
  std::string_view kind() const override { return "kv"; }
  const std::vector<MethodSpec> &methods() const override {
    static const std::vector<MethodSpec> specs = {{"set", 2, true}, {"get", 1, false}};
    return specs;
  }
  std::vector<std::string> invoke(Context &state, std::string_view method,
                                  const std::vector<std::string> &args) const override {
    if (method == "set") {
      state.put(args[0], args[1]);
      return {};
    }
    return {state.get(args[0]).value_or("")};
  }
};
} // namespace

std::unique_ptr<Contract> make_kv_contract() { return std::make_unique<KvContract>(); }

} // namespace weft::refchain
