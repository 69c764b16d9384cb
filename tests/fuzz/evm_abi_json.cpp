// Contract ABI JSON (solc's, Truffle's and Hardhat's files, and what users paste into the console): whatever parses
// has signatures that parse back to the same selectors, and types whose canonical names parse to themselves.
#include "fuzz_check.h"

#include "abi.h"

#include <string_view>

using namespace weft::evm;

namespace {
void check_params(const std::vector<abi::Param> &params) {
  for (const auto &p : params) {
    std::string name = p.type.canonical();
    auto again = abi::parse_type(name);
    FUZZ_CHECK(again.ok(), "a canonical type name does not parse");
    FUZZ_CHECK(again->canonical() == name, "a canonical type name parses to another type");
  }
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view text(reinterpret_cast<const char *>(data), size);
  auto contract = abi::parse_abi_json(text);
  if (!contract.ok()) return 0;
  for (const auto &f : contract->functions) {
    check_params(f.inputs);
    check_params(f.outputs);
    if (f.name.empty() || f.name.find('(') != std::string::npos) continue;
    auto back = abi::parse_function_signature(f.signature());
    FUZZ_CHECK(back.ok(), "a function's signature does not parse");
    FUZZ_CHECK(back->selector == f.selector, "a function's signature parses to another selector");
    (void)contract->find(f.signature(), f.inputs.size());
  }
  for (const auto &e : contract->events)
    check_params(e.inputs);
  for (const auto &e : contract->errors)
    check_params(e.inputs);
  return 0;
}
