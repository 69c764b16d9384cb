// A validator's own secp256k1 key, kept in a file of its data directory with mode 0600. It names the block
// proposer now and will sign consensus votes with PBFT. Account keys never live here: the host signs for those.
#pragma once

#include "crypto.h"

#include <string>

namespace weft::refchain {

struct ValidatorKey {
  SecretKey secret{};
  PublicKey public_key{};
  Address address{};
};

// Loads the key file, or creates it (OpenSSL RAND_bytes, mode 0600, fsynced) if it does not exist. Throws Error if
// the file is malformed or readable by group or others.
ValidatorKey load_or_create_validator_key(const std::string &path);

} // namespace weft::refchain
