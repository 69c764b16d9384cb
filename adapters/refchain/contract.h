// Native contracts: each configured resource is one instance of a contract kind ("kv", "asset") with its own state
// namespace, plus the XA proxy every chain has at kXaProxyResource. A virtual interface because there are several
// real kinds. A contract runs inside a Context: the block, the sender, its own namespace, and calls into other
// resources subject to XA locks.
#pragma once

#include "crypto.h"
#include "receipt.h"
#include "state.h"

#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace weft::refchain {

// Receipt status codes. 0 is success; the rest say why a transaction that reached a block failed. Stable numbers:
// only ever appended.
enum ExecStatus : uint32_t {
  kStatusOk = 0,
  kStatusUnknownResource = 1,
  kStatusUnknownMethod = 2,
  kStatusBadArguments = 3,
  kStatusInsufficientBalance = 4,
  kStatusNotIssuer = 5,
  kStatusOverflow = 6,
  kStatusBusy = 7,             // a write to a resource another XA transaction holds; the message names the holder
  kStatusXaUnknown = 8,        // no such XA transaction
  kStatusXaFinished = 9,       // the XA transaction is already committed or rolled back (or refuses the other end)
  kStatusXaConflict = 10,      // same id or step, other content; or the transaction does not hold the resource
  kStatusNotCoordinator = 11,  // start, commit or rollback by an address that is not the chain's XA coordinator
  kStatusHtlcDuplicate = 12,   // an HTLC lock whose (sender, id) exists already, in any state
  kStatusHtlcWrongSecret = 13, // a claim whose secret does not hash to the lock's hash
  kStatusHtlcExpired = 14,     // a claim at or after the timelock; a lock whose timelock is not after the block time
  kStatusHtlcNotExpired = 15,  // a refund before the timelock
  kStatusHtlcNotLocked = 16    // a claim or refund of a lock that does not exist or has already ended
};

// A contract refusing a call; inside a block it becomes a receipt with this status and message.
struct ContractError : std::runtime_error {
  uint32_t status;
  ContractError(uint32_t s, const std::string &m) : std::runtime_error(m), status(s) {}
};

struct MethodSpec {
  std::string name;
  size_t arity; // the exact argument count, or the least one when variadic
  bool writes;
  bool variadic = false;

  bool accepts(size_t n) const { return variadic ? n >= arity : n == arity; }
  // "takes 2 arguments" / "takes at least 2 arguments"
  std::string arity_text() const;
};

// The resource name of the XA proxy contract present on every reference chain.
inline constexpr const char *kXaProxyResource = "WeCrossProxy";

struct ResourceConfig {
  std::string name;
  std::string contract; // "kv", "asset" or "htlc"
  std::string asset;    // htlc only: the asset resource it escrows; "" for every other kind
};

// Why the resources' asset fields are wrong, or nullopt: an htlc must name an "asset" resource of the list in
// asset; no other kind may have one.
std::optional<std::string> check_htlc_assets(const std::vector<ResourceConfig> &resources);

class Contract;
using Contracts = std::map<std::string, std::unique_ptr<Contract>, std::less<>>; // by resource name

// The contract of every configured resource, plus the XA proxy (pinned to coordinator if given). Throws
// Error(WEFT_E_INVALID_ARGUMENT) for an unknown kind, a name given twice or a resource named kXaProxyResource.
Contracts make_contracts(const std::vector<ResourceConfig> &resources, const std::optional<Address> &coordinator);

// The block a contract runs in.
struct BlockContext {
  uint64_t number = 0;       // the block being executed (the head's number for a read-only call)
  uint64_t timestamp_ms = 0; // its header's timestamp
  uint64_t chain_id = 0;     // the chain's id (start tickets of the XA proxy name it)
};

// One invocation's view of the chain: its block, sender and transaction, its own state namespace, and calls into
// other resources. Writes throw on a read-only context (a call). Not thread-safe: one per running invocation.
class Context {
public:
  // A root context over `state` for a transaction (writable) or a read-only call.
  Context(const Contracts &contracts, StateOverlay &state, BlockContext block, Address sender, Hash tx_hash,
          bool writable)
      : contracts_(contracts), state_(state), block_(block), sender_(sender), tx_hash_(tx_hash), writable_(writable) {}

  uint64_t block_number() const { return block_.number; }
  uint64_t block_time_ms() const { return block_.timestamp_ms; }
  uint64_t chain_id() const { return block_.chain_id; }
  const Address &sender() const { return sender_; }
  const Hash &tx_hash() const { return tx_hash_; } // zero in a read-only call
  const std::string &resource() const { return resource_; }
  // The XA transaction this invocation runs in ("" for none): a contract's own calls pass it on, so a step on a
  // held resource may write the other resources its transaction holds.
  const std::string &xa_xid() const { return xa_xid_; }
  bool writable() const { return writable_; }

  // This contract's own namespace.
  std::optional<std::string> get(const std::string &key) const { return state_.get(resource_, key); }
  void put(const std::string &key, std::string value);
  void erase(const std::string &key);
  StateEntries scan(const std::string &prefix) const { return state_.scan(resource_, prefix); }

  // Emits an event of this resource: data is a JSON object's text (or its string fields). Events join the
  // receipt in order, and only if the transaction succeeds; a nested call's events are dropped if that call
  // fails. Throws ContractError(kStatusBadArguments) for data that is not a JSON object or beyond the limits
  // (kMaxEvents per transaction, names up to kMaxNameBytes).
  void emit(std::string name, std::string data_json);
  void emit(std::string name, const std::map<std::string, std::string> &fields);
  // The events emitted so far in this context and the calls it made that succeeded.
  const std::vector<Event> &events() const { return events_; }
  static constexpr size_t kMaxEvents = 256;

  // Runs resource.method(args) as `as`, in a nested state overlay that joins this one only if it succeeds. A
  // write method is refused on a read-only context, and with kStatusBusy on a resource an XA transaction holds,
  // unless xa_xid names the holder. before, if given, receives for every key the call wrote its value just before
  // the call (nullopt: absent). Throws ContractError (unknown resource or method, arity, busy, the contract's own).
  struct Call {
    std::string resource;
    std::string method;
    std::vector<std::string> args;
    Address as{};
    std::string xa_xid; // the XA transaction the call runs in, "" for none
  };
  std::vector<std::string> invoke(const Call &call, StateWrites *before = nullptr);

  const Contract *contract(std::string_view resource) const;

  // Any resource's namespace, for the XA proxy's rollback and stateDigest only; throws std::logic_error for every
  // other contract.
  std::optional<std::string> get_at(const std::string &resource, const std::string &key) const;
  void restore_at(const std::string &resource, const std::string &key, const std::optional<std::string> &value);
  StateEntries scan_at(const std::string &resource, const std::string &prefix) const;

private:
  void require_proxy() const;
  void require_writable() const;

  const Contracts &contracts_;
  StateOverlay &state_;
  BlockContext block_;
  Address sender_;
  Hash tx_hash_;
  bool writable_;
  std::string resource_; // the running contract's namespace; set by invoke
  std::string xa_xid_;   // set by invoke
  std::vector<Event> events_;
};

class Contract {
public:
  virtual ~Contract() = default;
  virtual std::string_view kind() const = 0;
  virtual const std::vector<MethodSpec> &methods() const = 0;
  // Runs a method whose name and arity the caller already checked against methods(); ctx.resource() is this
  // instance's namespace. Throws ContractError.
  virtual std::vector<std::string> invoke(Context &ctx, std::string_view method,
                                          const std::vector<std::string> &args) const = 0;

  const MethodSpec *find(std::string_view method) const;
};

// The contract of a kind, or nullptr for an unknown kind (the XA proxy is not a configurable kind).
std::unique_ptr<Contract> make_contract(std::string_view kind);
std::unique_ptr<Contract> make_kv_contract();
std::unique_ptr<Contract> make_asset_contract();
// The hash-time-lock contract of resource `name`, escrowing amounts of the asset resource `asset` (htlc_contract.cpp;
// semantics in docs/htlc.md, "Contract semantics").
std::unique_ptr<Contract> make_htlc_contract(const std::string &name, const std::string &asset);
// The escrow address of the HTLC resource `name`: the first 20 bytes of SHA-256("weft-htlc-escrow:" + name). No key
// exists for it; only the contract moves its balance.
Address htlc_escrow_address(std::string_view name);
// The XA proxy. With a pinned coordinator only it may start, commit and roll back; without one the first address
// to start or roll back becomes the coordinator (trust on first use, recorded in the proxy's state).
std::unique_ptr<Contract> make_xa_proxy_contract(std::optional<Address> coordinator);

// The digest an XA start ticket signs: SHA-256 over "weft-xa-start" | chain_id u64 | xid str | u32 count | each
// resource str (the Writer's encoding). The coordinator signs it; a step that carries the ticket starts the
// transaction's branch in the same transaction as the step (WeCrossProxy.startexec).
Hash xa_start_ticket_digest(uint64_t chain_id, const std::string &xid, const std::vector<std::string> &resources);

// Whether text is a valid XA transaction id: 1-128 characters of A-Z a-z 0-9 _ . : -
bool is_xa_id(std::string_view text);
// The XA transaction holding a resource's lock, from the proxy's state; nullopt when unlocked.
std::optional<std::string> xa_lock_holder(const StateOverlay &state, const std::string &resource);
// "resource R is locked by XA transaction X": the busy receipt's message, which verbs parse the holder back from.
std::string busy_message(const std::string &resource, const std::string &holder);
inline constexpr std::string_view kBusyMessageMarker = "is locked by XA transaction ";

// Parses an amount: an unsigned 64-bit decimal without sign, spaces or leading zeros. Throws ContractError
// (kStatusBadArguments) naming what is wrong.
uint64_t parse_amount(std::string_view text);

} // namespace weft::refchain
