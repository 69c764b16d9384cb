// The reference chain's native contracts as a block runs them: the input is a sequence of invocations (sender,
// resource, method, arguments) against one block's state, each in its own overlay as Ledger::run does. Hostile
// arguments (the XA proxy's start tickets and comma lists, step seqs, ids, amounts, hash locks) must be refused
// with ContractError, whose invocation's writes are dropped as Ledger::run drops them; nothing else may escape, and
// the proxy's views must read back whatever state the accepted ones wrote.
#include "fuzz_check.h"

#include "contract.h"
#include "error.h"

#include <string>
#include <string_view>
#include <vector>

using namespace weft::refchain;

namespace {

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  for (size_t at = 0;;) {
    size_t next = s.find(sep, at);
    out.emplace_back(s.substr(at, next == std::string_view::npos ? std::string_view::npos : next - at));
    if (next == std::string_view::npos) return out;
    at = next + 1;
  }
}

} // namespace

// Input: invocations separated by '\n'; in each, fields separated by '|': sender (its first byte fills the
// address), resource, method, then the arguments.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const Contracts contracts =
      make_contracts({{"store", "kv", ""}, {"token", "asset", ""}, {"htlc", "htlc", "token"}}, std::nullopt);
  StateOverlay block(
      [](const std::string &, const std::string &) -> std::optional<std::string> { return std::nullopt; },
      [](const std::string &, const std::string &) { return StateEntries{}; });
  std::string_view in(reinterpret_cast<const char *>(data), size);
  uint8_t n = 0;
  for (const auto &line : split(in, '\n')) {
    if (++n > 64) break;
    auto fields = split(line, '|');
    if (fields.size() < 3) continue;
    Address sender{};
    sender.fill(fields[0].empty() ? 1 : static_cast<uint8_t>(fields[0][0]));
    Hash tx{};
    tx[0] = n;
    std::vector<std::string> args(fields.begin() + 3, fields.end());
    StateOverlay tx_state = StateOverlay::over(block);
    try {
      Context ctx(contracts, tx_state, {n, 1000u + n, 7}, sender, tx, true);
      ctx.invoke({fields[1], fields[2], args, sender, ""});
      tx_state.merge_into(block);
    } catch (const ContractError &) {
      // refused: tx_state, with whatever the invocation wrote, is dropped
    }
  }
  // The proxy's own views read back whatever the block holds without failing.
  StateOverlay view = StateOverlay::over(block);
  Context reader(contracts, view, {n, 1000u + n, 7}, Address{}, Hash{}, false);
  try {
    auto locks = reader.invoke({"WeCrossProxy", "locks", {}, Address{}, ""});
    FUZZ_CHECK(locks.size() == 1, "locks answers one JSON text");
  } catch (const ContractError &) {
    FUZZ_CHECK(false, "the proxy's locks view failed on state the contracts wrote");
  }
  return 0;
}
