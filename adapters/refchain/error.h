// The one exception type of the reference chain's core: a weft_status code plus a message that says what to do.
// The plugin turns it into a failed completion; the core never lets it reach the C ABI itself.
#pragma once

#include <weft/adapter.h>

#include <stdexcept>
#include <string>

namespace weft::refchain {

struct Error : std::runtime_error {
  int32_t status;
  std::string details; // a JSON object for the failed completion's data, "" for none
  Error(int32_t s, const std::string &message, std::string details_json = "")
      : std::runtime_error(message), status(s), details(std::move(details_json)) {}
};

// Malformed bytes from outside (a peer, a client, a corrupted file): always WEFT_E_INVALID_ARGUMENT.
struct DecodeError : Error {
  explicit DecodeError(const std::string &message) : Error(WEFT_E_INVALID_ARGUMENT, message) {}
};

} // namespace weft::refchain
