#include "text_format.h"

#include <boost/json/serialize.hpp>

#include <algorithm>

namespace weft::console {

namespace {

void write_pretty(std::string &out, const boost::json::value &value, int depth) {
  const std::string indent(static_cast<std::size_t>(depth + 1) * 2, ' ');
  const std::string closing(static_cast<std::size_t>(depth) * 2, ' ');
  if (const auto *object = value.if_object()) {
    if (object->empty()) {
      out += "{}";
      return;
    }
    out += "{\n";
    bool first = true;
    for (const auto &member : *object) {
      if (!first) out += ",\n";
      first = false;
      out += indent;
      out += boost::json::serialize(boost::json::string(member.key()));
      out += ": ";
      write_pretty(out, member.value(), depth + 1);
    }
    out += "\n" + closing + "}";
  } else if (const auto *array = value.if_array()) {
    if (array->empty()) {
      out += "[]";
      return;
    }
    out += "[\n";
    bool first = true;
    for (const auto &element : *array) {
      if (!first) out += ",\n";
      first = false;
      out += indent;
      write_pretty(out, element, depth + 1);
    }
    out += "\n" + closing + "]";
  } else {
    out += boost::json::serialize(value);
  }
}

} // namespace

std::string pretty_json(const boost::json::value &value) {
  std::string out;
  write_pretty(out, value, 0);
  return out;
}

std::string field_text(const boost::json::value &object, const char *key) {
  const auto *obj = object.if_object();
  if (!obj) return "-";
  const auto *field = obj->if_contains(key);
  if (!field || field->is_null()) return "-";
  if (const auto *text = field->if_string()) return std::string(*text);
  return boost::json::serialize(*field);
}

std::string format_table(const std::vector<std::string> &header, const std::vector<std::vector<std::string>> &rows,
                         const std::string &indent) {
  std::vector<std::size_t> widths(header.size(), 0);
  auto widen = [&](const std::vector<std::string> &row) {
    for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i)
      widths[i] = std::max(widths[i], row[i].size());
  };
  widen(header);
  for (const auto &row : rows)
    widen(row);

  std::string out;
  auto write_row = [&](const std::vector<std::string> &row) {
    std::string line = indent;
    for (std::size_t i = 0; i < widths.size(); ++i) {
      const std::string cell = i < row.size() ? row[i] : "";
      line += cell;
      if (i + 1 < widths.size()) line += std::string(widths[i] - cell.size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ')
      line.pop_back();
    out += line + "\n";
  };
  write_row(header);
  for (const auto &row : rows)
    write_row(row);
  return out;
}

std::string one_line(std::string text) {
  std::replace_if(
      text.begin(), text.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  return text;
}

} // namespace weft::console
