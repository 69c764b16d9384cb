#include "resource_path.h"

#include <weft/text.hpp>

namespace weft::console {

namespace {

bool has_parts(std::string_view path, int parts) {
  int seen = 0;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = path.find('.', start);
    const std::string_view part =
        path.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    // The router's rule for each part of a path: 1..64 letters, digits, '_' or '-'.
    if (!text::is_name(part)) return false;
    ++seen;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return seen == parts;
}

} // namespace

bool is_resource_path(std::string_view path) {
  return has_parts(path, 3);
}

bool is_chain_path(std::string_view path) {
  return has_parts(path, 2);
}

std::string resource_uri(std::string_view path) {
  std::string uri = "/resource/";
  for (char c : path)
    uri += c == '.' ? '/' : c;
  return uri;
}

std::string url_encode(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

} // namespace weft::console
