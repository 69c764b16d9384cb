// Turning router answers into text for people: indented JSON and aligned columns.
#pragma once

#include <boost/json/value.hpp>

#include <string>
#include <vector>

namespace weft::console {

// JSON with two-space indentation and one member per line; scalars as boost::json::serialize writes them.
std::string pretty_json(const boost::json::value &value);

// A field of an object as display text: strings unquoted, other values serialized, "-" when missing or null.
std::string field_text(const boost::json::value &object, const char *key);

// Left-aligned columns separated by two spaces, with the header as the first row, no trailing blanks.
std::string format_table(const std::vector<std::string> &header, const std::vector<std::vector<std::string>> &rows,
                         const std::string &indent = "");

// Newlines folded to spaces, so a message from the router stays on the one error line.
std::string one_line(std::string text);

} // namespace weft::console
