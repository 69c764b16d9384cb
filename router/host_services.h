// The services the router hands every adapter at open (weft_host_v1): logging into the router's log and
// signing with the router's keystore, so keys never enter a plugin.
#pragma once

#include <weft/adapter.h>

#include "keystore.h"

namespace weft {

class HostServices {
 public:
  explicit HostServices(const Keystore &keystore);
  const weft_host_v1 *table() const { return &table_; }

 private:
  const Keystore &keystore_;
  weft_host_v1 table_{};
};

} // namespace weft
