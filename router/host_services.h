// The services the router hands every adapter at open (weft_host_v1): logging into the router's log, signing with
// the router's keystore (keys never enter a plugin), an account's certificate identity for Fabric, and the router's
// event loop for the adapters' sockets.
#pragma once

#include <weft/adapter.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "keystore.h"

namespace weft {

namespace accounts {
class KeyVault;
}
class IoWatches;

// An account's certificate identity, read from its configured PEM file at start.
struct Identity {
  std::string certificate_pem;
  std::string msp_id;
};

class HostServices {
 public:
  // Reads each account's certificate; a configured one that cannot be read, or is not PEM, is an error.
  static Result<std::unique_ptr<HostServices>> open(const Keystore &keystore, const std::vector<AccountConfig> &accounts);
  const weft_host_v1 *table() const { return &table_; }
  const Identity *identity(std::string_view account) const;
  const Keystore &keystore() const { return keystore_; }
  // Users' chain accounts ("ua:<user>:<key>" handles) sign through the vault; without one only router accounts sign.
  void set_vault(accounts::KeyVault *vault) { vault_ = vault; }
  accounts::KeyVault *vault() const { return vault_; }
  // Lends the router's event loop to adapters (io_watch, io_arm, io_unwatch); without it those services are NULL and
  // adapters wait on their own threads. Set before any chain opens; `io` outlives every chain.
  void set_io(IoWatches *io);
  IoWatches *io() const { return io_; }

 private:
  explicit HostServices(const Keystore &keystore);
  const Keystore &keystore_;
  std::map<std::string, Identity, std::less<>> identities_;
  accounts::KeyVault *vault_ = nullptr;
  IoWatches *io_ = nullptr;
  weft_host_v1 table_{};
};

} // namespace weft
