// Small text checks every layer needs the same way: names that end up in paths and file names, and hex digits.
// Header-only and free of the rest of Weft, so adapters may use it too.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string_view>

namespace weft::text {

// A name: 1..max_len ASCII letters, digits and the characters in `extra`. ASCII on purpose: names end up in
// resource paths, URLs and file names.
inline bool is_name(std::string_view s, std::size_t max_len = 64, std::string_view extra = "_-") {
  if (s.empty() || s.size() > max_len) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           extra.find(c) != std::string_view::npos;
  });
}

// The value of one hex digit, or -1.
inline int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// s without a leading "0x" or "0X".
inline std::string_view strip_0x(std::string_view s) {
  if (s.starts_with("0x") || s.starts_with("0X")) s.remove_prefix(2);
  return s;
}

// 1..max_digits hex digits, after an optional 0x.
inline bool is_hex(std::string_view s, std::size_t max_digits = SIZE_MAX) {
  s = strip_0x(s);
  return !s.empty() && s.size() <= max_digits && std::all_of(s.begin(), s.end(), [](char c) { return hex_value(c) >= 0; });
}

} // namespace weft::text
