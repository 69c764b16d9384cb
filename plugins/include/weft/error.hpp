// The one error type of Weft: a stable numeric code on WeCross's bases plus a message that says what to do.
// It sits below the loader and the router, so every layer speaks it; codes are listed in docs/rpc.md.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace weft {

namespace code {
inline constexpr int kSuccess = 0;
// 10000: internal and URI errors.
inline constexpr int kInternal = 10000;
inline constexpr int kUriPath = 10001;  // no such route, resource or verb
inline constexpr int kUriQuery = 10002; // bad query parameter
inline constexpr int kStore = 10010;    // Weft: the router store failed (router.db refused, or a write failed)
// 20000 + WeCrossException code: the request itself.
inline constexpr int kFieldMissing = 20101; // version (or another required field) missing
inline constexpr int kVersion = 20201;      // unsupported request version
inline constexpr int kMethod = 20202;       // unsupported HTTP method for the route
inline constexpr int kPostData = 20203;     // malformed JSON or wrong field types
inline constexpr int kPathFormat = 20204;   // a resource path that is not zone.chain.resource
inline constexpr int kBodyTooLarge = 20801; // Weft: body over rpc.max_body_bytes
inline constexpr int kRequestTimeout = 20802; // Weft: client too slow to send its request
inline constexpr int kOverloaded = 20803;   // Weft: too many requests in flight
// 30000: accounts.
inline constexpr int kUaNotFound = 30502; // UA not found or login expired (the token is unknown, expired or revoked)
inline constexpr int kAccountNotFound = 30503;
inline constexpr int kPermissionDenied = 30506; // the UA's role or ACL does not allow the path or the verb
// 40000 + TransactionException code: the chain or its adapter.
inline constexpr int kChainUnreachable = 40100;
inline constexpr int kChainTimeout = 40200;
inline constexpr int kChainAccount = 40300;
inline constexpr int kChainInternal = 41001;
inline constexpr int kChainInvalidArgument = 44001; // Weft: the adapter refused the arguments
inline constexpr int kChainNotFound = 44002;        // Weft: method, block or receipt not on the chain
inline constexpr int kChainUnsupported = 44003;     // Weft: verb not offered by this chain's adapter
inline constexpr int kChainRejected = 44006;        // Weft: chain refused the transaction (pool full, replay)
inline constexpr int kChainBusy = 44009;            // Weft: resource locked by another XA transaction
inline constexpr int kChainCancelled = 44010;       // Weft: operation cancelled (router shutting down)
// 50000: /trans.
inline constexpr int kTransBlockNumber = 50302; // bad block number, or the height cannot be read
inline constexpr int kTransBlock = 50303;       // a block cannot be read, or an offset is past its transactions
inline constexpr int kTransNotFound = 50304;
// 60000: XA requests (docs/xa.md "Errors"); outcomes of a well-formed request are data.status instead.
inline constexpr int kXaFieldMissing = 60101; // xaTransactionID or paths missing
inline constexpr int kXaPostData = 60203;     // bad id, bad or unknown path, a path outside the transaction
inline constexpr int kXaNotFound = 60404;     // Weft: no transaction with that id
inline constexpr int kXaConflict = 60409;     // Weft: id exists, transaction finished or decided the other way
inline constexpr int kXaBusy = 60423;         // Weft: a step of the transaction is still being sent
inline constexpr int kXaUnknownStep = 60425;  // Weft: a step's outcome on its chain is not known yet
inline constexpr int kXaPermission = 60506;   // another user's transaction, or a path the user may not use
inline constexpr int kXaLog = 60510;          // Weft: the coordinator's log could not be written
} // namespace code

struct Error {
  int code = code::kInternal;
  std::string message;
};

// A value or an Error. Small on purpose: exceptions stay inside modules, Results cross them.
template <class T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error e) : v_(std::move(e)) {}
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T &value() & { return std::get<0>(v_); }
  const T &value() const & { return std::get<0>(v_); }
  T &&value() && { return std::get<0>(std::move(v_)); }
  T &operator*() & { return value(); }
  const T &operator*() const & { return value(); }
  T *operator->() { return &value(); }
  const T *operator->() const { return &value(); }
  const Error &error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

struct Ok {};
using Status = Result<Ok>;

} // namespace weft
