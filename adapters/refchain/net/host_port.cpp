#include "host_port.h"

#include "error.h"

namespace weft::refchain::net {

std::pair<std::string, uint16_t> split_host_port(const std::string &text) {
  auto bad = [&](const std::string &why) {
    return Error(WEFT_E_INVALID_ARGUMENT, "address '" + text + "' " + why + "; expected host:port");
  };
  auto colon = text.rfind(':');
  if (colon == std::string::npos) throw bad("has no port");
  std::string host = text.substr(0, colon), port = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) throw bad("has no host");
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
    throw bad("has a bad port");
  unsigned long v = std::stoul(port);
  if (v > 65535) throw bad("has a port above 65535");
  return {host, static_cast<uint16_t>(v)};
}

} // namespace weft::refchain::net
