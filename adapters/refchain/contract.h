// Native contracts: each configured resource is one instance of a contract kind ("kv", "asset") with its own state
// namespace. A virtual interface because there are several real kinds (kv, asset; HTLC and the XA proxy later).
#pragma once

#include "crypto.h"
#include "state.h"

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace weft::refchain {

// Receipt status codes. 0 is success; the rest say why a transaction that reached a block failed.
enum ExecStatus : uint32_t {
  kStatusOk = 0,
  kStatusUnknownResource = 1,
  kStatusUnknownMethod = 2,
  kStatusBadArguments = 3,
  kStatusInsufficientBalance = 4,
  kStatusNotIssuer = 5,
  kStatusOverflow = 6,
};

// A contract refusing a call; inside a block it becomes a receipt with this status and message.
struct ContractError : std::runtime_error {
  uint32_t status;
  ContractError(uint32_t s, const std::string &m) : std::runtime_error(m), status(s) {}
};

struct MethodSpec {
  std::string name;
  size_t arity;
  bool writes;
};

// One contract instance's view of the state: its own namespace only; writes refused on a read-only call.
class ContractState {
public:
  ContractState(StateOverlay &state, std::string resource, bool writable)
      : state_(state), resource_(std::move(resource)), writable_(writable) {}
  std::optional<std::string> get(const std::string &key) const { return state_.get(resource_, key); }
  void put(const std::string &key, std::string value);

private:
  StateOverlay &state_;
  std::string resource_;
  bool writable_;
};

class Contract {
public:
  virtual ~Contract() = default;
  virtual std::string_view kind() const = 0;
  virtual const std::vector<MethodSpec> &methods() const = 0;
  // Runs a method whose name and arity the caller already checked against methods(). Throws ContractError.
  virtual std::vector<std::string> invoke(ContractState &state, const Address &sender, std::string_view method,
                                          const std::vector<std::string> &args) const = 0;

  const MethodSpec *find(std::string_view method) const;
};

// The contract of a kind, or nullptr for an unknown kind.
std::unique_ptr<Contract> make_contract(std::string_view kind);
std::unique_ptr<Contract> make_kv_contract();
std::unique_ptr<Contract> make_asset_contract();

// Parses an amount: an unsigned 64-bit decimal without sign, spaces or leading zeros. Throws ContractError
// (kStatusBadArguments) naming what is wrong.
uint64_t parse_amount(std::string_view text);

} // namespace weft::refchain
