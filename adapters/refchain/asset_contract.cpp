// The fungible asset contract. The first address that mints becomes the issuer; only it may mint again. State keys
// in its namespace: "issuer" (address text), "supply" and "balance:<address>" (decimal u64).
#include "contract.h"

#include "error.h"

namespace weft::refchain {

uint64_t parse_amount(std::string_view text) {
  if (text.empty()) throw ContractError(kStatusBadArguments, "amount is empty");
  if (text[0] == '-') throw ContractError(kStatusBadArguments, "amount \"" + std::string(text) + "\" is negative");
  for (char c : text)
    if (c < '0' || c > '9')
      throw ContractError(kStatusBadArguments,
                          "amount \"" + std::string(text.substr(0, 40)) + "\" is not a plain decimal number");
  if (text.size() > 1 && text[0] == '0')
    throw ContractError(kStatusBadArguments, "amount \"" + std::string(text) + "\" has leading zeros");
  uint64_t v = 0;
  for (char c : text) {
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10)
      throw ContractError(kStatusOverflow, "amount \"" + std::string(text.substr(0, 40)) + "\" exceeds 2^64-1");
    v = v * 10 + d;
  }
  return v;
}

namespace {

Address parse_recipient(const std::string &text) {
  try {
    return parse_address(text);
  } catch (const Error &e) {
    throw ContractError(kStatusBadArguments, e.what());
  }
}

uint64_t read_amount(const Context &state, const std::string &key) {
  auto v = state.get(key);
  return v ? parse_amount(*v) : 0;
}

uint64_t positive_amount(const std::string &text) {
  uint64_t v = parse_amount(text);
  if (v == 0) throw ContractError(kStatusBadArguments, "amount must be greater than zero");
  return v;
}

class AssetContract final : public Contract {
public:
  std::string_view kind() const override { return "asset"; }
  const std::vector<MethodSpec> &methods() const override {
    static const std::vector<MethodSpec> specs = {
        {"mint", 2, true}, {"transfer", 2, true}, {"balanceOf", 1, false}, {"totalSupply", 0, false}};
    return specs;
  }

  std::vector<std::string> invoke(Context &state, std::string_view method,
                                  const std::vector<std::string> &args) const override {
    const Address &sender = state.sender();
    if (method == "balanceOf") return {std::to_string(read_amount(state, balance_key(parse_recipient(args[0]))))};
    if (method == "totalSupply") return {std::to_string(read_amount(state, "supply"))};
    if (method == "mint") return mint(state, sender, parse_recipient(args[0]), positive_amount(args[1]));
    return transfer(state, sender, parse_recipient(args[0]), positive_amount(args[1]));
  }

private:
  static std::string balance_key(const Address &a) { return "balance:" + address_text(a); }

  static std::vector<std::string> mint(Context &state, const Address &sender, const Address &to,
                                       uint64_t amount) {
    std::string me = address_text(sender);
    auto issuer = state.get("issuer");
    if (issuer && *issuer != me)
      throw ContractError(kStatusNotIssuer, "only the issuer " + *issuer + " may mint; " + me + " is not");
    uint64_t supply = read_amount(state, "supply");
    if (amount > UINT64_MAX - supply)
      throw ContractError(kStatusOverflow, "minting " + std::to_string(amount) + " would overflow the total supply");
    // balance <= supply, so the balance cannot overflow once the supply does not.
    uint64_t balance = read_amount(state, balance_key(to));
    if (!issuer) state.put("issuer", me);
    state.put("supply", std::to_string(supply + amount));
    state.put(balance_key(to), std::to_string(balance + amount));
    return {std::to_string(balance + amount)};
  }

  static std::vector<std::string> transfer(Context &state, const Address &sender, const Address &to,
                                           uint64_t amount) {
    uint64_t from_balance = read_amount(state, balance_key(sender));
    if (from_balance < amount)
      throw ContractError(kStatusInsufficientBalance, "insufficient balance: " + address_text(sender) + " has " +
                                                          std::to_string(from_balance) + ", needs " +
                                                          std::to_string(amount));
    state.put(balance_key(sender), std::to_string(from_balance - amount));
    uint64_t to_balance = read_amount(state, balance_key(to)); // read after the debit: a self-transfer nets zero
    state.put(balance_key(to), std::to_string(to_balance + amount));
    return {std::to_string(from_balance - amount)};
  }
};
} // namespace

std::unique_ptr<Contract> make_asset_contract() { return std::make_unique<AssetContract>(); }

} // namespace weft::refchain
